"""Outbox handlers of the plates app: the registry tells us when an owner sells a vehicle, and we note the plate
in the seller's plate history (for keeping a previous plate).

Scrapping and moving out (``registry.vehicle_status_changed``) are not subscribed: such a vehicle's row keeps its
number, and the register's (plate, plate type) uniqueness covers every row, so that number could not be given to
another vehicle anyway; staff can record such history with ``services.plate_history_record``."""
from __future__ import annotations

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.ids import parse_id
from jiaoguan.core.outbox import subscribe
from jiaoguan.plates import rules, services
from jiaoguan.plates.models import PlateHistory
from jiaoguan.registry import selectors as registry


def _record(*, vehicle_id: int, person_id: int | None, source: str) -> None:
    vehicle = registry.vehicle_get(vehicle_id=vehicle_id)
    if vehicle is None or person_id is None or vehicle.plate_type not in rules.KIND_SHAPES:
        return
    # the owner held the plate from the registration, or from the day the previous owner gave it up
    before = PlateHistory.objects.filter(vehicle_id=vehicle.pk).order_by("-given_up_on").first()
    held_from = before.given_up_on if before else vehicle.registration_date
    given_up = (vehicle.last_change_date if source == PlateHistory.Source.SALE and vehicle.last_change_date
                else clock.today())
    services.plate_history_record(person_id=person_id, plate=vehicle.plate, plate_type=vehicle.plate_type,
                                  held_from=min(held_from, given_up), given_up_on=given_up, source=source,
                                  actor=Actor.system("plates.history"), vehicle_id=vehicle.pk)


@subscribe("registry.vehicle_owner_changed")
def on_owner_changed(payload: dict) -> None:
    vehicle_id, person_id = parse_id((payload or {}).get("vehicle_id")), parse_id((payload or {}).get("old_owner_id"))
    if vehicle_id is not None and person_id is not None:
        _record(vehicle_id=vehicle_id, person_id=person_id, source=PlateHistory.Source.SALE)
