"""Postal delivery: shipments booked with a carrier through one adapter interface, their status timeline, the
nonces of signed carrier callbacks (replay protection) and the local simulator's own ledger."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.i18n import bi
from jiaoguan.core.masking import mask_address, mask_name, mask_phone
from jiaoguan.postal import rules


class ShipmentStatus(models.TextChoices):
    CREATED = rules.CREATED, bi("已下单", "Created")
    ACCEPTED = rules.ACCEPTED, bi("邮政已收寄", "Accepted by the carrier")
    IN_TRANSIT = rules.IN_TRANSIT, bi("运输中", "In transit")
    OUT_FOR_DELIVERY = rules.OUT_FOR_DELIVERY, bi("派送中", "Out for delivery")
    DELIVERED = rules.DELIVERED, bi("已签收", "Delivered")
    RETURNED = rules.RETURNED, bi("投递失败已退回", "Returned (delivery failed)")
    FAILED = rules.FAILED, bi("交寄失败", "Booking failed")


class Shipment(models.Model):
    """One item sent by post for a source record (an application's output). Status changes only through
    ``services._shipment_move``; recipient data is encrypted at rest and shown masked."""

    Status = ShipmentStatus

    reference = models.CharField(max_length=24, unique=True)  # our booking reference, sent to the carrier
    carrier = models.CharField(max_length=20)
    tracking_number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    source_type = models.CharField(max_length=60)
    source_id = models.CharField(max_length=64)
    recipient_name = EncryptedField()
    recipient_phone = EncryptedField()
    address = EncryptedField()
    item_zh = models.CharField(max_length=100)
    item_en = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATED)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    in_transit_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # booking with the carrier: attempts so far, when the sweep tries again, what went wrong last
    booking_attempts = models.PositiveSmallIntegerField(default=0)
    next_booking_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source_type", "source_id"], name="postal_one_per_source")]
        indexes = [models.Index(fields=["status", "next_booking_at"], name="postal_booking_due")]

    def __str__(self) -> str:
        return self.tracking_number or self.reference

    @property
    def recipient_name_masked(self) -> str:
        return mask_name(self.recipient_name)

    @property
    def recipient_phone_masked(self) -> str:
        return mask_phone(self.recipient_phone)

    @property
    def address_masked(self) -> str:
        return mask_address(self.address)

    @property
    def is_final(self) -> bool:
        return self.status in rules.FINAL


class ShipmentEvent(models.Model):
    """The timeline: every status change we made and every event the carrier reported (a late, out-of-order
    event is kept with ``changed=False``). A carrier event id is recorded once per shipment."""

    class Source(models.TextChoices):
        US = "us", bi("本系统", "Jiaoguan")
        CARRIER = "carrier", bi("承运方", "Carrier")

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices)
    carrier_event_id = models.CharField(max_length=64, blank=True)
    location = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=200, blank=True)
    changed = models.BooleanField(default=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["shipment", "carrier_event_id"],
                                               condition=~Q(carrier_event_id=""), name="postal_event_once")]


class CallbackNonce(models.Model):
    """A nonce of a signed carrier callback, stored in the same transaction as what the callback changes."""

    carrier = models.CharField(max_length=20)
    key_id = models.CharField(max_length=40)
    value = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["carrier", "key_id", "value"], name="postal_nonce_once")]


class SimParcel(models.Model):
    """The simulator carrier's own ledger (what a carrier keeps on its side). No personal data: the simulator
    is told the item and our reference, and keeps nothing else."""

    reference = models.CharField(max_length=24, unique=True)
    tracking_number = models.CharField(max_length=32, unique=True)
    item = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.ACCEPTED)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
