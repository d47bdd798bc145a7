"""The movable clock, and the template filters shared by portal and console."""
from __future__ import annotations

import datetime as dt

from django.template import Context, Template
from django.utils import timezone

from jiaoguan.core import clock as core_clock

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_the_real_clock_is_aware_and_close_to_now():
    now = core_clock.now()
    assert timezone.is_aware(now)
    assert abs((now - timezone.now()).total_seconds()) < 5


def test_freeze_with_a_datetime_holds_still(clock):
    at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    clock.freeze(at)
    assert core_clock.now() == at and core_clock.now() == at
    assert core_clock.today() == dt.date(2026, 3, 2)  # 07:30 next morning in Shanghai


def test_freeze_with_a_date_or_naive_datetime_is_local(clock):
    clock.freeze(dt.date(2026, 3, 1))
    assert core_clock.now() == dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    clock.freeze(dt.datetime(2026, 3, 1, 0, 30))
    assert core_clock.now() == dt.datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)
    assert core_clock.today() == dt.date(2026, 3, 1)


def test_advance_moves_a_frozen_clock(clock):
    clock.freeze(dt.datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI))
    clock.advance(dt.timedelta(hours=2))
    assert core_clock.now() == dt.datetime(2027, 1, 1, 1, 0, tzinfo=SHANGHAI)
    assert core_clock.today() == dt.date(2027, 1, 1)


def test_advance_moves_a_running_clock_and_reset_restores_it(clock):
    clock.advance(dt.timedelta(days=30))
    assert (core_clock.now() - timezone.now()) > dt.timedelta(days=29, hours=23)
    clock.reset()
    assert abs((core_clock.now() - timezone.now()).total_seconds()) < 5


def test_frozen_context_manager():
    with core_clock.frozen(dt.date(2025, 10, 1)):
        assert core_clock.today() == dt.date(2025, 10, 1)
    assert abs((core_clock.now() - timezone.now()).total_seconds()) < 5


def render(text: str, **context) -> str:
    return Template("{% load jiaoguan %}" + text).render(Context(context))



def test_filters():
    assert render("{{ f|yuan }}", f=123456) == "¥1,234.56"
    assert render("{{ f|yuan }}", f=None) == "¥0.00"
    assert render("{{ p|plate }}", p="粤BD12345") == "粤B·D12345"
    assert render("{{ p|plate }}", p="") == ""
    assert render("{{ v|mask_id }}", v="44030419900101123X") == "4403**********123X"
    assert render("{{ v|mask_phone }}", v="13800138000") == "138****8000"
    assert render("{{ v|mask_name }}", v="张小明") == "张*明"
    assert render("{{ v|mask_address }}", v="深圳市福田区") == "深圳****"
