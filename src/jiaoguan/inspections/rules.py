"""Pure rules of vehicle inspection: who may book an on-site test or apply for an online mark (检验标志), the
times of generated slots, mark numbers and the masked plate shown on a public verification page.

The schedule itself (on-site in which years, online marks in which) is registry data; these rules get the
answer for one vehicle as facts (``on_site``, ``due``) and never decide it themselves.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stdnum import luhn

from jiaoguan.core.errors import Refusal
from jiaoguan.core.states import StateMachine

BOOK = "book"  # an on-site test at a station (预约上线检验)
MARK = "mark"  # exempt year: apply online for the inspection mark (网上申领检验标志)
NONE = "none"  # not possible now (reasons given)
BOOKED = "booked"  # a live booking exists already


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about one vehicle on one day (the day of the slot, or today)."""

    status: str  # registry vehicle status code
    status_zh: str
    status_en: str
    on_site: bool  # the due point is an on-site test; False: an exempt year (online mark)
    due: dt.date  # 检验有效期至
    on: dt.date  # the day the inspection (or mark) would happen
    insured: bool  # compulsory insurance (交强险) valid on ``on``
    unsettled: int  # traffic violations not handled / not paid / disputed
    window_days: int  # an inspection is possible this many days before the due date
    inspectable_statuses: tuple[str, ...] = ("normal", "mortgaged")
    mark_allowed_overdue: bool = True


def window_opens(*, due: dt.date, window_days: int) -> dt.date:
    """The first day on which the vehicle may be inspected for this due date."""
    return due - dt.timedelta(days=window_days)


def is_due(*, due: dt.date, on: dt.date, window_days: int) -> bool:
    """Due (within the window before the due date) or overdue."""
    return on >= window_opens(due=due, window_days=window_days)


def _common(f: Facts) -> list[Refusal]:
    out: list[Refusal] = []
    if f.status not in f.inspectable_statuses:
        out.append(Refusal("inspections.vehicle_status", f"机动车状态为“{f.status_zh}”，不能办理检验",
                           f"The vehicle's status is “{f.status_en}”; it cannot be inspected"))
    if not is_due(due=f.due, on=f.on, window_days=f.window_days):
        opens = window_opens(due=f.due, window_days=f.window_days)
        out.append(Refusal("inspections.not_due",
                           f"检验有效期至{f.due:%Y-%m-%d}，{opens:%Y-%m-%d}起方可办理检验",
                           f"The inspection is valid until {f.due:%Y-%m-%d}; it can be done from {opens:%Y-%m-%d}"))
    if not f.insured:
        out.append(Refusal("inspections.insurance",
                           f"{f.on:%Y-%m-%d}没有有效的交强险，请先续保",
                           f"There is no valid compulsory insurance on {f.on:%Y-%m-%d}; renew it first"))
    if f.unsettled > 0:
        out.append(Refusal("inspections.unsettled_violations",
                           f"该车有{f.unsettled}条交通违法未处理或罚款未缴纳，请先处理",
                           f"The vehicle has {f.unsettled} traffic violation(s) not yet handled or paid; "
                           "settle them first"))
    return out


def booking_refusals(f: Facts) -> list[Refusal]:
    """Every reason the vehicle cannot book an on-site test for ``f.on`` (empty: it may)."""
    out = _common(f)
    if not f.on_site:
        out.append(Refusal("inspections.exempt",
                           "该车处于免检期，无需上线检验，请网上申领检验标志",
                           "The vehicle is in an exempt year: no on-site test is needed; apply for the "
                           "inspection mark online"))
    return out


def mark_refusals(f: Facts) -> list[Refusal]:
    """Every reason the vehicle cannot get its inspection mark online on ``f.on`` (empty: it may)."""
    out = _common(f)
    if f.on_site:
        out.append(Refusal("inspections.not_exempt",
                           "该车本次须上线检验，不能网上申领检验标志，请预约检验",
                           "This inspection must be done on site; the mark cannot be issued online: "
                           "book an inspection"))
    elif not f.mark_allowed_overdue and f.on > f.due:
        out.append(Refusal("inspections.mark_overdue", "检验已逾期，须到检验机构上线检验",
                           "The inspection is overdue; the vehicle must be tested on site"))
    return out


