"""Pure rules of the registry (DOMAIN §3, §5): no database, no clock. Everything takes its dates as arguments.

Licence classes
    The table of 公安部令第162号 (准驾车型及代号), as amended by 第172号 (in force 2025): each class with the
    classes it also permits (准予驾驶的其他准驾车型). The table is closed under inclusion (A1 permits A3, which
    permits C1–C4, and A1 lists C1–C4 itself); ``classes_covered`` still computes the closure so a city that
    edits the table cannot produce an inconsistent answer. Age limits are those for *applying* for a class
    from 2025 (DOMAIN §3): ``age_allows``.

Dates
    "N years after" a date is computed the way the licence systems do it (Oracle ``ADD_MONTHS``): the same day
    N years later, and 29 February becomes 28 February in a year without it. Anniversaries are always computed
    from the original date, never chained, so a 29 February licence goes back to 29 February in leap years.

Validity (有效期)
    First licence 6 years; a renewal after a 6-year period with no scoring cycle at 12 points gives 10 years,
    and after a 10-year period long-term (长期); a period with a full score repeats the same length.

Scoring cycle (记分周期)
    12 months from the first-issue date: [anniversary, next anniversary − 1 day].

Effective status
    The stored status holds what staff decided (suspended, revoked, cancelled) and what the expiry task last
    wrote; the date decides the rest: past ``valid_until`` a valid licence is expired, and more than one year
    past it, cancelled (注销). Probation (实习期) is a flag beside the status, not a status.

Inspection schedule (检验周期, DOMAIN §5)
    Data, not code: rows of (kind, use, from_year, to_year, interval_months, on_site) — in vehicle years
    ``from_year`` to ``to_year`` (inclusive; None = no end) an inspection is due every ``interval_months``,
    counted from the start of year ``from_year``. Due points are months after registration; the due date is the
    last day of that month (the 行驶证 shows "检验有效期至 2026年05月"). ``INSPECTION_SCHEDULE_FOR`` names the
    schedule of every (kind, use) pair explicitly and ``DEFAULT_INSPECTION_RULES`` spells it out as rows for each
    pair: what the data migrations seed and what the registry falls back to when the table is empty (see
    docs/registry-import.md for the reasoning). A city's own rows may still use an empty use (= any use) as a
    catch-all; rows for the vehicle's exact use win over it.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from jiaoguan.core.i18n import Bi, bi
from jiaoguan.core.states import StateMachine

# --- Licence classes (准驾车型) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceClass:
    code: str
    zh: str
    en: str
    includes: tuple[str, ...]  # the other classes it permits, as listed in the regulation's table
    min_age: int
    max_age: int | None  # None: no upper limit for applying

    @property
    def label(self) -> Bi:
        return bi(self.zh, self.en)


_C = LicenceClass
LICENCE_CLASSES: dict[str, LicenceClass] = {c.code: c for c in (
    _C("A1", "大型客车", "Large bus", ("A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"), 22, 63),
    _C("A2", "重型牵引挂车", "Heavy tractor-trailer", ("B1", "B2", "C1", "C2", "C3", "C4", "C6", "M"), 22, 63),
    _C("A3", "城市公交车", "City bus", ("C1", "C2", "C3", "C4"), 20, 63),
    _C("B1", "中型客车", "Medium bus", ("C1", "C2", "C3", "C4", "M"), 20, 63),
    _C("B2", "大型货车", "Heavy goods vehicle", ("C1", "C2", "C3", "C4", "M"), 20, 63),
    _C("C1", "小型汽车", "Small car", ("C2", "C3", "C4"), 18, None),
    _C("C2", "小型自动挡汽车", "Small automatic car", (), 18, None),
    _C("C3", "低速载货汽车", "Low-speed goods vehicle", ("C4",), 18, 63),
    _C("C4", "三轮汽车", "Three-wheeled vehicle", (), 18, 63),
    _C("C5", "残疾人专用小型自动挡载客汽车", "Small automatic car adapted for disabled drivers", (), 18, None),
    _C("C6", "轻型牵引挂车", "Light tractor-trailer", (), 20, 70),
    _C("D", "普通三轮摩托车", "Three-wheeled motorcycle", ("E", "F"), 18, 70),
    _C("E", "普通二轮摩托车", "Two-wheeled motorcycle", ("F",), 18, 70),
    _C("F", "轻便摩托车", "Moped", (), 18, None),
    _C("M", "轮式专用机械车", "Wheeled special machinery", (), 18, 63),
    _C("N", "无轨电车", "Trolleybus", (), 20, 63),
    _C("P", "有轨电车", "Tram", (), 20, 63),
)}
# Classes whose holders are "large vehicle" drivers (A/B): longer study after a full score, review duties.
LARGE_CLASSES = frozenset({"A1", "A2", "A3", "B1", "B2"})


def parse_classes(value: str | Iterable[str]) -> list[str]:
    """'C1 E' / 'C1,E' / ['C1', 'E'] -> ['C1', 'E'] in table order. Raises ValueError naming unknown codes."""
    if isinstance(value, str):
        parts = value.replace(",", " ").replace("，", " ").replace("、", " ").split()
    else:
        parts = list(value)
    codes = {p.strip().upper() for p in parts if p and p.strip()}
    unknown = sorted(codes - LICENCE_CLASSES.keys())
    if unknown:
        raise ValueError(f"unknown licence class: {', '.join(unknown)}")
    if not codes:
        raise ValueError("no licence class")
    order = list(LICENCE_CLASSES)
    return sorted(codes, key=order.index)


def classes_covered(held: str | Iterable[str]) -> frozenset[str]:
    """Every class a holder of ``held`` may drive: the held classes and, transitively, what they include."""
    todo = list(parse_classes(held))
    covered: set[str] = set()
    while todo:
        code = todo.pop()
        if code in covered:
            continue
        covered.add(code)
        todo.extend(LICENCE_CLASSES[code].includes)
    return frozenset(covered)


def may_drive(held: str | Iterable[str], vehicle_class: str) -> bool:
    """May a holder of ``held`` drive a vehicle that needs ``vehicle_class``?"""
    return vehicle_class.strip().upper() in classes_covered(held)


def age_on(birth: dt.date, on: dt.date) -> int:
    """Age in completed years (someone born on 29 February turns a year older on 1 March in common years)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_allows(code: str, age: int) -> bool:
    """May someone of ``age`` apply for class ``code`` (DOMAIN §3, from 2025)?"""
    cls = LICENCE_CLASSES[code]
    return age >= cls.min_age and (cls.max_age is None or age <= cls.max_age)


