"""Outbox handlers of the exams app: a no-show marked on an exam seat counts as a fail (DOMAIN §6)."""
from jiaoguan.core.ids import parse_id
from jiaoguan.core.outbox import subscribe
from jiaoguan.exams import selectors, services


@subscribe("bookings.booking_changed")
def on_booking_changed(payload: dict) -> None:
    payload = payload if isinstance(payload, dict) else {}
    if payload.get("kind") != "exam" or payload.get("status") != "no_show":
        return
    if selectors.parse_booking_subject(str(payload.get("subject", ""))) is None:
        return
    slot_id, booking_id = parse_id(payload.get("slot_id")), parse_id(payload.get("booking_id"))
    if slot_id is None or booking_id is None:
        return
    services.no_show_record(slot_id=slot_id, booking_id=booking_id)
