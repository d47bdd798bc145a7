"""Held-material providers (免提交): the platform's own records stand in for uploads."""
import datetime as dt

import pytest

from jiaoguan.applications import hooks
from jiaoguan.applications.catalogue import catalogue
from tests.applications.support import citizen

pytestmark = pytest.mark.django_db


def ctx(user, data=None):
    return hooks.RuleContext(user=user, service=catalogue().get("sample"), data=data or {})


def test_identity_and_licence(workday):
    user = citizen()
    assert hooks.PROVIDERS["registry.person"](ctx(user)).reference == f"registry.person:{user.person_id}"
    held = hooks.PROVIDERS["registry.licence"](ctx(user))
    assert held.data["classes"] == "C1" and "C1" in held.summary_zh
    assert hooks.PROVIDERS["registry.licence"](ctx(citizen(licence=False))) is None
    assert hooks.PROVIDERS["registry.person"](ctx(citizen(verified=False))) is None


def test_vehicle_only_when_owned(workday):
    from tests.factories import make_vehicle

    user = citizen()
    car = make_vehicle(owner=user.person)
    assert hooks.PROVIDERS["registry.vehicle"](ctx(user, {"plate": car.plate})).data["plate"] == car.plate
    assert hooks.PROVIDERS["registry.vehicle"](ctx(citizen(), {"plate": car.plate})) is None
    assert hooks.PROVIDERS["registry.vehicle"](ctx(user)) is None


def test_health_check_from_the_hospital(workday):
    from jiaoguan.registry.health import health_check_receive
    from tests.registry.health_support import make_hospital, record

    user = citizen()
    provider = hooks.PROVIDERS["registry.health_check"]
    assert provider(ctx(user)) is None
    data = record(user.person, number="HC-APP-1", examined_on=workday.today() - dt.timedelta(days=3))
    data["examined_on"] = dt.date.fromisoformat(data["examined_on"])
    health_check_receive(hospital=make_hospital(), **data)
    held = provider(ctx(user))
    assert held is not None and held.data["record_number"] == "HC-APP-1" and "HC-APP-1" in held.summary_en
