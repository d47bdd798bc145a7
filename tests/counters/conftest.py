"""Fixtures of the counter-appointment tests: an office offering two services, slots on a working day."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.counters import services
from jiaoguan.identity import services as identity
from jiaoguan.identity.models import Enterprise, User
from tests.factories import make_person, make_vehicle

APPROVER = Actor(id=None, label="approver 0001", role="approver")
CLERK = Actor(id=None, label="clerk 0002", role="clerk")
# Monday 2 March 2026, 08:00 in Shenzhen: a working day; slots are generated for Tuesday 3 March
NOW = timezone.make_aware(dt.datetime(2026, 3, 2, 8, 0))
DAY = dt.date(2026, 3, 3)
USCC = "91440300MA5G000001"


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hh, mm)))


@dataclass
class City:
    office: object
    licence: object  # OfficeService for 驾驶证业务 (in person)
    vehicle: object  # OfficeService for 机动车业务 (vehicles; enterprise batches)

    def slot(self, os_, hh: int, mm: int = 0, day: dt.date = DAY):
        from jiaoguan.bookings.models import Slot

        return Slot.objects.get(resource=os_.resource, starts_at=at(day, hh, mm))


@pytest.fixture
def city(db):
    clock.freeze(NOW)
    services.services_catalogue_seed()  # a transactional test's flush removes migration data
    office = services.office_create(code="SZ-FT", name_zh="福田车管所", name_en="Futian Vehicle Office",
                                    address_zh="深圳市福田区北环大道1号", address_en="1 Beihuan Ave, Futian",
                                    opens=dt.time(9, 0), closes=dt.time(17, 0), break_starts=dt.time(12, 0),
                                    break_ends=dt.time(13, 30), actor=APPROVER)
    lic = services.office_service_add(office=office, service_code="licence", windows=2, actor=APPROVER)
    veh = services.office_service_add(office=office, service_code="vehicle", windows=3, actor=APPROVER)
    for os_ in (lic, veh):
        services.slots_generate(office_service_id=os_.pk, first_day=DAY, last_day=DAY, actor=APPROVER)
    yield City(office=office, licence=lic, vehicle=veh)
    clock.reset()


def citizen(name: str = "王五") -> User:
    person = make_person(name=name)
    return User.objects.create_user(username=f"c{person.pk}", password=None, role="citizen", person=person,
                                    phone=person.phone, real_name_verified_at=clock.now())


def enterprise_user(uscc: str = USCC, vehicles: int = 3):
    ent = Enterprise.objects.create(name="鹏城运输有限公司", uscc=uscc, created_at=clock.now())
    user = User.objects.create_user(username=f"e{ent.pk}", password=None, role="enterprise", enterprise=ent,
                                    real_name_verified_at=clock.now())
    cars = []
    for _ in range(vehicles):
        v = make_vehicle(owner=None)
        v.owner_company, v.owner_uscc = ent.name, uscc
        v.save(update_fields=["owner_company", "owner_uscc"])
        cars.append(v)
    return user, cars


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
