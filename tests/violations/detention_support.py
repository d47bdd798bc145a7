"""Test data for detentions (扣留): a citizen with a licence and a car, an on-site violation, a detention of the
licence or the car, the violation handled at a counter and its fine paid (as payments' settlement does)."""
from __future__ import annotations

import datetime as dt
import itertools

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry.selectors import licence_for_person
from jiaoguan.violations import services
from jiaoguan.violations.models import Detention, PenaltyDecision, Violation
from tests.factories import make_licence, make_person, make_vehicle

CLERK = Actor(id=900, label="clerk", role="clerk")
APPROVER = Actor(id=901, label="approver", role="approver")
_notices = itertools.count(1)
LOT = ("福田区交警大队车辆停放场", "深圳市福田区红荔西路8006号")
OFFICE = ("福田交警大队违法处理窗口", "深圳市福田区福强路3028号")


def citizen_user(*, licence: bool = True, licence_status: str = "valid"):
    from jiaoguan.identity.models import User

    person = make_person(name="孙立")
    if licence:
        make_licence(person=person, status=licence_status)
    n = next(_notices)
    return User.objects.create_user(username=f"det{n:05d}", role="citizen", person=person, phone=person.phone,
                                    real_name_verified_at=clock.now())


def on_site(vehicle, *, code: str = "1352") -> Violation:
    """An on-site (现场) speeding violation of the vehicle, yesterday."""
    return services.violation_record(plate=vehicle.plate, plate_type=vehicle.plate_type, code=code,
                                     place="福田区深南大道", occurred_at=clock.now() - dt.timedelta(days=1),
                                     source="on_site", actor=CLERK).violation


def detain(person, *, kind: str = "licence", violations: list[Violation] | None = None, vehicle=None,
           notice: str | None = None) -> Detention:
    """A detention of the person's licence (or of ``vehicle``) for these violations (one new one by default)."""
    if violations is None:
        vehicle = vehicle or make_vehicle(owner=person)
        violations = [on_site(vehicle)]
    name, address = LOT if kind == "vehicle" else OFFICE
    return services.detention_record(
        actor=CLERK, kind=kind, notice_number=notice or f"440300KL{next(_notices):07d}",
        violation_ids=[v.pk for v in violations], held_at_name=name, held_at_address=address,
        detained_at=clock.now() - dt.timedelta(hours=20), id_number=person.id_number if kind == "licence" else "")


def handle(violation: Violation, person) -> PenaltyDecision:
    """处理 at a counter: the person's licence takes the points; the fine becomes payable."""
    return services.violation_handle_counter(violation=violation, licence=licence_for_person(person=person),
                                             actor=CLERK)


def handle_and_pay(violation: Violation, person) -> Violation:
    decision = handle(violation, person)
    services.decision_settled(decision_id=decision.pk)  # what payments.item_settled's handler does
    violation.refresh_from_db()
    return violation
