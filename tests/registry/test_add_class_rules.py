"""增驾 rules (公安部令第162号第十五条, registry.rules): the routes of a class held long enough, the clean scoring cycles,
ages, and per-class probation."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.registry import rules

BIRTH = dt.date(1980, 5, 1)


def refusal(classes, new, *, held_years=10.0, on=dt.date(2026, 12, 8), since=None, full=False, status="valid",
            birth=BIRTH):
    first = on - dt.timedelta(days=int(held_years * 365.25))
    got = rules.add_class_refusal(classes=classes, class_since=since or {}, first_issue_date=first, status=status,
                                  birth_date=birth, new_class=new, on=on, full_score_in_window=full)
    return got[0] if got else None


@given(years=st.integers(0, 8), extra_days=st.integers(-3, 3),
       case=st.sampled_from([("C6", "C1", 1), ("B1", "C1", 2), ("B1", "B2", 2), ("A2", "B2", 2), ("A2", "A1", 1),
                             ("A1", "B1", 2), ("A1", "B2", 3), ("A1", "A2", 1)]))
def test_a_class_held_long_enough(years, extra_days, case):
    new, held, need = case
    on = dt.date(2026, 12, 8)
    first = rules.add_years(on, -years) - dt.timedelta(days=extra_days)
    got = rules.add_class_refusal(classes=[held], class_since={}, first_issue_date=first, status="valid",
                                  birth_date=BIRTH, new_class=new, on=on, full_score_in_window=False)
    long_enough = rules.add_years(first, need) <= on
    assert (got is None) == long_enough, (got, first)
    assert got is None or got[0] == "licence.class_prerequisite"


def test_routes_and_refusals():
    assert refusal(["C1"], "B2", held_years=0.2) is None  # B2: no class needs to be held first
    assert refusal(["C1"], "C2") == "licence.class_held"  # C1 permits C2
    assert refusal(["C1"], "C5") == "licence.class_unknown"
    assert refusal(["C1"], "B2", status="suspended") == "licence.not_valid"
    assert refusal(["C1"], "B2", full=True) == "licence.class_full_score"
    assert refusal(["C1"], "A1", birth=dt.date(2005, 1, 1)) == "licence.class_age"  # 21 < 22
    assert refusal(["C1"], "B1") is None and refusal(["C1"], "A2") == "licence.class_prerequisite"
    # a class added later counts from when it was added, not the first issue
    assert refusal(["B2", "C1"], "A2", since={"B2": "2025-06-01"}) == "licence.class_prerequisite"
    assert refusal(["B2", "C1"], "A2", since={"B2": "2024-06-01"}) is None
    # a class permitted by a higher one counts (B2 permits C1: C6 needs C1 or C2 for a year)
    assert refusal(["B2"], "C6") is None


@given(first=st.dates(dt.date(2000, 1, 1), dt.date(2025, 12, 31)), days=st.integers(0, 6000),
       new=st.sampled_from(["B2", "E", "B1", "A2", "A1", "C6"]))
def test_the_clean_window(first, days, new):
    on = first + dt.timedelta(days=days)
    start = rules.add_class_window_start(first_issue_date=first, new_class=new, on=on)
    cycle_start = rules.scoring_cycle(first, on)[0]
    n = rules.ADD_CLASS_RULES.get(new, rules.ADD_CLASS_DEFAULT).clean_cycles
    assert first <= start <= cycle_start and rules.is_cycle_start(first, start)
    cycles = 0
    day = start
    while day < cycle_start:
        day = rules.scoring_cycle(first, day)[1] + dt.timedelta(days=1)
        cycles += 1
    if start == first:  # a licence younger than the window: every cycle it has had
        assert cycles <= n
    else:
        assert cycles == n


def test_classes_after_adding_keep_the_old_ones_in_table_order():
    assert rules.classes_after_adding(["C1", "E"], "B2") == ["B2", "C1", "E"]


@pytest.mark.parametrize("until_kind,known", [("first", True), ("extended", True), ("other", False)])
def test_probation_classes_when_the_record_does_not_say(until_kind, known):
    first = dt.date(2026, 3, 1)
    end = rules.probation_end(first)
    until = {"first": end, "extended": rules.probation_extended_until(end), "other": dt.date(2027, 8, 1)}[until_kind]
    got = rules.probation_classes_default(classes=["C1", "E"], first_issue_date=first, probation_until=until)
    assert got == (["C1", "E"] if known else [])
    assert rules.probation_cancels(probation_until=until, probation_classes=got, on=dt.date(2026, 12, 8)) == got
    assert rules.probation_cancels(probation_until=until, probation_classes=["C1"], on=until + dt.timedelta(1)) == []


def test_probation_start_and_extension():
    since = {"B2": "2025-05-01"}
    start = rules.probation_start(probation_classes=["B2"], class_since=since, first_issue_date=dt.date(2010, 1, 1))
    assert start == dt.date(2025, 5, 1)
    assert not rules.probation_extended(probation_until=rules.probation_end(start), start=start)
    assert rules.probation_extended(probation_until=rules.probation_extended_until(rules.probation_end(start)),
                                    start=start)
    assert rules.probation_start(probation_classes=["C1"], class_since={}, first_issue_date=dt.date(2010, 1, 1)) \
        == dt.date(2010, 1, 1)


def test_no_online_application_while_a_probation_runs():
    on = dt.date(2026, 12, 8)
    got = rules.add_class_refusal(classes=["C1"], class_since={}, first_issue_date=dt.date(2026, 6, 1),
                                  status="valid", birth_date=BIRTH, new_class="E", on=on, full_score_in_window=False,
                                  probation_until=dt.date(2027, 5, 31))
    assert got is not None and got[0] == "licence.class_in_probation"


@pytest.mark.django_db
def test_a_class_granted_during_a_running_probation_keeps_both_in_probation(clock):
    """C1 and E learnt together: E's permit completes a month after C1's licence; C1's probation must not end."""
    from jiaoguan.core.audit import Actor
    from jiaoguan.registry import services
    from tests.factories import make_licence, make_person

    clock.freeze(dt.datetime(2026, 12, 8, 10, 0))
    person = make_person()
    first = dt.date(2026, 11, 8)
    licence = make_licence(person=person, classes="C1", first_issue=first, probation_until=rules.probation_end(first))
    assert licence.probation_classes == "C1"
    services.licence_class_add(person=person, licence_class="E", on=clock.today(), actor=Actor.system("t"),
                               reason="科目全部合格")
    licence.refresh_from_db()
    assert licence.classes == "C1 E" and licence.probation_classes == "C1 E"
    assert licence.probation_until == rules.probation_end(clock.today())


