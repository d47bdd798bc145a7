"""Payable items, orders that pay them, settlements, refunds, and the channel simulator's own ledger.

Every status here changes only through one function per transition in services.py (ARCHITECTURE §4).
Money is integer fen.
"""
from __future__ import annotations

from django.db import models

from jiaoguan.core.i18n import bi
from jiaoguan.core.money import MoneyField


class PayableItem(models.Model):
    """Something a person owes: a fine from a penalty decision, a fee. One per (source_type, source_id)."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", bi("待缴费", "Unpaid")
        PAYING = "paying", bi("缴费中", "Being paid")
        PAID = "paid", bi("已缴费", "Paid")
        CANCELLED = "cancelled", bi("已撤销", "Cancelled")
        REFUNDED = "refunded", bi("已退款", "Refunded")

    kind = models.CharField(max_length=30)  # "fine", "fee", ...
    source_type = models.CharField(max_length=60)
    source_id = models.CharField(max_length=64)
    payer_person_id = models.BigIntegerField(db_index=True)
    amount_fen = MoneyField()  # the principal: the fine or fee itself
    description_zh = models.CharField(max_length=200)
    description_en = models.CharField(max_length=200, blank=True)
    decision_date = models.DateField(null=True, blank=True)
    late_fee = models.BooleanField(default=False)  # DOMAIN §4's late fee applies
    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNPAID, db_index=True)
    order = models.ForeignKey("Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              help_text="the order paying it now, or that paid it")
    paid_principal_fen = MoneyField(default=0)
    paid_late_fee_fen = MoneyField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    # When the payer was told that the late fee started (once per item: services.late_fee_notices_send).
    late_fee_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id"], name="payable_item_source"),
            models.CheckConstraint(condition=models.Q(amount_fen__gte=0), name="payable_item_amount_nonneg"),
        ]
        verbose_name = "应缴款项 payable item"
        verbose_name_plural = "应缴款项 payable items"

    def __str__(self) -> str:
        return f"{self.reference} {self.description_zh}"

    @property
    def paid_total_fen(self) -> int:
        return self.paid_principal_fen + self.paid_late_fee_fen


class Order(models.Model):
    """One payment of one or several items of the same payer, through one channel."""

    class Status(models.TextChoices):
        OPEN = "open", bi("待支付", "Open")
        PAYING = "paying", bi("支付中", "Paying")
        PAID = "paid", bi("已支付", "Paid")
        CLOSED = "closed", bi("已关闭", "Closed")

    reference = models.CharField(max_length=20, unique=True, null=True, blank=True)
    payer_person_id = models.BigIntegerField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    principal_fen = MoneyField(default=0)
    late_fee_fen = MoneyField(default=0)
    total_fen = MoneyField(default=0)
    channel = models.CharField(max_length=20, blank=True)
    channel_token = models.CharField(max_length=64, blank=True)  # the channel's id of the pending payment
    close_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "缴费订单 order"
        verbose_name_plural = "缴费订单 orders"

    def __str__(self) -> str:
        return f"{self.reference} {self.status} {self.total_fen}"

    @property
    def out_trade_no(self) -> str:
        """The reference a channel knows the order by. Set from the primary key in the transaction that creates
        the order (``services.order_create``), so every order a channel sees has one."""
        assert self.reference is not None, "an order is given its reference when it is created"
        return self.reference


class OrderLine(models.Model):
    """What one item costs within an order, fixed (late fee included) when the order was made under lock."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(PayableItem, on_delete=models.PROTECT, related_name="lines")
    principal_fen = MoneyField()
    late_fee_fen = MoneyField()
    amount_fen = MoneyField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "item"], name="order_line_item")]


class Payment(models.Model):
    """The settlement of an order: money the channel received. At most one per order (exactly-once)."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="payment")
    channel = models.CharField(max_length=20)
    trade_no = models.CharField(max_length=64)  # the channel's serial number (流水号)
    amount_fen = MoneyField()
    channel_paid_at = models.DateTimeField()
    settled_at = models.DateTimeField()
    source = models.CharField(max_length=20)  # "callback", "query", "close"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "trade_no"], name="payment_channel_trade")]


class Refund(models.Model):
    """Money going back through the channel: for a refunded item, or a whole order paid after it was closed."""

    class Status(models.TextChoices):
        REQUESTED = "requested", bi("已申请", "Requested")
        PROCESSING = "processing", bi("退款中", "Processing")
        SUCCEEDED = "succeeded", bi("已退款", "Succeeded")
        FAILED = "failed", bi("退款失败", "Failed")

    refund_no = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    item = models.OneToOneField(PayableItem, null=True, blank=True, on_delete=models.PROTECT, related_name="refund")
    amount_fen = MoneyField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    reason = models.CharField(max_length=200)
    channel = models.CharField(max_length=20)
    channel_refund_no = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="refund_amount_positive"),
            # an order paid after it was closed is refunded whole, once
            models.UniqueConstraint(fields=["order"], condition=models.Q(item__isnull=True), name="refund_whole_order"),
        ]


class ReconciliationReport(models.Model):
    """The day's ledger against a channel's settlement file (对账): totals and every difference."""

    day = models.DateField()
    channel = models.CharField(max_length=20)
    ledger_count = models.PositiveIntegerField()
    ledger_total_fen = MoneyField()
    channel_count = models.PositiveIntegerField()
    channel_total_fen = MoneyField()
    differences = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "channel"], name="reconciliation_day_channel")]


# --- the channel simulator's own ledger (what a provider would keep on its side) ------------------------------

class SimTrade(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", bi("等待支付", "Waiting")
        PAID = "paid", bi("已支付", "Paid")
        CLOSED = "closed", bi("已关闭", "Closed")

    token = models.CharField(max_length=64, unique=True)
    out_trade_no = models.CharField(max_length=20, unique=True)  # our order reference
    amount_fen = MoneyField()
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    trade_no = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)


class SimRefund(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing", bi("处理中", "Processing")
        SUCCEEDED = "succeeded", bi("成功", "Succeeded")

    trade = models.ForeignKey(SimTrade, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=32, unique=True)  # our refund number
    refund_no = models.CharField(max_length=64, unique=True)
    amount_fen = MoneyField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    created_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)
