"""Fixtures of the credentials tests: holders (real registrations) and a truck pass issued to them."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.credentials import services
from tests.factories import make_person
from tests.portal.support import register

SYS = Actor.system("applications.test")
_source = itertools.count(1)


def holder(name: str = "陈通行"):
    """A registered citizen (their account is the credential's holder)."""
    return register(make_person(name=name))


def truck_fields(plate: str = "粤B·D12345") -> list[tuple[str, str, str]]:
    return [("号牌号码", "Plate", plate[:3] + "***" + plate[-2:]),
            ("通行区域", "Zone", "南山区 科技园片区"),
            ("通行时段", "Hours", "09:00–17:00, 20:00–07:00")]


def issue(user, *, kind: str = "truck_pass", source_id: str | None = None, days: int = 30,
          valid_from: dt.date | None = None, valid_until: dt.date | None | str = "auto", fields=None, actor=SYS):
    start = valid_from or clock.today()
    until = start + dt.timedelta(days=days) if valid_until == "auto" else valid_until
    return services.credential_issue(
        kind=kind, holder_user=user, title_zh="货车通行证", title_en="Truck pass permit",
        fields=truck_fields() if fields is None else fields, valid_from=start, valid_until=until,
        source_type="applications.application", source_id=source_id or f"A{next(_source):06d}", actor=actor)


@pytest.fixture
def user():
    return holder()


@pytest.fixture
def credential(user):
    return issue(user)
