"""Fixtures of the plates tests: the 粤B office with a small pool, and citizens with a newly registered car."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.plates import services
from jiaoguan.registry.models import Vehicle
from tests.factories import make_person, make_vehicle
from tests.portal.support import register

SYSTEM = Actor.system("test")
APPROVER = Actor(id=901, label="approver", role="approver")
CLERK = Actor(id=900, label="clerk", role="clerk")
_n = itertools.count(1)


def new_office(*, batch_size: int = 5, redraws: int = 1, hold_minutes: int = 15, prefix: str = "粤B"):
    return services.office_create(code="440300" if prefix == "粤B" else f"4401{next(_n):02d}", name="深圳市车管所",
                                  prefix=prefix, actor=SYSTEM, batch_size=batch_size, redraws=redraws,
                                  hold_minutes=hold_minutes)


@pytest.fixture
def office(db):
    o = new_office()
    services.plate_pool_generate(office=o, kind="02", series="A0###", actor=SYSTEM, seed=1)  # 1,000 numbers
    services.plate_pool_generate(office=o, kind="52", series="D00###", actor=SYSTEM, seed=2)  # 1,000 numbers
    return o


def provisional_plate(nev: bool = False) -> str:
    n = next(_n)
    return f"粤BF{n % 10000:04d}" if nev else f"粤BZ{n % 10000:04d}"


def new_car(person, *, days_ago: int = 3, nev: bool = False, plate: str | None = None) -> Vehicle:
    return make_vehicle(owner=person, plate=plate or provisional_plate(nev) + ("" if not nev else ""),
                        plate_type=Vehicle.PlateType.NEV_SMALL if nev else Vehicle.PlateType.SMALL,
                        registered=clock.today() - dt.timedelta(days=days_ago))


def owner_with_new_car(*, nev: bool = False, days_ago: int = 3):
    """(user, car): a registered citizen whose car was registered a few days ago with a provisional number."""
    person = make_person(name="王小明")
    if nev:
        car = make_vehicle(owner=person, plate=f"粤BD1{next(_n) % 10000:04d}", plate_type=Vehicle.PlateType.NEV_SMALL,
                           registered=clock.today() - dt.timedelta(days=days_ago))
    else:
        car = new_car(person, days_ago=days_ago)
    return register(person), car


@pytest.fixture
def owner(office):
    return owner_with_new_car()
