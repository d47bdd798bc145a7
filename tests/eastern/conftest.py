"""Fixtures of the eastern tests: an area with a booking day tomorrow, citizens with cars, a checkpoint."""
from __future__ import annotations

import datetime as dt
import importlib
import json
import secrets

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.eastern import services

MANAGER = Actor(id=None, label="approver", role="approver")
SYS = Actor.system("test")


@pytest.fixture(autouse=True)
def _seed(request):
    """A transactional test's flush empties what migrations seeded (violation codes, penalty rules): put them back
    before each test that uses the database."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    seed_reference_data()


def seed_reference_data() -> None:
    from django.apps import apps as django_apps

    from jiaoguan.bookings.models import PenaltyRule
    from jiaoguan.violations.models import ViolationCode

    if not ViolationCode.objects.filter(code="9301").exists():
        importlib.import_module("jiaoguan.violations.migrations.0002_load_codes").load(django_apps, None)
    if not PenaltyRule.objects.filter(kind="eastern").exists():
        importlib.import_module("jiaoguan.bookings.migrations.0002_default_penalty_rules").seed(django_apps, None)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def make_area(code: str = "dapeng", name_zh: str = "大鹏半岛", name_en: str = "Dapeng Peninsula"):
    return services.area_create(code=code, name_zh=name_zh, name_en=name_en, actor=MANAGER)


def make_day(area, *, date: dt.date | None = None, daily: int = 40, merchant: int = 10, slots: int = 2,
             first: dt.time = dt.time(8, 0), minutes: int = 120, period_key: str = "2026-test-holiday"):
    date = date or clock.today() + dt.timedelta(days=1)
    return services.day_create(area=area, date=date, actor=MANAGER, spec=services.DaySpec(
        daily_quota=daily, merchant_quota=merchant, first_slot=first, slot_minutes=minutes, slots=slots,
        period_key=period_key))


def slots_of(day):
    from jiaoguan.eastern import selectors

    return [v.slot for v in selectors.day_slots(day=day)]


@pytest.fixture
def area(db):
    return make_area()


@pytest.fixture
def day(area):
    return make_day(area)


@pytest.fixture
def checkpoint(area):
    cp, secret = services.checkpoint_create(area=area, name="葵涌卡口", actor=MANAGER)
    cp.plain_secret = secret
    return cp


def at_slot(day, index: int = 0, minutes: int = 30) -> dt.datetime:
    """A moment inside the day's slot ``index``."""
    return slots_of(day)[index].starts_at + dt.timedelta(minutes=minutes)


def signed(client, checkpoint, body: dict, *, path: str = "/api/v1/eastern/checkpoint", nonce: str | None = None):
    from jiaoguan.violations import signing

    raw = json.dumps(body, ensure_ascii=False, default=str).encode()
    ts = str(int(clock.now().timestamp()))
    nonce = nonce or secrets.token_hex(12)
    sig = signing.sign(checkpoint.plain_secret, ts, nonce, raw)
    return client.post(path, data=raw, content_type="application/json", HTTP_X_DEVICE_KEY=checkpoint.device.key_id,
                       HTTP_X_DEVICE_TIMESTAMP=ts, HTTP_X_DEVICE_NONCE=nonce, HTTP_X_DEVICE_SIGNATURE=sig)


def bind_other(user, vehicle):
    """An active binding of someone else's vehicle (the owner's SMS consent is identity's business)."""
    from jiaoguan.identity.models import VehicleBinding

    now = clock.now()
    return VehicleBinding.objects.create(user=user, vehicle=vehicle, kind=VehicleBinding.Kind.OTHER,
                                         status=VehicleBinding.Status.ACTIVE, requested_at=now, bound_at=now,
                                         owner_person_id=vehicle.owner_id)
