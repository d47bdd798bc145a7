"""The whole demo_city runs at any hour of the Beijing day (issue 9 §1): between 00:00 and 08:00 the UTC date is the
day before the local one, and a date taken from the UTC clock made the demo's applications invalid."""
from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=False)
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("at", [
    dt.datetime(2026, 12, 7, 0, 30, tzinfo=BEIJING),    # UTC still on 12-06: the daily outage of issue 9
    dt.datetime(2026, 9, 30, 7, 59, tzinfo=BEIJING),    # month end and National Day eve, a minute before UTC's day
    dt.datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING),  # year end: tomorrow is 2027 (no chinese-calendar data)
], ids=lambda at: at.strftime("%Y-%m-%d_%H%M"))
def test_demo_city_runs_whole(clock, at):
    clock.freeze(at)
    out = io.StringIO()
    call_command("demo_city", persons=60, stdout=out)
    text = out.getvalue()
    assert "演示账户 Demo logins:" in text

    from jiaoguan.applications.models import Application
    from jiaoguan.core import clock as core_clock

    apps = list(Application.objects.filter(reference__isnull=False))
    assert apps and all(a.reference.startswith(f"{at:%Y%m%d}") for a in apps)  # numbered on the local day
    assert all(core_clock.localdate(a.due_at) >= at.date() for a in apps if a.due_at)
