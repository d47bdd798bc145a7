"""Outbox handlers used by core's tests. They live at module level so the outbox can import them by path,
exactly as an app's handlers module is imported."""
from __future__ import annotations

import datetime as dt

from jiaoguan.core.models import HolidayOverride
from jiaoguan.core.outbox import subscribe

calls: list[tuple[str, dict]] = []
state = {"fail_times": 0}


def reset() -> None:
    calls.clear()
    state["fail_times"] = 0


@subscribe("test.core.greeted")
def write_day(payload: dict) -> None:
    """Writes a row, so tests can see that a handler's writes commit with its delivered mark."""
    HolidayOverride.objects.create(date=dt.date.fromisoformat(payload["date"]), is_workday=False,
                                   name=payload.get("name", ""))
    calls.append(("write_day", payload))


@subscribe("test.core.greeted")
def note(payload: dict) -> None:
    calls.append(("note", payload))


@subscribe("test.core.flaky")
def flaky(payload: dict) -> None:
    """Writes, then fails while ``state["fail_times"]`` > 0: its write must not survive a failure."""
    HolidayOverride.objects.create(date=dt.date.fromisoformat(payload["date"]), is_workday=True, name="flaky")
    if state["fail_times"] > 0:
        state["fail_times"] -= 1
        raise RuntimeError("provider down")
    calls.append(("flaky", payload))
