"""Fixtures of the inspections tests: stations with slots, citizens whose car is due on site or in an exempt year."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.inspections import services
from jiaoguan.registry import rules as registry_rules
from tests.factories import make_person, make_policy, make_vehicle
from tests.portal.support import register

SYS = Actor.system("test")
CLERK = Actor(id=900, label="clerk", role="clerk")
APPROVER = Actor(id=901, label="approver", role="approver")


def due_vehicle(person, *, years: int = 6, days_ahead: int = 20, insured: bool = True, **kw):
    """A private small car whose stored due date is the schedule point of ``years`` (6, 10: on site; 2, 4, 8:
    exempt, online mark) about ``days_ahead`` days from today (month end)."""
    today = clock.today()
    registered = registry_rules.add_years(today + dt.timedelta(days=days_ahead), -years)
    due = registry_rules.month_end(registry_rules.add_months(registered, years * 12))
    car = make_vehicle(owner=person, registered=registered, inspection_due=due, **kw)
    if insured:
        make_policy(vehicle=car)
    return car


def owner(*, years: int = 6, days_ahead: int = 20, insured: bool = True, name: str = "王检验", **kw):
    """(user, car): a registered citizen owning a car due for inspection."""
    person = make_person(name=name)
    car = due_vehicle(person, years=years, days_ahead=days_ahead, insured=insured, **kw)
    return register(person), car


def make_station(code: str = "ns01", *, lanes: int = 2, days: int = 3, first: dt.date | None = None,
                 name_zh: str = "", name_en: str = "", district: str = "南山区",
                 address: str = "深圳市南山区科技园路1号"):
    """A station with 60-minute slots from 09:00 to 12:00 for ``days`` days from tomorrow."""
    station = services.station_create(code=code, name_zh=name_zh or f"南山检测站{code}",
                                      name_en=name_en or f"Nanshan station {code}", address=address,
                                      district=district, lanes=lanes, actor=SYS)
    first = first or clock.today() + dt.timedelta(days=1)
    services.slots_generate(station_id=station.pk, first=first, last=first + dt.timedelta(days=days - 1),
                            opens=dt.time(9), closes=dt.time(12), minutes=60, actor=SYS)
    return station


def first_slot(station):
    from jiaoguan.bookings.models import Slot

    return Slot.objects.filter(resource=station.resource).order_by("starts_at").first()


@pytest.fixture
def station():
    return make_station()


def unsettled_violation(car):
    """An on-site violation of the car, recorded and not handled (it blocks an inspection)."""
    from jiaoguan.violations import services as violations

    return violations.violation_record(plate=car.plate, plate_type=car.plate_type, code="1352", place="深南大道",
                                       occurred_at=clock.now() - dt.timedelta(days=3), source="on_site",
                                       actor=CLERK).violation


@pytest.fixture(autouse=True)
def _language_back_to_default():
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
