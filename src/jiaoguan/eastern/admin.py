"""Reference data of the eastern areas in the Django admin (read-mostly: staff use the console)."""
from django.contrib import admin

from jiaoguan.eastern.models import Area, BookingDay, Checkpoint, Exemption


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en", "active")


@admin.register(BookingDay)
class BookingDayAdmin(admin.ModelAdmin):
    list_display = ("area", "date", "period_key", "daily_quota", "merchant_quota")
    list_filter = ("area",)


@admin.register(Exemption)
class ExemptionAdmin(admin.ModelAdmin):
    list_display = ("area", "plate", "reason", "valid_until", "revoked_at")
    search_fields = ("plate",)


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ("area", "name", "device")
