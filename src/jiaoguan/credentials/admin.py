from django.contrib import admin

from jiaoguan.credentials.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Read-only: credentials are issued and revoked through the services (signed, audited), never edited here."""

    list_display = ("number", "kind", "title_zh", "valid_from", "valid_until", "status", "issued_at")
    list_filter = ("kind", "status")
    search_fields = ("number", "source_id")
    exclude = ("token",)
    readonly_fields = [f.name for f in Credential._meta.fields if f.name != "token"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