def test_a_postponed_review_stays_owed_and_does_not_move_the_next_cycles():
    first, cycle_end = dt.date(2015, 6, 10), dt.date(2025, 6, 9)
    until = dt.date(2027, 6, 1)
    # a year later, the next cycle had no points (the holder was abroad): the postponed review is still owed
    due = rules.review_due(classes=["B2"], first_issue_date=first, on=dt.date(2026, 7, 1), points_of_cycle=0,
                           reviewed_through=None, postponed_until=until, postponed_for=cycle_end)
    assert due is not None and (due.cycle_end, due.deadline) == (cycle_end, until)
    # once recorded, the next cycle's review has its own 30 days
    due = rules.review_due(classes=["B2"], first_issue_date=first, on=dt.date(2026, 7, 1), points_of_cycle=2,
                           reviewed_through=cycle_end, postponed_until=until, postponed_for=cycle_end)
    assert due is not None and due.cycle_end == dt.date(2026, 6, 9) and due.deadline == dt.date(2026, 7, 9)
    report = rules.health_report_due(birth_date=dt.date(1950, 1, 1), first_issue_date=first, on=dt.date(2026, 7, 1),
                                     reported_through=None, postponed_until=until, postponed_for=cycle_end)
    assert report is not None and report.cycle_end == cycle_end and report.deadline == until
