"""The Django admin for accounts is a read-only reference view: phones masked, no password hashes, no token or
code hashes. Accounts change through the services (staff console, API), which check roles and audit."""
from __future__ import annotations

from django.contrib import admin

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity.models import ApiToken, Enterprise, User, VehicleBinding


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "role", "masked_phone", "display_name", "is_active", "locked_until", "date_joined",
                    "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name")
    ordering = ("-date_joined",)
    fields = ("username", "role", "masked_phone", "display_name", "person", "enterprise", "real_name_verified_at",
              "is_active", "is_staff", "date_joined", "last_login", "failed_logins", "locked_until",
              "preferred_language")
    readonly_fields = fields
    raw_id_fields = ("person", "enterprise")

    @admin.display(description="手机号 Phone")
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("user", "label", "created_at", "expires_at", "last_used_at", "revoked_at")
    fields = ("user", "label", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    list_select_related = ("user",)


@admin.register(VehicleBinding)
class VehicleBindingAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "vehicle", "kind", "status", "requested_at", "bound_at", "ended_at")
    list_filter = ("kind", "status")
    fields = list_display
    readonly_fields = list_display
    list_select_related = ("user", "vehicle")


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "created_at")
    search_fields = ("name", "uscc")
