"""Admin for postal: browse-only, recipient data masked. Shipments change only through postal.services."""
from __future__ import annotations

from django.contrib import admin

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.postal.models import Shipment, ShipmentEvent


class ShipmentEventInline(admin.TabularInline):
    model = ShipmentEvent
    fields = ("status", "occurred_at", "recorded_at", "source", "carrier_event_id", "location", "changed")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "tracking_number", "carrier", "status", "source_type", "source_id",
                    "recipient_name_masked", "created_at", "booking_attempts")
    list_filter = ("status", "carrier")
    search_fields = ("=reference", "=tracking_number", "=source_id")
    fields = ("reference", "carrier", "tracking_number", "source_type", "source_id", "recipient_name_masked",
              "recipient_phone_masked", "address_masked", "item_zh", "item_en", "status", "created_at",
              "accepted_at", "in_transit_at", "out_for_delivery_at", "delivered_at", "returned_at", "failed_at",
              "booking_attempts", "next_booking_at", "last_error")
    readonly_fields = fields
    inlines = [ShipmentEventInline]
