"""Fixtures of the exams tests: a fixed Monday, venues, sessions, candidates with permits."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.exams import services
from tests.portal.support import citizen_records, register

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ)  # an ordinary working week (chinese-calendar 2026)
APPROVER = Actor(id=None, label="approver-test", role="approver")
CLERK = Actor(id=None, label="clerk-test", role="clerk")


@pytest.fixture
def monday(clock):
    clock.freeze(MONDAY)
    return clock


@pytest.fixture
def venues(monday):
    theory = services.venue_create(code="FT", name_zh="福田科目一考场", name_en="Futian theory centre",
                                   subjects=["1", "4"], actor=APPROVER, address="深圳市福田区")
    field = services.venue_create(code="LG", name_zh="龙岗考场", name_en="Longgang test ground",
                                  subjects=["2", "3"], actor=APPROVER)
    return theory, field


def at(days: int, hour: int = 9) -> dt.datetime:
    """A time ``days`` after the fixed Monday, at ``hour``."""
    day = MONDAY.date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=TZ)


def session(venue, subject: str = "1", *, days: int = 10, seats: int = 2, hour: int = 9):
    return services.session_create(venue_id=venue.pk, subject=subject, starts_at=at(days, hour), seats=seats,
                                   actor=APPROVER)


def candidate(*, accepted_days_ago: int = 30, name: str = "王学员", licence_class: str = "C1"):
    """(user, permit): a registered citizen without a licence, holding a learner's permit."""
    person, _, _ = citizen_records(name=name, licence=False, vehicle=False)
    user = register(person)
    permit = services.permit_issue(person_id=person.pk, licence_class=licence_class,
                                   accepted_at=clock.now() - dt.timedelta(days=accepted_days_ago), actor=CLERK)
    return user, permit


def sys_actor(label: str = "test") -> Actor:
    return Actor.system(label)


def pass_subject(permit, subject: str, *, when=None):
    """Put a pass on file directly (for tests that start later in the progress)."""
    from jiaoguan.exams.models import Result

    when = when or clock.now() - dt.timedelta(days=5)
    return Result.objects.create(permit=permit, subject=subject, outcome="pass", exam_at=when, recorded_at=when)
