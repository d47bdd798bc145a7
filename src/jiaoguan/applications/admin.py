from django.contrib import admin

from jiaoguan.applications.models import Application, ApplicationEvent, Material


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    can_delete = False
    readonly_fields = ("action", "from_status", "to_status", "actor_label", "actor_role", "comment", "at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """For reference only: statuses change through the workflow (console / API), never here."""

    list_display = ("reference", "service_code", "status", "submitted_at", "due_at", "overdue_at")
    list_filter = ("service_code", "status")
    search_fields = ("reference",)
    exclude = ("form_personal",)
    readonly_fields = [f.name for f in Application._meta.concrete_fields if f.name != "form_personal"]
    inlines = [EventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ("application", "slot", "kind", "content_type", "size", "created_at")
    readonly_fields = [f.name for f in Material._meta.concrete_fields]

    def has_add_permission(self, request):
        return False
