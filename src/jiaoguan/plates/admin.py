from django.contrib import admin

from jiaoguan.plates.models import Office, PlateHistory, PlateNumber, Selection, WithholdPolicy


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "code", "batch_size", "redraws", "hold_minutes", "eligible_days", "active")


@admin.register(WithholdPolicy)
class WithholdPolicyAdmin(admin.ModelAdmin):
    list_display = ("office", "name", "rule", "value", "kind", "active")
    list_filter = ("active", "rule")


@admin.register(PlateNumber)
class PlateNumberAdmin(admin.ModelAdmin):
    list_display = ("number", "kind", "status", "hold_expires_at")
    list_filter = ("status", "kind")
    search_fields = ("number",)
    readonly_fields = ("status", "held_by", "hold_expires_at", "assigned_vehicle_id", "version")


@admin.register(Selection)
class SelectionAdmin(admin.ModelAdmin):
    list_display = ("pk", "vehicle", "kind", "status", "draws_used", "draws_allowed", "plate")
    list_filter = ("status",)
    readonly_fields = [f.name for f in Selection._meta.fields]


@admin.register(PlateHistory)
class PlateHistoryAdmin(admin.ModelAdmin):
    list_display = ("plate", "person_id", "held_from", "given_up_on", "source")
    search_fields = ("plate",)
