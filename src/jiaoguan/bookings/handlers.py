"""Outbox handlers of the bookings app: publish an allocation's results to every applicant."""
from jiaoguan.bookings import services
from jiaoguan.core.outbox import subscribe


@subscribe("bookings.slot_allocated")
def on_slot_allocated(payload: dict) -> None:
    services.slot_allocation_notify(slot_id=int(payload["slot_id"]))
