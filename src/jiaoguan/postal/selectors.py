"""Reads of the postal app. Personal data leaves here masked unless a caller explicitly reads the model."""
from __future__ import annotations

from jiaoguan.core.errors import Refusal, not_found
from jiaoguan.core.i18n import choice_label, zh_en
from jiaoguan.postal import carriers
from jiaoguan.postal.carriers import carrier_label
from jiaoguan.postal.models import Shipment, ShipmentStatus
from jiaoguan.postal.tracking import validate_tracking_number


def delivery_available() -> bool:
    """May an item be sent by post now? False when no carrier is configured (a valid deployment: the pages and
    services that send by post ask this, or delivery_refusal, before offering it)."""
    return carriers.delivery_available()


def delivery_refusal() -> Refusal | None:
    """Why nothing can be sent by post now (``postal.unavailable``, zh and en), or None."""
    return None if delivery_available() else carriers.UNAVAILABLE


def shipment_for_source(*, source_type: str, source_id: str) -> Shipment | None:
    """The shipment sent for a source record (e.g. ("applications.application", "42")), if any."""
    return Shipment.objects.filter(source_type=source_type, source_id=str(source_id)).first()


def shipment_by_tracking(*, tracking_number: str) -> Shipment | None:
    """The shipment with this tracking number; a malformed number (bad check digit) raises InvalidInput."""
    return Shipment.objects.filter(tracking_number=validate_tracking_number(tracking_number)).first()


def status_label(status: str) -> tuple[str, str]:
    """(Chinese, English) label of a status."""
    return zh_en(choice_label(ShipmentStatus, status))


def shipment_timeline(*, shipment: Shipment) -> list[dict]:
    """Status steps, oldest first: what we did and what the carrier reported (late events included, marked)."""
    rows = []
    for e in shipment.events.all().order_by("occurred_at", "pk"):
        zh, en = status_label(e.status)
        rows.append({"status": e.status, "label_zh": zh, "label_en": en, "at": e.occurred_at,
                     "location": e.location, "source": e.source, "changed": e.changed})
    return rows


def shipment_summary(*, shipment: Shipment) -> dict:
    """What the requesting app shows its owner (masked recipient and address)."""
    zh, en = status_label(shipment.status)
    return {"id": shipment.pk, "tracking_number": shipment.tracking_number or "", "carrier": shipment.carrier,
            "status": shipment.status, "status_zh": zh, "status_en": en, "final": shipment.is_final,
            "recipient_name": shipment.recipient_name_masked, "recipient_phone": shipment.recipient_phone_masked,
            "address": shipment.address_masked, "item_zh": shipment.item_zh, "item_en": shipment.item_en,
            "created_at": shipment.created_at, "updated_at": shipment.updated_at,
            "booking_attempts": shipment.booking_attempts, "last_error": shipment.last_error}


def tracking_public(*, tracking_number: str) -> dict:
    """The public tracking view (anyone with the number): status and timeline, the recipient's masked name and
    nothing else personal (no phone, no address). Malformed number → InvalidInput; unknown → not found."""
    shipment = shipment_by_tracking(tracking_number=tracking_number)
    if shipment is None:
        raise not_found("邮件", "shipment")
    zh, en = status_label(shipment.status)
    carrier_zh, carrier_en = zh_en(carrier_label(shipment.carrier))
    timeline = [{k: row[k] for k in ("status", "label_zh", "label_en", "at", "location")}
                for row in shipment_timeline(shipment=shipment) if row["changed"]]
    return {"tracking_number": shipment.tracking_number, "status": shipment.status, "status_zh": zh,
            "status_en": en, "final": shipment.is_final, "recipient": shipment.recipient_name_masked,
            "item_zh": shipment.item_zh, "item_en": shipment.item_en, "carrier_zh": carrier_zh,
            "carrier_en": carrier_en or carrier_zh, "timeline": timeline}