def action(f: Facts) -> tuple[str, list[Refusal]]:
    """What the owner can do now: (BOOK | MARK, []) or (NONE, reasons)."""
    if f.on_site:
        refusals = booking_refusals(f)
        return (NONE, refusals) if refusals else (BOOK, [])
    refusals = mark_refusals(f)
    return (NONE, refusals) if refusals else (MARK, [])


def choose_refusals(f: Facts, *, horizon: dt.date) -> list[Refusal]:
    """Why the owner may not choose a station and a day (empty: they may): ``booking_refusals`` on ``f.on``, or,
    when the only reason is that the test is not due yet, none if it falls due by ``horizon`` (the last day
    slots can be booked for: the service checks ``booking_refusals`` on the slot's day)."""
    refusals = booking_refusals(f)
    if refusals and all(r.code == "inspections.not_due" for r in refusals) \
            and window_opens(due=f.due, window_days=f.window_days) <= horizon:
        return []
    return refusals


# --- Staff: attendance and the result ---------------------------------------------------------------------------

RESULT_BLOCKS = {
    "inspections.not_attended": ("须先登记到场，才能录入检验结果", "Mark the booking attended before recording the result"),
    "inspections.result_recorded": ("检验结果已录入", "The result has already been recorded"),
}


# The test result of a booking (its own life cycle; the booking's status is the bookings engine's): recorded once.
RESULT = StateMachine("inspections.result", {
    "pending": ("passed", "failed"),
    "passed": (),
    "failed": (),
}, code="inspections.result_recorded", what=("检验结果", "The result"))


def result_block(*, status: str, result: str) -> str | None:
    """Why staff may not record the test result now (an error code), or None: only for an attended booking,
    once. What ``services.inspection_result`` enforces and the station's day page offers the buttons from."""
    if status != "attended":
        return "inspections.not_attended"
    if not RESULT.targets(result):
        return "inspections.result_recorded"
    return None


# --- Slot generation ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlotTime:
    day: dt.date
    start: dt.time
    end: dt.time


def slot_times(*, first: dt.date, last: dt.date, opens: dt.time, closes: dt.time, minutes: int,
               weekdays: Iterable[int] | None = None,
               open_day: Callable[[dt.date], bool] | None = None) -> list[SlotTime]:
    """Slots of ``minutes`` from ``opens`` while a whole slot fits before ``closes``, on every day from
    ``first`` to ``last`` (inclusive) whose weekday (Monday = 0) is in ``weekdays`` and that ``open_day``
    accepts. A slot never crosses midnight."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    days = set(range(7) if weekdays is None else weekdays)
    step = dt.timedelta(minutes=minutes)
    out: list[SlotTime] = []
    day = first
    while day <= last:
        if day.weekday() in days and (open_day is None or open_day(day)):
            start = dt.datetime.combine(day, opens)
            end_of_day = dt.datetime.combine(day, closes)
            while start + step <= end_of_day:
                out.append(SlotTime(day, start.time(), (start + step).time()))
                start += step
        day += dt.timedelta(days=1)
    return out


# --- Mark numbers and public display --------------------------------------------------------------------------------

def luhn_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (python-stdnum's implementation)."""
    return luhn.calc_check_digit(digits)


def mark_number_new(year: int) -> str:
    """检验标志编号: the year, 8 random digits and a Luhn check digit (13 digits; read out over the phone)."""
    body = f"{year:04d}{secrets.randbelow(10 ** 8):08d}"
    return body + luhn_digit(body)


def mark_number_valid(number: str) -> bool:
    number = (number or "").strip()
    return len(number) == 13 and number.isdigit() and luhn_digit(number[:-1]) == number[-1]


def mask_plate(plate: str) -> str:
    """粤B12345 → 粤B***45: enough to recognise one's own car, not enough to find anyone's."""
    plate = plate or ""
    if len(plate) <= 4:
        return plate[:1] + "*" * max(0, len(plate) - 1)
    return plate[:2] + "*" * (len(plate) - 4) + plate[-2:]
