from django.contrib import admin

from jiaoguan.violations.models import (
    Device,
    Dispute,
    PenaltyDecision,
    Violation,
    ViolationCode,
)


@admin.register(ViolationCode)
class ViolationCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "description_zh", "points", "fine_fen", "online_allowed", "first_violation_list", "active")
    list_filter = ("points", "online_allowed", "first_violation_list", "active")
    search_fields = ("code", "description_zh", "description_en")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "key_id", "place", "active", "created_at")
    exclude = ("secret",)
    readonly_fields = ("key_id", "created_at")

    def has_add_permission(self, request):  # devices are created with signing.device_create (secret shown once)
        return False


@admin.register(Violation)
class ViolationAdmin(admin.ModelAdmin):
    list_display = ("plate", "code", "occurred_at", "source", "status")
    list_filter = ("status", "source")
    search_fields = ("plate", "device_record_id")
    readonly_fields = [f.name for f in Violation._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(PenaltyDecision)
class PenaltyDecisionAdmin(admin.ModelAdmin):
    list_display = ("number", "violation", "points", "fine_fen", "decision_date", "channel")
    readonly_fields = [f.name for f in PenaltyDecision._meta.fields]


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "status", "submitted_at")
    list_filter = ("kind", "status")
