"""Test data for every app's tests: valid identifiers, registry records. Plain functions, keyword-only."""
from __future__ import annotations

import datetime as dt
import itertools
import random

from jiaoguan.core import clock
from jiaoguan.core.identifiers import PLATE_LETTERS, VIN_ALPHABET, make_id_number, make_vin
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle

_seq = itertools.count(1)
_rng = random.Random(20261121)


def unique_phone() -> str:
    return f"139{next(_seq) % 10**8:08d}"


def unique_id_number(*, birth: dt.date | None = None, male: bool = True, region: str = "440304") -> str:
    birth = birth or dt.date(1990, 1, 1) + dt.timedelta(days=next(_seq) % 5000)
    n = next(_seq) % 500
    seq = n * 2 + (1 if male else 0)
    return make_id_number(region, birth, seq % 1000)


def unique_plate(*, prefix: str = "粤B") -> str:
    n = next(_seq)
    letter = PLATE_LETTERS[n % len(PLATE_LETTERS)]
    return f"{prefix}{letter}{n % 10000:04d}"


def unique_vin() -> str:
    vis = "".join(_rng.choice(VIN_ALPHABET) for _ in range(8))
    return make_vin("LSVAM418", vis)


def make_person(*, name: str = "张三", id_number: str | None = None, phone: str | None = "auto",
                address: str = "广东省深圳市福田区福华一路1号", birth: dt.date | None = None) -> Person:
    id_number = id_number or unique_id_number(birth=birth)
    from jiaoguan.core.identifiers import id_number_birth_date, id_number_is_male

    now = clock.now()
    return Person.objects.create(
        name=name,
        id_number=id_number,
        phone=unique_phone() if phone == "auto" else phone,
        address=address,
        gender="M" if id_number_is_male(id_number) else "F",
        birth_date=id_number_birth_date(id_number),
        created_at=now,
        updated_at=now,
    )


def make_licence(*, person: Person, classes: str = "C1", first_issue: dt.date | None = None,
                 valid_until: dt.date | None = "auto", status: str = DrivingLicence.Status.VALID,
                 cycle_points: int = 0, probation_until: dt.date | None = None,
                 points_cycle_start: dt.date | None = None, status_reason: str = "",
                 probation_classes: str | None = None) -> DrivingLicence:
    """``points_cycle_start`` defaults to the scoring cycle containing today (the points are this cycle's);
    ``probation_classes`` to what the registry assumes when a record does not say (rules.probation_classes_default)."""
    from jiaoguan.registry.rules import probation_classes_default, scoring_cycle

    today = clock.today()
    first_issue = first_issue or today.replace(year=today.year - 3)
    if valid_until == "auto":
        valid_until = first_issue.replace(year=first_issue.year + 6)
    if probation_classes is None:
        probation_classes = " ".join(probation_classes_default(classes=classes.split(), first_issue_date=first_issue,
                                                               probation_until=probation_until))
    now = clock.now()
    return DrivingLicence.objects.create(
        person=person,
        file_number=f"4403{next(_seq):08d}",
        classes=classes,
        first_issue_date=first_issue,
        valid_from=first_issue,
        valid_until=valid_until,
        status=status,
        status_reason=status_reason,
        cycle_points=cycle_points,
        points_cycle_start=points_cycle_start or scoring_cycle(first_issue, max(today, first_issue))[0],
        probation_until=probation_until,
        probation_classes=probation_classes,
        created_at=now,
        updated_at=now,
    )


def make_vehicle(*, owner: Person | None, plate: str | None = None, plate_type: str = Vehicle.PlateType.SMALL,
                 kind: str = Vehicle.Kind.SMALL_CAR, use: str = Vehicle.Use.PRIVATE,
                 registered: dt.date | None = None, inspection_due: dt.date | None = None,
                 brand: str = "比亚迪 秦", status: str = Vehicle.Status.NORMAL) -> Vehicle:
    today = clock.today()
    registered = registered or today.replace(year=today.year - 2)
    now = clock.now()
    return Vehicle.objects.create(
        plate=plate or unique_plate(),
        plate_type=plate_type,
        vin=unique_vin(),
        owner=owner,
        brand=brand,
        kind=kind,
        use=use,
        registration_date=registered,
        inspection_due=inspection_due or registered.replace(year=registered.year + 6),
        status=status,
        created_at=now,
        updated_at=now,
    )


def make_policy(*, vehicle: Vehicle, starts_on: dt.date | None = None, ends_on: dt.date | None = None,
                kind: str = InsurancePolicy.Kind.COMPULSORY) -> InsurancePolicy:
    today = clock.today()
    starts_on = starts_on or today - dt.timedelta(days=100)
    return InsurancePolicy.objects.create(
        vehicle=vehicle,
        kind=kind,
        insurer="中国人民财产保险",
        policy_number=f"PDZA{next(_seq):012d}",
        starts_on=starts_on,
        ends_on=ends_on or starts_on + dt.timedelta(days=365),
        created_at=clock.now(),
    )