# --- Dates ------------------------------------------------------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February -> 28 February when the target year has none."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the end of a shorter month."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# --- Validity (有效期), renewal, probation, scoring cycle -------------------------------------------------------

VALIDITY_6Y = "6y"
VALIDITY_10Y = "10y"
VALIDITY_LONG = "long"
VALIDITY_YEARS: dict[str, int | None] = {VALIDITY_6Y: 6, VALIDITY_10Y: 10, VALIDITY_LONG: None}
VALIDITY_LABELS: dict[str, tuple[str, str]] = {
    VALIDITY_6Y: ("6年", "6 years"),
    VALIDITY_10Y: ("10年", "10 years"),
    VALIDITY_LONG: ("长期", "Long-term"),
}
RENEWAL_WINDOW_DAYS = 90
CANCEL_AFTER_EXPIRY_YEARS = 1
PROBATION_MONTHS = 12


def validity_until(valid_from: dt.date, validity: str) -> dt.date | None:
    """Last day of validity (the 'valid to' date printed on the licence); None for long-term."""
    years = VALIDITY_YEARS[validity]
    return None if years is None else add_years(valid_from, years)


def validity_after_renewal(current: str, *, full_score_in_period: bool) -> str:
    """6y → 10y → long-term, each step only if no scoring cycle of the period reached 12 points."""
    if current == VALIDITY_LONG:
        return VALIDITY_LONG
    if full_score_in_period:
        return current
    return VALIDITY_10Y if current == VALIDITY_6Y else VALIDITY_LONG


