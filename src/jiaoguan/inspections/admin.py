"""Reference views for superusers; staff work in the console (stations, slots, results go through services)."""
from django.contrib import admin

from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Station)
class StationAdmin(ReadOnly):
    list_display = ("code", "name_zh", "district", "lanes", "active")
    list_filter = ("district", "active")


@admin.register(InspectionBooking)
class InspectionBookingAdmin(ReadOnly):
    list_display = ("booking", "station", "vehicle_id", "round", "result", "result_at")
    list_filter = ("result", "station")


@admin.register(InspectionMark)
class InspectionMarkAdmin(ReadOnly):
    list_display = ("number", "vehicle_id", "year", "valid_until", "issued_at")
    exclude = ("token",)
