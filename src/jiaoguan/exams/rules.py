"""Pure rules of driving-test booking (DOMAIN §6; 公安部令第162号 第四十条–第四十六条): no database, no clock.
Everything takes its dates as arguments; the working-day calendar is passed in as a function so the rules can
be tested with any calendar (services pass ``core.workdays.add_workdays``).

Subjects (考试科目)
    "1" 科目一 道路交通安全法律法规和相关知识 (theory), "2" 科目二 场地驾驶技能 (field),
    "3" 科目三 道路驾驶技能 (road driving), "4" 科目三 安全文明驾驶常识 (commonly called 科目四).

Order (``eligible_subjects``), as 第162号令 lets a candidate go:
    科目一 first; once it is passed, 科目二 and 科目三道路驾驶 may be booked in either order (a city that can
    may even hold both; each is booked on its own here); 安全文明驾驶常识 ("科目四") only after both 科目二 and
    科目三道路驾驶 are passed. A passed subject is never booked again; when all four are passed the permit is
    complete (the licence is issued by the registry, outside this app).

Booking limit (``attempts_left``)
    Within the permit's validity, 科目二 and 科目三道路驾驶 may each be booked at most 5 times. A "booking" is a
    seat the allocation gave (an allocated application): one that was taken, missed (no-show) or later cancelled
    by the citizen all count; a seat that staff or the system cancelled (a venue closed) does not, since the
    candidate lost nothing by their own doing. 科目一 and 科目四 have no limit.

Validity (``permit_valid_until``)
    A learner's permit (学习驾驶证明) is valid 3 years from the day the application to learn was accepted: the
    last valid day is the day before the third anniversary (29 February → 28 February). An exam must take place
    on or before that day.

Booking window (``booking_closes_at``)
    The window closes 3 working days before the exam, at the first instant of that working day: for an exam
    on date D, let W = the 3rd working day counted backwards from D (D itself not counted); the window closes at
    00:00 (Asia/Shanghai) on W. Example: an exam on Thursday 2026-11-26 → W = Monday 2026-11-23 → booking closes
    at 2026-11-23 00:00, i.e. the last moment to apply or withdraw is Sunday 22 November 23:59:59. The three
    working days W, W+1, W+2 (Mon–Wed) are left for the allocation, its publication and the candidates' notice.

Cancellation deadline (``cancel_until``)
    "No later than 1 day before the exam": a candidate may cancel an allocated seat until the end of the day
    before the exam day, i.e. until 00:00 (Asia/Shanghai) of the exam day. Cancelling at 23:59 the evening
    before is allowed; on the exam day itself it is not.

Sort time (``sort_time``, DOMAIN §6)
    Candidates are ranked by a sort time, earlier first (ties: who applied first). The candidates are
    (1) when the application to learn was accepted (what the first 科目一 booking is ranked by), (2) the
    candidate's last exam (any subject of this permit; its session's start time, so two candidates whose last
    exams fell on the same day keep the order of their sessions), (3) when the candidate last cancelled an
    allocated seat (the moment of cancelling) or missed an exam (the session's start). The latest of those that exist counts: someone who just sat an exam, or
    just gave a seat back, waits behind those who have waited longer.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from jiaoguan.core.i18n import Bi, bi
from jiaoguan.core.states import StateMachine

SUBJECT_1, SUBJECT_2, SUBJECT_3, SUBJECT_4 = "1", "2", "3", "4"
SUBJECTS: tuple[str, ...] = (SUBJECT_1, SUBJECT_2, SUBJECT_3, SUBJECT_4)


@dataclass(frozen=True)
class SubjectInfo:
    code: str
    short_zh: str
    short_en: str
    zh: str
    en: str

    @property
    def label(self) -> Bi:
        return bi(self.short_zh, self.short_en)


SUBJECT_INFO: dict[str, SubjectInfo] = {s.code: s for s in (
    SubjectInfo("1", "科目一", "Subject 1", "道路交通安全法律法规和相关知识考试", "Theory test (traffic law)"),
    SubjectInfo("2", "科目二", "Subject 2", "场地驾驶技能考试", "Field driving skills test"),
    SubjectInfo("3", "科目三", "Subject 3", "道路驾驶技能考试", "Road driving test"),
    SubjectInfo("4", "科目四", "Subject 4", "安全文明驾驶常识考试（科目三安全文明）", "Safe and courteous driving test"),
)}

LIMITED_SUBJECTS = frozenset({SUBJECT_2, SUBJECT_3})
MAX_BOOKINGS = 5
VALID_YEARS = 3
CLOSE_WORKDAYS_BEFORE = 3

# A learner's permit: active until every subject is passed (completed) or it is revoked.
PERMIT = StateMachine("exams.permit", {"active": ("completed", "revoked"), "completed": (), "revoked": ()},
                      code="exams.permit_inactive", what=("学习驾驶证明", "The permit"))


# --- Order -------------------------------------------------------------------------------------------------------

PREREQUISITES: dict[str, frozenset[str]] = {
    SUBJECT_1: frozenset(),
    SUBJECT_2: frozenset({SUBJECT_1}),
    SUBJECT_3: frozenset({SUBJECT_1}),
    SUBJECT_4: frozenset({SUBJECT_1, SUBJECT_2, SUBJECT_3}),
}


def eligible_subjects(passed: Iterable[str]) -> list[str]:
    """The subjects a candidate who has passed ``passed`` may book next, in subject order."""
    done = set(passed)
    return [s for s in SUBJECTS if s not in done and PREREQUISITES[s] <= done]


def is_complete(passed: Iterable[str]) -> bool:
    return set(SUBJECTS) <= set(passed)


# --- Booking limit -----------------------------------------------------------------------------------------------

def attempts_left(subject: str, used: int) -> int | None:
    """Bookings still allowed for ``subject`` after ``used`` allocated ones; None when the subject has no limit."""
    if subject not in LIMITED_SUBJECTS:
        return None
    return max(0, MAX_BOOKINGS - max(0, used))


def booking_allowed(subject: str, used: int) -> bool:
    left = attempts_left(subject, used)
    return left is None or left > 0


def counts_as_booking(*, status: str, cancelled_by: str) -> bool:
    """Does an allocated seat count towards the 5-booking limit? Everything but a staff/system cancellation."""
    return not (status == "cancelled" and cancelled_by in ("staff", "system"))


# --- Dates -------------------------------------------------------------------------------------------------------

def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February → 28 February when the target year has none."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def permit_valid_until(accepted_on: dt.date) -> dt.date:
    """The last day a permit accepted on ``accepted_on`` is valid (the day before the 3rd anniversary)."""
    return add_years(accepted_on, VALID_YEARS) - dt.timedelta(days=1)


def permit_valid_on(*, accepted_on: dt.date, day: dt.date) -> bool:
    return accepted_on <= day <= permit_valid_until(accepted_on)


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)


def booking_closes_at(*, exam_date: dt.date, tz: dt.tzinfo,
                      add_workdays: Callable[[dt.date, int], dt.date]) -> dt.datetime:
    """00:00 of the working day that is 3 working days before the exam date (see the module's docstring)."""
    return _midnight(add_workdays(exam_date, -CLOSE_WORKDAYS_BEFORE), tz)


def cancel_until(*, exam_date: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """Cancelling is allowed until 00:00 of the exam day (the end of the day before)."""
    return _midnight(exam_date, tz)


# --- Ranking -----------------------------------------------------------------------------------------------------

def sort_time(*, accepted_at: dt.datetime, last_exam_at: dt.datetime | None = None,
              last_cancel_or_no_show_at: dt.datetime | None = None) -> dt.datetime:
    """DOMAIN §6's sort time: the latest of the acceptance, the last exam and the last cancellation/no-show.
    For a first 科目一 booking (no exam, no cancellation yet) it is the acceptance time."""
    return max(t for t in (accepted_at, last_exam_at, last_cancel_or_no_show_at) if t is not None)


def progress(passed: Mapping[str, object], used: Mapping[str, int]) -> list[dict]:
    """One row per subject: passed?, bookable now?, bookings used and left (科目二/三)."""
    eligible = set(eligible_subjects(passed))
    rows = []
    for s in SUBJECTS:
        info = SUBJECT_INFO[s]
        n = used.get(s, 0)
        rows.append({"subject": s, "label": info.label, "short_zh": info.short_zh, "short_en": info.short_en,
                     "zh": info.zh, "en": info.en, "passed": s in passed, "passed_at": passed.get(s),
                     "eligible": s in eligible, "bookings_used": n, "bookings_left": attempts_left(s, n)})
    return rows
