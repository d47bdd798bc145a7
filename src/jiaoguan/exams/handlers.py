"""Outbox handlers of the exams app: a no-show marked on an exam seat counts as a fail (DOMAIN §6)."""
from jiaoguan.core.outbox import subscribe


@subscribe("bookings.booking_changed")
def on_booking_changed(payload: dict) -> None:
    if payload.get("kind") != "exam" or payload.get("status") != "no_show":
        return
    from jiaoguan.exams import selectors, services

    if selectors.parse_booking_subject(payload.get("subject", "")) is None:
        return
    services.no_show_record(slot_id=int(payload["slot_id"]), booking_id=int(payload["booking_id"]))
