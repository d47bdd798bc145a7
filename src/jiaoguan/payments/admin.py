"""Admin for payments: browse-only. Money records change only through payments.services, which lock, check
and audit every change; the admin is for superusers looking things up (staff work in the console)."""
from __future__ import annotations

from django.contrib import admin

from jiaoguan.core.admin import ReadOnlyAdmin
from jiaoguan.payments.models import (
    Order,
    PayableItem,
    Payment,
    ReconciliationReport,
    Refund,
)


@admin.register(PayableItem)
class PayableItemAdmin(ReadOnlyAdmin):
    list_display = ("reference", "kind", "source_type", "source_id", "amount_fen", "status", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("=reference", "=source_id")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("reference", "status", "total_fen", "channel", "created_at", "paid_at")
    list_filter = ("status", "channel")
    search_fields = ("=reference",)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("order", "channel", "trade_no", "amount_fen", "channel_paid_at", "source")
    search_fields = ("=trade_no",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("refund_no", "order", "item", "amount_fen", "status", "attempts", "created_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("=refund_no",)


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdmin):
    list_display = ("day", "channel", "ledger_count", "ledger_total_fen", "channel_count", "channel_total_fen")