def renewal_window(valid_until: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the renewal window: the 90 days before expiry, expiry day included."""
    return valid_until - dt.timedelta(days=RENEWAL_WINDOW_DAYS), valid_until


def renewal_window_open(valid_until: dt.date | None, on: dt.date) -> bool:
    if valid_until is None:
        return False
    start, end = renewal_window(valid_until)
    return start <= on <= end


def probation_end(start: dt.date) -> dt.date:
    """Last day of the 12-month probation (实习期) that starts on ``start`` (first issue or an added class)."""
    return add_years(start, 1) - dt.timedelta(days=1)


def in_probation(probation_until: dt.date | None, on: dt.date) -> bool:
    return probation_until is not None and on <= probation_until


# 公安部令第162号 第七十七条 (DOMAIN §3): probation is per class — the classes of a first licence, or the class added
# (增驾); the classes held before are not in probation. 12 points during probation cancels the classes in probation
# (a first licence: the licence); drivers of the large classes (A, B) with 6–11 points in the probation year get one
# more year of probation, once, and 6 or more points again in that extra year cancel the class as well.
PROBATION_EXTENSION_CLASSES = frozenset({"A1", "A2", "A3", "B1", "B2"})
PROBATION_EXTENSION_POINTS = 6


def class_held_since(code: str, *, classes: Sequence[str], class_since: dict[str, str],
                     first_issue_date: dt.date) -> dt.date | None:
    """Since when the holder may drive class ``code``: the earliest date on which a held class that permits it
    (itself, or one whose table includes it) was obtained — ``class_since`` for a class added later (ISO dates),
    the first issue for the others. None: not permitted by the licence."""
    days = [dt.date.fromisoformat(class_since[c]) if c in class_since else first_issue_date
            for c in classes if code in classes_covered([c])]
    return min(days) if days else None


def probation_start(*, probation_classes: Sequence[str], class_since: dict[str, str],
                    first_issue_date: dt.date) -> dt.date:
    """The first day of the running probation: when its class was added, or the first issue."""
    days = [dt.date.fromisoformat(class_since[c]) for c in probation_classes if c in class_since]
    return max(days) if days else first_issue_date


def probation_extended(*, probation_until: dt.date | None, start: dt.date) -> bool:
    """Has the probation that started on ``start`` been extended (it ends later than its first year)?"""
    return probation_until is not None and probation_until > probation_end(start)


def probation_classes_default(*, classes: Sequence[str], first_issue_date: dt.date,
                              probation_until: dt.date | None) -> list[str]:
    """The classes in probation when a record does not say: every class, if the probation is the first licence's
    (its first year, or that year extended); otherwise not known (an added class the record did not name)."""
    first_year = probation_end(first_issue_date)
    return list(classes) if probation_until in (first_year, probation_extended_until(first_year)) else []


def probation_cancels(*, probation_until: dt.date | None, probation_classes: Sequence[str], on: dt.date) -> list[str]:
    """The classes that 12 points reached on ``on`` cancel: those in probation that day (公安部令第162号第七十七条).
    Empty — the licence is suspended instead — outside probation, or when the record does not say which classes
    are in probation (a probation date from the city's file without its classes)."""
    return list(probation_classes) if in_probation(probation_until, on) else []


def probation_extends(*, probation_classes: Sequence[str], points: int, extended: bool) -> bool:
    """Is a probation that has just ended extended by a year? When an A or B class was in probation and the
    probation year ended with 6–11 points — once: not for a probation already extended."""
    return (bool(set(probation_classes) & PROBATION_EXTENSION_CLASSES)
            and PROBATION_EXTENSION_POINTS <= points < FULL_SCORE and not extended)


def extended_probation_cancels(*, probation_classes: Sequence[str], points_in_extension: int, extended: bool,
                               in_probation_now: bool) -> bool:
    """In the extra probation year, 6 points or more again cancel the class in probation (公安部令第162号第七十七条:
    延长实习期内再次记6分以上但未达到12分的，注销其实习的准驾车型驾驶资格; 12 points cancel it anyway)."""
    return (extended and in_probation_now and bool(set(probation_classes) & PROBATION_EXTENSION_CLASSES)
            and points_in_extension >= PROBATION_EXTENSION_POINTS)


# 增驾 (adding a class, 公安部令第162号第十五条 as amended): every applicant must have had no full score in the current
# scoring cycle and the one before it; for four classes the regulation also asks for a class held long enough and
# a longer clean record. The routes are alternatives (any one suffices).
@dataclass(frozen=True)
class AddClassRoute:
    held: tuple[str, ...]  # any of these classes …
    years: int  # … held for at least this many years


@dataclass(frozen=True)
class AddClassRule:
    routes: tuple[AddClassRoute, ...] = ()  # empty: no class needs to be held first
    clean_cycles: int = 1  # scoring cycles before the current one that must have had no full score


ADD_CLASS_DEFAULT = AddClassRule()
ADD_CLASS_RULES: dict[str, AddClassRule] = {
    "C6": AddClassRule((AddClassRoute(("C1", "C2"), 1),)),
    "B1": AddClassRule((AddClassRoute(("A3", "B2", "C1", "C2", "C3", "C4"), 2),), clean_cycles=2),
    "A2": AddClassRule((AddClassRoute(("B1", "B2"), 2), AddClassRoute(("A1",), 1)), clean_cycles=2),
    "A1": AddClassRule((AddClassRoute(("A3", "B1"), 2), AddClassRoute(("B2",), 3), AddClassRoute(("A2",), 1)),
                       clean_cycles=3),
}
# The classes the 增驾 service offers: every class but C5 (its own medical route) — the catalogue form lists them.
ADDABLE_CLASSES = tuple(c for c in LICENCE_CLASSES if c != "C5")


def add_class_window_start(*, first_issue_date: dt.date, new_class: str, on: dt.date) -> dt.date:
    """The first day of the scoring cycles that must have had no full score for adding ``new_class`` on ``on``:
    the current cycle and ``clean_cycles`` before it (never before the first issue)."""
    rule = ADD_CLASS_RULES.get(new_class, ADD_CLASS_DEFAULT)
    k = scoring_cycle(first_issue_date, on)[0].year - first_issue_date.year
    return add_years(first_issue_date, max(0, k - rule.clean_cycles))


def add_class_refusal(*, classes: Sequence[str], class_since: dict[str, str], first_issue_date: dt.date,
                      status: str, birth_date: dt.date, new_class: str, on: dt.date,
                      full_score_in_window: bool, probation_until: dt.date | None = None) -> tuple[str, str, str] | None:
    """Why ``new_class`` may not be added to this licence on ``on`` — (code, zh, en) — or None. The caller looks up
    ``full_score_in_window``: any scoring cycle from ``add_class_window_start`` to ``on`` at 12 points.

    While a probation runs the platform takes no online application: the licence keeps one probation date, and a
    second class's probation would move the first's (a counter can still decide; see licence_class_add)."""
    info = LICENCE_CLASSES.get(new_class)
    if info is None or new_class not in ADDABLE_CLASSES:
        return ("licence.class_unknown", "不能申请增加该准驾车型", "This class cannot be added online")
    if status != STATUS_VALID:
        return ("licence.not_valid", "驾驶证状态不是正常（如已过期、暂扣、满分或注销），不能申请增加准驾车型",
                "The licence is not valid (expired, suspended, full score or cancelled): no class can be added")
    if new_class in classes_covered(classes):
        return ("licence.class_held", f"您的驾驶证已可驾驶{info.zh}（{new_class}），无需增驾",
                f"Your licence already permits class {new_class} ({info.en})")
    age = age_on(birth_date, on)
    if not age_allows(new_class, age):
        limit = f"{info.min_age}–{info.max_age}" if info.max_age else f"{info.min_age}+"
        return ("licence.class_age", f"申请{new_class}的年龄条件为{limit}周岁，您现在{age}周岁",
                f"Class {new_class} is for applicants aged {limit}; you are {age}")
    if in_probation(probation_until, on):
        assert probation_until is not None
        return ("licence.class_in_probation", f"驾驶证尚在实习期内（至{probation_until:%Y-%m-%d}），实习期结束后再网上申请增驾，"
                "或到车管所窗口办理", f"The licence is in probation until {probation_until:%Y-%m-%d}: apply online "
                "once it ends, or at a vehicle office counter")
    rule = ADD_CLASS_RULES.get(new_class, ADD_CLASS_DEFAULT)
    if rule.routes and not any(
            (since := class_held_since(code, classes=classes, class_since=class_since,
                                       first_issue_date=first_issue_date)) is not None
            and add_years(since, route.years) <= on
            for route in rule.routes for code in route.held):
        need_zh = "，或".join(f"{'/'.join(r.held)}准驾车型资格{r.years}年以上" for r in rule.routes)
        need_en = ", or ".join(f"class {'/'.join(r.held)} for at least {r.years} year(s)" for r in rule.routes)
        return ("licence.class_prerequisite", f"申请增加{new_class}须已取得{need_zh}",
                f"Adding {new_class} needs {need_en}")
    if full_score_in_window:
        n = rule.clean_cycles
        return ("licence.class_full_score", f"本记分周期和申请前最近{n}个记分周期内有记满12分记录，不能申请增驾",
                f"A scoring cycle at 12 points in the current cycle or the {n} before it: no class can be added")
    return None


def classes_after_adding(classes: Sequence[str], new_class: str) -> list[str]:
    """The licence's classes once ``new_class`` is added, in the table's order (the classes held stay on the
    record: if the added class's probation cancels it, they remain)."""
    return parse_classes([*classes, new_class])


# 驾驶证审验 (公安部令第162号; DOMAIN §3): a licence with a large class (A1 A2 A3 B1 B2) is reviewed after each scoring
# cycle that had points, within 30 days of its end (a review found later is overdue, still due). The study the
# review asks for (at least 3 hours of road-safety study) is the catalogue service's data (licence_review.toml).
REVIEW_CLASSES = PROBATION_EXTENSION_CLASSES
REVIEW_DAYS = 30


@dataclass(frozen=True)
class ReviewDue:
    cycle_start: dt.date
    cycle_end: dt.date
    deadline: dt.date

    def overdue(self, on: dt.date) -> bool:
        return on > self.deadline


def review_cycle(first_issue_date: dt.date, on: dt.date) -> tuple[dt.date, dt.date] | None:
    """(start, end) of the latest scoring cycle that has ended by ``on``; None during the first cycle."""
    current_start, _ = scoring_cycle(first_issue_date, max(on, first_issue_date))
    end = current_start - dt.timedelta(days=1)
    if end < first_issue_date:
        return None
    start, _ = scoring_cycle(first_issue_date, end)
    return start, end


def review_deadline(cycle_end: dt.date, postponed_until: dt.date | None = None,
                    postponed_for: dt.date | None = None) -> dt.date:
    """The last day to do the review of the cycle ending ``cycle_end``: 30 days after it, or the later date a
    延期审验 granted for that cycle (``postponed_for`` = the cycle's end) moved it to."""
    normal = cycle_end + dt.timedelta(days=REVIEW_DAYS)
    if postponed_until is not None and postponed_for == cycle_end:
        return max(normal, postponed_until)
    return normal


def _owed_cycle(*, first_issue_date: dt.date, on: dt.date, done_through: dt.date | None,
                postponed_for: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The cycle whose review or report is owed: one postponed and not done yet stays owed (a later cycle does not
    hide it); otherwise the latest ended cycle, unless done."""
    if postponed_for is not None and (done_through is None or done_through < postponed_for):
        return scoring_cycle(first_issue_date, postponed_for)
    cycle = review_cycle(first_issue_date, on)
    if cycle is None or (done_through is not None and done_through >= cycle[1]):
        return None
    return cycle


def review_due(*, classes: Sequence[str], first_issue_date: dt.date, on: dt.date, points_of_cycle: int,
               reviewed_through: dt.date | None, postponed_until: dt.date | None = None,
               postponed_for: dt.date | None = None) -> ReviewDue | None:
    """The review a licence owes on ``on``, or None: a large class, the latest ended cycle had points
    (``points_of_cycle``, the ledger's total of that cycle), and no review recorded for it. A 延期审验 granted for a
    cycle (``postponed_for``, ``postponed_until``) keeps that cycle's review owed, with the later deadline, until it
    is recorded."""
    if not set(classes) & REVIEW_CLASSES:
        return None
    postponed = postponed_for is not None and (reviewed_through is None or reviewed_through < postponed_for)
    if not postponed and points_of_cycle <= 0:
        return None
    cycle = _owed_cycle(first_issue_date=first_issue_date, on=on, done_through=reviewed_through,
                        postponed_for=postponed_for)
    if cycle is None:
        return None
    return ReviewDue(cycle[0], cycle[1], review_deadline(cycle[1], postponed_until, postponed_for))


def review_postponement_refusal(*, due: ReviewDue | None, until: dt.date, on: dt.date,
                                status: str) -> tuple[str, str, str] | None:
    """Why a review may not be postponed to ``until`` on ``on`` (延期审验, 公安部令第162号) — (code, zh, en) — or
    None."""
    if due is None:
        return ("licence.review_not_due", "上一个记分周期没有记分，或已完成审验，目前无需审验",
                "The last scoring cycle had no points, or its review is done: no review is due now")
    return _due_postponement_refusal(due=due, until=until, on=on, status=status, what=("审验", "review"))


def _due_postponement_refusal(*, due: ReviewDue, until: dt.date, on: dt.date, status: str,
                              what: tuple[str, str]) -> tuple[str, str, str] | None:
    """Something owed after a scoring cycle (a review, a health report) is postponed while the licence is valid or
    within a year after its expiry — even when it is already late — to a date after its deadline and today, at most
    three years after the normal deadline (公安部令第162号)."""
    refusal = postponement_status_refusal(status)
    if refusal is not None:
        return refusal
    limit = add_years(due.cycle_end + dt.timedelta(days=REVIEW_DAYS), POSTPONEMENT_MAX_YEARS)
    if until <= max(due.deadline, on) or until > limit:
        return ("licence.postpone_date", f"延期至日期须在{what[0]}期限（{due.deadline:%Y-%m-%d}）及今天之后，且不超过"
                f"{limit:%Y-%m-%d}（最长三年）", f"The new date must be after the {what[1]} deadline "
                f"({due.deadline:%Y-%m-%d}) and today, and no later than {limit:%Y-%m-%d} (three years at most)")
    return None


# 身体条件证明 (公安部令第162号; DOMAIN §3): a driver aged 70 or over has a health check every year and reports it
# (the hospital's record) within 30 days after each scoring cycle ends. The same 30 days and postponement as 审验.
HEALTH_REPORT_AGE = 70
HEALTH_REPORT_NOT_DUE = ("licence.health_report_not_due",
                         "您目前无需提交身体条件证明（年满70周岁的驾驶人每个记分周期结束后提交），或已提交",
                         "No health report is due now (drivers aged 70 and over report after each scoring cycle), or "
                         "it is on record")


def health_report_due(*, birth_date: dt.date, first_issue_date: dt.date, on: dt.date,
                      reported_through: dt.date | None, postponed_until: dt.date | None = None,
                      postponed_for: dt.date | None = None) -> ReviewDue | None:
    """The health report a licence owes on ``on``, or None: the holder was 70 or over when the latest ended scoring
    cycle ended, and no report is recorded for that cycle. A 延期提交身体条件证明 granted for a cycle keeps that
    cycle's report owed, with the later deadline, until it is recorded."""
    cycle = _owed_cycle(first_issue_date=first_issue_date, on=on, done_through=reported_through,
                        postponed_for=postponed_for)
    if cycle is None or age_on(birth_date, cycle[1]) < HEALTH_REPORT_AGE:
        return None
    return ReviewDue(cycle[0], cycle[1], review_deadline(cycle[1], postponed_until, postponed_for))


def health_postponement_refusal(*, due: ReviewDue | None, until: dt.date, on: dt.date,
                                status: str) -> tuple[str, str, str] | None:
    """Why a health report may not be postponed to ``until`` on ``on`` — (code, zh, en) — or None."""
    if due is None:
        return HEALTH_REPORT_NOT_DUE
    return _due_postponement_refusal(due=due, until=until, on=on, status=status,
                                     what=("提交身体条件证明", "health report"))


def probation_extended_until(probation_until: dt.date) -> dt.date:
    """The last day of the extended probation: one more year."""
    return add_years(probation_until + dt.timedelta(days=1), 1) - dt.timedelta(days=1)


def scoring_cycle(first_issue: dt.date, on: dt.date) -> tuple[dt.date, dt.date]:
    """(start, end) of the scoring cycle that contains ``on``: 12 months from the first-issue anniversary."""
    if on < first_issue:
        raise ValueError("the date is before the licence was first issued")
    k = on.year - first_issue.year
    if add_years(first_issue, k) > on:
        k -= 1
    start = add_years(first_issue, k)
    end = add_years(first_issue, k + 1) - dt.timedelta(days=1)
    return start, end


# --- Licence status on a date -------------------------------------------------------------------------------------

STATUS_VALID = "valid"
STATUS_EXPIRED = "expired"
STATUS_SUSPENDED = "suspended"
STATUS_REVOKED = "revoked"
STATUS_CANCELLED = "cancelled"
STATUS_LABELS: dict[str, tuple[str, str]] = {
    STATUS_VALID: ("正常", "Valid"),
    STATUS_EXPIRED: ("超过有效期", "Expired"),
    STATUS_SUSPENDED: ("暂扣/满分", "Suspended"),
    STATUS_REVOKED: ("吊销", "Revoked"),
    STATUS_CANCELLED: ("注销", "Cancelled"),
}

# The licence life cycle (services/licences.py: one function per step; each checks it here under the row lock).
LICENCE_TRANSITIONS = StateMachine("registry.licence", {
    STATUS_VALID: {STATUS_SUSPENDED, STATUS_EXPIRED, STATUS_REVOKED, STATUS_CANCELLED},
    STATUS_SUSPENDED: {STATUS_VALID, STATUS_REVOKED, STATUS_CANCELLED},
    STATUS_EXPIRED: {STATUS_VALID, STATUS_CANCELLED, STATUS_REVOKED},
    STATUS_CANCELLED: {STATUS_VALID},
    STATUS_REVOKED: set(),
}, code="registry.licence_status", what=("驾驶证", "The licence"), labels=STATUS_LABELS)


def cancellation_date(valid_until: dt.date) -> dt.date:
    """First day on which an unrenewed licence counts as cancelled: more than one year after expiry."""
    return add_years(valid_until, CANCEL_AFTER_EXPIRY_YEARS) + dt.timedelta(days=1)


def effective_status(*, stored: str, valid_until: dt.date | None, on: dt.date,
                     postponed_until: dt.date | None = None) -> str:
    """The status on ``on``. Staff decisions (suspended, revoked, cancelled) stand; for a licence stored as
    valid or expired the date decides: valid up to and including ``valid_until``, then expired, and more than
    one year after it cancelled — after ``postponed_until`` instead when a 延期换证 moved the renewal deadline
    (the licence is expired meanwhile: no driving during a postponement)."""
    if stored not in (STATUS_VALID, STATUS_EXPIRED):
        return stored
    if valid_until is None or on <= valid_until:
        return STATUS_VALID
    if on < cancellation_date(renewal_deadline(valid_until, postponed_until)):
        return STATUS_EXPIRED
    return STATUS_CANCELLED


# 延期换证 (公安部令第162号: 服兵役、出国（境）等原因无法按期换证的，可以申请延期，延期期限最长不超过三年，延期期间不得驾驶)
POSTPONEMENT_MAX_YEARS = 3


def renewal_deadline(valid_until: dt.date, postponed_until: dt.date | None) -> dt.date:
    """The date the "more than a year after" cancellation counts from: the expiry, or a later postponement."""
    return max(valid_until, postponed_until) if postponed_until is not None else valid_until


def postponement_limit(valid_until: dt.date) -> dt.date:
    """The latest date a renewal may be postponed to: three years after the expiry, in all."""
    return add_years(valid_until, POSTPONEMENT_MAX_YEARS)


def postponement_status_refusal(status: str) -> tuple[str, str, str] | None:
    """延期办理 (换证, 审验, 身体条件证明) is asked for while the licence is valid or within a year after its expiry
    (公安部令第162号: 在驾驶证有效期内或者有效期届满一年内): ``status`` is the effective status (a licence more than a
    year past expiry is cancelled)."""
    if status in (STATUS_VALID, STATUS_EXPIRED):
        return None
    zh, en = STATUS_LABELS.get(status, (status, status))
    return ("licence.status", f"驾驶证状态为“{zh}”，不能申请延期办理",
            f"The licence is {en.lower()}, so nothing on it can be postponed")


def postponement_refusal(*, valid_until: dt.date | None, status: str, until: dt.date,
                         on: dt.date) -> tuple[str, str, str] | None:
    """Why a renewal may not be postponed to ``until`` on ``on`` — (code, zh, en) — or None. ``status`` is the
    effective status: a valid licence (at any time of its validity: the holder knows ahead that they will be abroad)
    or one expired less than a year ago; ``until`` after the expiry and after today, at most three years after the
    expiry."""
    if valid_until is None:
        return ("licence.long_term", "您的驾驶证长期有效，无需换证", "Your licence is valid for life; it needs no renewal")
    refusal = postponement_status_refusal(status)
    if refusal is not None:
        return refusal
    limit = postponement_limit(valid_until)
    if until <= max(valid_until, on) or until > limit:
        return ("licence.postpone_date", f"延期至日期须在有效期满之后、今天之后，且不超过{limit:%Y-%m-%d}（最长三年）",
                f"The new date must be after the expiry and after today, and no later than {limit:%Y-%m-%d} "
                "(three years at most)")
    return None


# --- Why a licence has its status (status_reason) ------------------------------------------------------------------

# 注销 reasons (公安部令第162号 第七十六条, abridged). Only a licence cancelled because it was not renewed within a
# year of expiry may be restored by passing 科目一 within two years of the cancellation; every other cancellation
# stands (the holder applies for a new licence).
CANCEL_EXPIRY = "expiry_over_1_year"
CANCEL_PROBATION_FULL_SCORE = "probation_full_score"
CANCEL_HOLDER_REQUEST = "holder_request"
CANCEL_HOLDER_DECEASED = "holder_deceased"
CANCEL_UNFIT = "unfit_to_drive"
CANCEL_OTHER = "other"
CANCEL_REASONS: dict[str, tuple[str, str]] = {
    CANCEL_EXPIRY: ("超过有效期一年以上未换证", "Not renewed within one year of expiry"),
    CANCEL_PROBATION_FULL_SCORE: ("实习期内记满12分", "12 points during probation"),
    CANCEL_HOLDER_REQUEST: ("本人申请注销", "Cancelled at the holder's request"),
    CANCEL_HOLDER_DECEASED: ("驾驶人死亡", "The holder died"),
    CANCEL_UNFIT: ("身体条件不适合驾驶", "Physically unfit to drive"),
    CANCEL_OTHER: ("其他原因", "Other reason"),
}
RESTORABLE_CANCEL_REASONS = frozenset({CANCEL_EXPIRY})
RESTORE_AFTER_CANCEL_YEARS = 2


def cancelled_for_expiry_on(valid_until: dt.date | None, on: dt.date, postponed_until: dt.date | None = None) -> bool:
    """Do the dates alone say the licence is cancelled for not being renewed (more than a year past expiry, or past a
    postponed renewal deadline)?"""
    return valid_until is not None and on >= cancellation_date(renewal_deadline(valid_until, postponed_until))


def restore_deadline(valid_until: dt.date, postponed_until: dt.date | None = None) -> dt.date:
    """Last day on which a licence cancelled for expiry can be restored (two years after the cancellation, which a
    postponement moved)."""
    return add_years(cancellation_date(renewal_deadline(valid_until, postponed_until)), RESTORE_AFTER_CANCEL_YEARS)


def status_reason_label(code: str) -> tuple[str, str]:
    """(zh, en) of a status reason code; ("", "") when there is none."""
    if not code:
        return "", ""
    return CANCEL_REASONS.get(code, (code, code))


# --- Points and their scoring cycle -------------------------------------------------------------------------------

FULL_SCORE = 12


def is_cycle_start(first_issue: dt.date, day: dt.date) -> bool:
    """Is ``day`` the first day of one of the licence's scoring cycles (an anniversary of the first issue)?"""
    return day >= first_issue and scoring_cycle(first_issue, day)[0] == day


def points_after_cycle(*, points: int, unpaid_points: int) -> int:
    """The points a cycle passes on to the next (公安部令第163号): under 12 they clear except those of violations
    whose fines are still unpaid (``unpaid_points``, bounded by the total); a full score stays until the holder
    passes the study and exam that clear it."""
    if points >= FULL_SCORE:
        return points
    return max(0, min(points, unpaid_points))


# --- Vehicle status (机动车状态) ------------------------------------------------------------------------------------

VEHICLE_NORMAL, VEHICLE_MORTGAGED, VEHICLE_SEIZED = "normal", "mortgaged", "seized"
VEHICLE_STOLEN, VEHICLE_SCRAPPED, VEHICLE_TRANSFERRED = "stolen", "scrapped", "transferred"


def _vehicle_status_label(status: str) -> Bi:
    from jiaoguan.registry.models import Vehicle  # rules import no models at load time (pure, no database)

    return cast(Bi, Vehicle.Status(status).label)  # the choices' labels are bi(...) pairs; the stubs say str


# What may follow what. Scrapped is final; a vehicle transferred out of the city can come back (转入); a stolen
# one is found or written off; seizure and mortgage are released.
VEHICLE_TRANSITIONS = StateMachine("registry.vehicle", {
    VEHICLE_NORMAL: {VEHICLE_MORTGAGED, VEHICLE_SEIZED, VEHICLE_STOLEN, VEHICLE_SCRAPPED, VEHICLE_TRANSFERRED},
    VEHICLE_MORTGAGED: {VEHICLE_NORMAL, VEHICLE_SEIZED, VEHICLE_STOLEN, VEHICLE_TRANSFERRED},
    VEHICLE_SEIZED: {VEHICLE_NORMAL, VEHICLE_MORTGAGED},
    VEHICLE_STOLEN: {VEHICLE_NORMAL, VEHICLE_SCRAPPED},
    VEHICLE_SCRAPPED: set(),
    VEHICLE_TRANSFERRED: {VEHICLE_NORMAL},
}, code="registry.vehicle_status", what=("车辆", "The vehicle"), labels=_vehicle_status_label)
# 转移登记 (and a new plate) is possible while the vehicle is in use here; a mortgage may stay on it (带押过户).
TRANSFERABLE_STATUSES = frozenset({VEHICLE_NORMAL, VEHICLE_MORTGAGED})


# --- Inspection schedule (检验周期) ---------------------------------------------------------------------------------


class InspectionRuleLike(Protocol):
    kind: str
    use: str
    from_year: int
    to_year: int | None
    interval_months: int
    on_site: bool


@dataclass(frozen=True)
class InspectionStep:
    """One row of the schedule (the same shape as the InspectionRule model)."""

    kind: str
    use: str
    from_year: int
    to_year: int | None
    interval_months: int
    on_site: bool = True
    note: str = ""


_S = InspectionStep
# The schedules, each a list of (from_year, to_year, interval_months, on_site, note) rows.
SCHEDULE_PRIVATE_SMALL = "private_small"
SCHEDULE_COMMERCIAL_PASSENGER = "commercial_passenger"
SCHEDULE_NON_COMMERCIAL_LARGE = "non_commercial_large_passenger"
SCHEDULE_GOODS = "goods"
SCHEDULE_MOTORCYCLE = "motorcycle"
INSPECTION_SCHEDULES: dict[str, tuple[tuple[int, int | None, int, bool, str], ...]] = {
    # 2022 reform for non-commercial small passenger cars: marks online in years 2, 4 and 8, on-site tests in
    # years 6 and 10, then yearly. Year 8 follows the published guidance (第2、4、8年申领检验标志).
    SCHEDULE_PRIVATE_SMALL: (
        (1, 4, 24, False, "第2、4年网上申领检验标志 online mark in years 2 and 4"),
        (5, 6, 24, True, "第6年上线检验 on-site test in year 6"),
        (7, 8, 24, False, "第8年网上申领检验标志 online mark in year 8"),
        (9, 10, 24, True, "第10年上线检验 on-site test in year 10"),
        (11, None, 12, True, "10年以上每年检验 yearly after 10 years"),
    ),
    # commercial passenger (taxi, ride-hailing, coach, public bus, driving school): yearly for 5 years, then
    # every 6 months
    SCHEDULE_COMMERCIAL_PASSENGER: (
        (1, 5, 12, True, "营运载客5年内每年检验 commercial passenger: yearly for 5 years"),
        (6, None, 6, True, "超过5年每6个月 then every 6 months"),
    ),
    # large and medium non-commercial passenger vehicles: as trucks (大中型非营运载客汽车10年内每年)
    SCHEDULE_NON_COMMERCIAL_LARGE: (
        (1, 10, 12, True, "大中型非营运载客10年内每年 yearly for 10 years"),
        (11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ),
    SCHEDULE_GOODS: (
        (1, 10, 12, True, "载货汽车、挂车10年内每年检验 trucks and trailers: yearly for 10 years"),
        (11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ),
    SCHEDULE_MOTORCYCLE: (
        (1, 4, 24, True, "摩托车4年内每2年 motorcycles: every 2 years for 4 years"),
        (5, None, 12, True, "超过4年每年 then yearly"),
    ),
}
VEHICLE_KINDS = ("small_car", "bus", "truck", "trailer", "motorcycle")  # = Vehicle.Kind (a test checks)
VEHICLE_USES = ("private", "passenger_commercial", "taxi", "freight", "bus_service", "learner", "official")
_NON_COMMERCIAL_USES = ("private", "official")
# Which schedule every (kind, use) follows: written out for every pair, so no combination falls through to a
# schedule by accident (a police or government bus is non-commercial like a private one, not a coach).
# Commercial uses of passenger vehicles (including a small car or bus registered for freight or as a learner
# car: 营运) take the commercial-passenger schedule; trucks and trailers the goods one whatever their use;
# motorcycles theirs.
INSPECTION_SCHEDULE_FOR: dict[tuple[str, str], str] = {
    **{("small_car", use): SCHEDULE_PRIVATE_SMALL if use in _NON_COMMERCIAL_USES else SCHEDULE_COMMERCIAL_PASSENGER
       for use in VEHICLE_USES},
    **{("bus", use): SCHEDULE_NON_COMMERCIAL_LARGE if use in _NON_COMMERCIAL_USES else SCHEDULE_COMMERCIAL_PASSENGER
       for use in VEHICLE_USES},
    **{("truck", use): SCHEDULE_GOODS for use in VEHICLE_USES},
    **{("trailer", use): SCHEDULE_GOODS for use in VEHICLE_USES},
    **{("motorcycle", use): SCHEDULE_MOTORCYCLE for use in VEHICLE_USES},
}
DEFAULT_INSPECTION_RULES: tuple[InspectionStep, ...] = tuple(
    _S(kind, use, f, t, m, on, note)
    for (kind, use), schedule in INSPECTION_SCHEDULE_FOR.items()
    for f, t, m, on, note in INSPECTION_SCHEDULES[schedule]
)


@dataclass(frozen=True)
class InspectionPoint:
    due: dt.date  # 检验有效期至: last day of the due month
    months: int  # months after registration
    on_site: bool  # False: the mark is applied for online (免检)


def rules_for(kind: str, use: str, rules: Iterable[InspectionRuleLike]) -> list[InspectionRuleLike]:
    """The rows that apply to a vehicle: those for its exact use, else those for any use; by from_year."""
    rows = [r for r in rules if r.kind == kind]
    exact = [r for r in rows if r.use == use]
    chosen = exact or [r for r in rows if not r.use]
    return sorted(chosen, key=lambda r: r.from_year)


def inspection_points(*, registration_date: dt.date, kind: str, use: str,
                      rules: Iterable[InspectionRuleLike]) -> Iterator[InspectionPoint]:
    """Every due point of the vehicle's schedule in order (endless when the last row has no end)."""
    last = 0
    for rule in rules_for(kind, use, rules):
        if rule.interval_months <= 0:
            continue
        m = (rule.from_year - 1) * 12 + rule.interval_months
        limit = None if rule.to_year is None else rule.to_year * 12
        while limit is None or m <= limit:
            if m > last:
                last = m
                yield InspectionPoint(month_end(add_months(registration_date, m)), m, bool(rule.on_site))
            m += rule.interval_months


def next_inspection_due(*, registration_date: dt.date, kind: str, use: str,
                        rules: Iterable[InspectionRuleLike], after: dt.date) -> InspectionPoint | None:
    """The first due point strictly after ``after`` (None when no rule covers the vehicle, or its schedule ends).

    At registration pass the registration date; after an inspection, the due date it satisfied."""
    rows = list(rules)
    for point in inspection_points(registration_date=registration_date, kind=kind, use=use, rules=rows):
        if point.due > after:
            return point
    return None


def inspection_point_on(*, registration_date: dt.date, kind: str, use: str,
                        rules: Iterable[InspectionRuleLike], due: dt.date) -> InspectionPoint | None:
    """The schedule point a stored due date corresponds to (the first point on or after it)."""
    return next_inspection_due(registration_date=registration_date, kind=kind, use=use, rules=rules,
                               after=due - dt.timedelta(days=1))


INSPECTION_SOON_DAYS = 90
INSPECTION_OK = "ok"
INSPECTION_DUE_SOON = "due_soon"
INSPECTION_OVERDUE = "overdue"
INSPECTION_LABELS: dict[str, tuple[str, str]] = {
    INSPECTION_OK: ("检验有效", "Inspection valid"),
    INSPECTION_DUE_SOON: ("即将到期，请按时检验", "Inspection due soon"),
    INSPECTION_OVERDUE: ("逾期未检验", "Inspection overdue"),
}


@dataclass(frozen=True)
class InspectionStatus:
    code: str
    zh: str
    en: str
    days_left: int  # negative when overdue
    online_mark: bool  # the next due point is an online mark (免检), not an on-site test


def inspection_status(*, due: dt.date, on: dt.date, on_site: bool = True) -> InspectionStatus:
    """ok / due_soon (within 90 days, due day included) / overdue (after the due day)."""
    days = (due - on).days
    if days < 0:
        code = INSPECTION_OVERDUE
    elif days <= INSPECTION_SOON_DAYS:
        code = INSPECTION_DUE_SOON
    else:
        code = INSPECTION_OK
    zh, en = INSPECTION_LABELS[code]
    if not on_site and code != INSPECTION_OK:
        zh, en = zh + "（免检，网上申领检验标志）", en + " (exempt: apply for the mark online)"
    return InspectionStatus(code, zh, en, days, not on_site)


def inspection_date_refusal(*, due: dt.date, inspected_on: dt.date, on: dt.date) -> tuple[str, str, str] | None:
    """Why an inspection on ``inspected_on`` cannot be recorded against a vehicle due on ``due`` — (code, zh, en) —
    or None: not in the future, and not more than 90 days before the due date. The same for a test at one of the
    city's stations and for one done in another city (异地检验)."""
    if inspected_on > on:
        return ("inspection.date_in_future", "检验日期不能晚于今天", "The inspection date cannot be in the future")
    if inspected_on < due - dt.timedelta(days=INSPECTION_SOON_DAYS):
        return ("inspection.too_early", "检验有效期满前3个月内方可检验",
                "Inspection is possible in the 3 months before the due date")
    return None


# --- Compulsory insurance (交强险) ----------------------------------------------------------------------------------

INSURANCE_SOON_DAYS = 30
INSURANCE_VALID = "valid"
INSURANCE_EXPIRING = "expiring"
INSURANCE_EXPIRED = "expired"
INSURANCE_NONE = "none"
INSURANCE_LABELS: dict[str, tuple[str, str]] = {
    INSURANCE_VALID: ("交强险有效", "Compulsory insurance valid"),
    INSURANCE_EXPIRING: ("交强险即将到期", "Compulsory insurance expiring soon"),
    INSURANCE_EXPIRED: ("交强险已过期", "Compulsory insurance expired"),
    INSURANCE_NONE: ("无交强险记录", "No compulsory insurance"),
}


@dataclass(frozen=True)
class InsuranceStatus:
    code: str
    zh: str
    en: str
    covered_until: dt.date | None  # last day of continuous cover from ``on`` (None when not covered)
    insured: bool


def insurance_status(*, periods: Sequence[tuple[dt.date, dt.date]], on: dt.date) -> InsuranceStatus:
    """From the (starts_on, ends_on) of a vehicle's compulsory policies: valid, expiring (continuous cover
    ends within 30 days), expired (had cover, none now) or none. Back-to-back renewals count as continuous."""
    ordered = sorted(periods)
    covered_until: dt.date | None = None
    for start, end in ordered:
        if covered_until is None:
            if start <= on <= end:
                covered_until = end
        elif start <= covered_until + dt.timedelta(days=1):
            covered_until = max(covered_until, end)
    if covered_until is not None:
        code = INSURANCE_EXPIRING if (covered_until - on).days <= INSURANCE_SOON_DAYS else INSURANCE_VALID
    elif any(end < on for _, end in ordered):
        code = INSURANCE_EXPIRED
    else:
        code = INSURANCE_NONE
    zh, en = INSURANCE_LABELS[code]
    return InsuranceStatus(code, zh, en, covered_until, covered_until is not None)
