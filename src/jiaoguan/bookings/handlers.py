"""Outbox handlers of the bookings app: publish an allocation's results to every applicant; tell a citizen their
first-come seat is confirmed (after the booking's transaction, outside the quota lock)."""
from jiaoguan.bookings import services
from jiaoguan.core.ids import parse_id
from jiaoguan.core.outbox import subscribe


@subscribe("bookings.slot_allocated")
def on_slot_allocated(payload: dict) -> None:
    services.slot_allocation_notify(slot_id=int(payload["slot_id"]))


@subscribe("bookings.booking_changed")
def on_booking_changed(payload: dict) -> None:
    payload = payload if isinstance(payload, dict) else {}
    booking_id = parse_id(payload.get("booking_id"))
    if booking_id is None:
        return
    services.booking_changed_notify(booking_id=booking_id, status=str(payload.get("status", "")),
                                    previous=str(payload.get("previous", "")),
                                    application_id=parse_id(payload.get("application_id")))
