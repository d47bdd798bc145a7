"""Demo data: two eastern areas (大鹏半岛 and 盐田梅沙) with booking days (the next weekend and the next
holiday) and a checkpoint camera at each.

    from jiaoguan.eastern.demo import demo_eastern
    demo_eastern(now=clock.now())

Idempotent: a second call adds nothing it already made (a checkpoint's secret is returned only when it is
made). Called by the demo_city command.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from jiaoguan.core.audit import Actor
from jiaoguan.eastern import rules, services
from jiaoguan.eastern.models import Area, BookingDay, Checkpoint

AREAS = (
    # code, zh, en, daily quota, merchants' share, checkpoint
    ("dapeng", "大鹏半岛", "Dapeng Peninsula", 40000, 10000, "葵涌卡口"),
    ("meisha", "盐田梅沙", "Yantian Meisha", 20000, 5000, "梅沙卡口"),
)
HOLIDAYS = ((5, 1, "labour-day"), (10, 1, "national-day"))


@dataclass
class DemoEastern:
    areas: list[str] = field(default_factory=list)
    days: list[tuple[str, dt.date, str]] = field(default_factory=list)  # made now
    checkpoints: list[tuple[str, str, str]] = field(default_factory=list)  # (area, key id, secret) made now


def _next_weekend(today: dt.date) -> list[dt.date]:
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    return [saturday, saturday + dt.timedelta(days=1)]


def _next_holiday(today: dt.date) -> tuple[list[dt.date], str]:
    """The first three days of the next Labour Day or National Day holiday after today."""
    for year in (today.year, today.year + 1):
        for month, day, name in HOLIDAYS:
            start = dt.date(year, month, day)
            if start > today:
                return [start + dt.timedelta(days=i) for i in range(3)], f"{year}-{name}"
    raise AssertionError("unreachable")


def demo_eastern(*, now: dt.datetime) -> DemoEastern:
    actor = Actor.system("demo")
    today = timezone.localdate(now)
    weekend = _next_weekend(today)
    holiday, holiday_key = _next_holiday(today)
    plan = [(d, rules.default_period_key(d)) for d in weekend] + [(d, holiday_key) for d in holiday]
    out = DemoEastern()
    for code, zh, en, daily, merchant, checkpoint in AREAS:
        area = Area.objects.filter(code=code).first() or services.area_create(code=code, name_zh=zh, name_en=en,
                                                                              actor=actor)
        out.areas.append(code)
        for date, key in plan:
            if BookingDay.objects.filter(area=area, date=date).exists():
                continue
            services.day_create(area=area, date=date, actor=actor, spec=services.DaySpec(
                daily_quota=daily, merchant_quota=merchant, first_slot=dt.time(6, 0), slot_minutes=120, slots=6,
                period_key=key))
            out.days.append((code, date, key))
        if not Checkpoint.objects.filter(area=area).exists():
            cp, secret = services.checkpoint_create(area=area, name=checkpoint, actor=actor)
            out.checkpoints.append((code, cp.device.key_id, secret))
    return out
