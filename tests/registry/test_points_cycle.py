"""Points belong to a scoring cycle: the summary shows them only for the current one, and the rollover sweep clears
them (audited) when a cycle ends, keeping what DOMAIN §3 says carries over."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.models import AuditEntry
from jiaoguan.core.scheduler import jobs
from jiaoguan.registry import rules, selectors, services
from jiaoguan.registry.imports import registry_import
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.tasks import points_cycle_rollover
from tests.factories import make_licence, make_person

pytestmark = pytest.mark.django_db
CLERK = Actor(id=7, label="clerk7", role="clerk")
FIRST = dt.date(2018, 3, 20)  # cycles run 03-20 .. 03-19


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))


def holder(points: int = 0, **kwargs) -> DrivingLicence:
    return make_licence(person=make_person(), first_issue=FIRST, valid_until=None, cycle_points=points, **kwargs)


# --- the summary ---------------------------------------------------------------------------------------------------

def test_factory_points_belong_to_the_current_cycle():
    lic = holder(5)
    assert lic.points_cycle_start == dt.date(2026, 3, 20)
    s = selectors.licence_summary(licence=lic)
    assert (s.points, s.points_left, s.points_from_previous_cycle, s.previous_cycle_points) == (5, 7, False, 0)
    assert (s.cycle_start, s.cycle_end, s.points_cycle_start) == (dt.date(2026, 3, 20), dt.date(2027, 3, 19),
                                                                    dt.date(2026, 3, 20))


def test_points_of_an_ended_cycle_are_not_shown_as_this_cycles():
    lic = holder(5)
    s = selectors.licence_summary(licence=lic, on=dt.date(2027, 3, 19))  # the cycle's last day
    assert s.points == 5 and not s.points_from_previous_cycle
    s = selectors.licence_summary(licence=lic, on=dt.date(2027, 3, 20))  # the next cycle, before any rollover
    assert (s.points, s.points_left) == (0, 12)
    assert s.points_from_previous_cycle and s.previous_cycle_points == 5  # for staff
    assert s.points_cycle_start == dt.date(2026, 3, 20) and s.cycle_start == dt.date(2027, 3, 20)
    # no points on file: nothing to flag
    assert not selectors.licence_summary(licence=holder(0), on=dt.date(2027, 4, 1)).points_from_previous_cycle


def test_licence_issue_starts_the_points_in_the_current_cycle():
    person = make_person(birth=dt.date(1990, 1, 1))
    lic = services.licence_issue(person=person, classes="C1", first_issue_date=dt.date(2025, 1, 5), actor=CLERK)
    assert (lic.cycle_points, lic.points_cycle_start) == (0, dt.date(2026, 1, 5))


# --- the rollover sweep --------------------------------------------------------------------------------------------

def test_the_violations_ledger_not_this_sweep_runs_at_cycle_end():
    # The violations app's points ledger opens each new cycle with what carries over (unpaid fines) and mirrors
    # it onto the licence; a second job clearing the same figure would contradict it. The sweep stays callable
    # for a city that runs the registry without the violations app.
    import jiaoguan.violations.tasks  # noqa: F401 - registers its periodic jobs, as the scheduler's autodiscovery does

    names = {j.name for j in jobs()}
    assert "registry.points_cycle_rollover" not in names and "violations.points_cycles_open" in names


def test_cycle_end_clears_points_audited_and_only_once(clock):
    five, none = holder(5), holder(0)
    assert points_cycle_rollover.apply().get() == {"cleared": 0, "carried": 0, "moved": 0}
    clock.freeze(dt.date(2027, 3, 19))
    assert points_cycle_rollover.apply().get() == {"cleared": 0, "carried": 0, "moved": 0}
    clock.freeze(dt.date(2027, 3, 20))
    assert points_cycle_rollover.apply().get() == {"cleared": 1, "carried": 0, "moved": 1}
    assert points_cycle_rollover.apply().get() == {"cleared": 0, "carried": 0, "moved": 0}  # idempotent
    five.refresh_from_db()
    none.refresh_from_db()
    assert (five.cycle_points, five.points_cycle_start) == (0, dt.date(2027, 3, 20))
    assert (none.cycle_points, none.points_cycle_start) == (0, dt.date(2027, 3, 20))
    [row] = AuditEntry.objects.filter(action="licence.points_rollover")
    assert row.object_id == str(five.pk) and row.subject_person_id == five.person_id and row.actor_role == "system"
    assert row.old == {"cycle_points": 5, "points_cycle_start": "2026-03-20"}
    assert row.new == {"cycle_points": 0, "points_cycle_start": "2027-03-20"}
    assert "清除" in row.reason
    s = selectors.licence_summary(licence=five)
    assert s.points == 0 and not s.points_from_previous_cycle
    assert audit_verify().ok


def test_a_full_score_is_not_cleared_by_the_cycle_end(clock):
    full = holder(12, status="suspended")
    clock.freeze(dt.date(2027, 4, 1))
    assert services.licences_points_rollover()["carried"] == 1
    full.refresh_from_db()
    assert (full.cycle_points, full.points_cycle_start) == (12, dt.date(2027, 3, 20))
    assert selectors.licence_summary(licence=full).points == 12


def test_the_unpaid_fines_hook_decides_what_carries_over(clock):
    lic, other = holder(7), holder(4)
    seen = []

    def unpaid(licence, start, end):
        seen.append((licence.pk, start, end))
        return 3 if licence.pk == lic.pk else 99  # more than the points: bounded by them

    clock.freeze(dt.date(2027, 3, 20))
    counts = services.licences_points_rollover(unpaid_fine_points=unpaid)
    assert counts == {"cleared": 0, "carried": 2, "moved": 0}
    assert sorted(seen) == sorted([(lic.pk, dt.date(2026, 3, 20), dt.date(2027, 3, 19)),
                                   (other.pk, dt.date(2026, 3, 20), dt.date(2027, 3, 19))])
    lic.refresh_from_db()
    other.refresh_from_db()
    assert (lic.cycle_points, other.cycle_points) == (3, 4)
    assert lic.points_cycle_start == dt.date(2027, 3, 20)
    row = AuditEntry.objects.get(action="licence.points_rollover", object_id=str(lic.pk))
    assert row.new["cycle_points"] == 3 and "罚款" in row.reason


def test_the_default_hook_knows_of_no_fines():
    assert services.no_unpaid_fine_points(holder(5), dt.date(2026, 3, 20), dt.date(2027, 3, 19)) == 0
    assert "no fines" in services.no_unpaid_fine_points.__doc__


def test_several_missed_cycles_roll_into_the_current_one(clock):
    lic = holder(6, points_cycle_start=dt.date(2023, 3, 20))
    s = selectors.licence_summary(licence=lic)
    assert s.points == 0 and s.points_from_previous_cycle and s.previous_cycle_points == 6
    assert services.licences_points_rollover()["cleared"] == 1
    lic.refresh_from_db()
    assert lic.points_cycle_start == dt.date(2026, 3, 20)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2024, 12, 31)),
       st.integers(min_value=0, max_value=3 * 366))
@settings(max_examples=60, deadline=None)
def test_after_the_sweep_points_always_belong_to_the_current_cycle(first_issue, days):
    from jiaoguan.core import clock as core_clock

    core_clock.freeze(dt.date(2025, 1, 1))
    lic = make_licence(person=make_person(), first_issue=first_issue, valid_until=None, cycle_points=3)
    on = dt.date(2025, 1, 1) + dt.timedelta(days=days)
    services.licences_points_rollover(on=on)
    lic.refresh_from_db()
    assert lic.points_cycle_start == rules.scoring_cycle(first_issue, on)[0]
    rolled = rules.scoring_cycle(first_issue, on)[0] != rules.scoring_cycle(first_issue, dt.date(2025, 1, 1))[0]
    assert lic.cycle_points == (0 if rolled else 3)
    assert selectors.licence_summary(licence=lic, on=on).points == lic.cycle_points


# --- the CSV import fills the cycle ---------------------------------------------------------------------------------

ID1 = make_id_number("440304", dt.date(1980, 3, 14), 371)
ID2 = make_id_number("440306", dt.date(1985, 10, 2), 58)


def test_the_import_records_which_cycle_the_points_belong_to():
    registry_import(kind="persons", data=f"身份证号码,姓名\n{ID1},王建国\n{ID2},陈美玲\n".encode(),
                    actor=Actor.system("t"))
    header = "身份证号码,档案编号,准驾车型,初次领证日期,有效期起始日期,有效期至,累积记分,记分周期起始日期\n"
    report = registry_import(kind="licences", actor=Actor.system("t"), data=(
        header
        + f"{ID1},440300008001,C1,2018-03-20,2024-03-20,2034-03-20,4,\n"  # 2: no cycle given: the current one
        + f"{ID2},440300008002,C1,2018-03-20,2024-03-20,2034-03-20,9,2025-03-20\n"  # 3: an earlier cycle
        + f"{ID2},440300008003,C1,2018-03-20,2024-03-20,2034-03-20,9,2025-03-21\n"  # 4: not a cycle start
    ).encode())
    assert report.created == 2
    assert [(e.line, e.field, e.code) for e in report.errors] == [(4, "points_cycle_start",
                                                                    "import.points_cycle_start")]
    by_number = {lic.file_number: lic for lic in DrivingLicence.objects.all()}
    assert (by_number["440300008001"].cycle_points, by_number["440300008001"].points_cycle_start) == (
        4, dt.date(2026, 3, 20))
    stale = selectors.licence_summary(licence=by_number["440300008002"])
    assert stale.points == 0 and stale.points_from_previous_cycle and stale.previous_cycle_points == 9
