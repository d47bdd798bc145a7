"""registry.rules: pure functions, many cases (hypothesis)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jiaoguan.registry import rules

dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31))
leap_days = st.integers(min_value=1952, max_value=2088).filter(lambda y: y % 4 == 0 and (y % 100 or y % 400 == 0)).map(
    lambda y: dt.date(y, 2, 29))
codes = st.sampled_from(sorted(rules.LICENCE_CLASSES))


# --- Licence classes ----------------------------------------------------------------------------------------------

def test_the_regulation_table_as_listed():
    inc = {c.code: set(c.includes) for c in rules.LICENCE_CLASSES.values()}
    assert inc["A1"] == {"A3", "B1", "B2", "C1", "C2", "C3", "C4", "M"}
    assert inc["A2"] == {"B1", "B2", "C1", "C2", "C3", "C4", "C6", "M"}
    assert inc["A3"] == {"C1", "C2", "C3", "C4"}
    assert inc["B1"] == inc["B2"] == {"C1", "C2", "C3", "C4", "M"}
    assert inc["C1"] == {"C2", "C3", "C4"}
    assert inc["C3"] == {"C4"}
    assert inc["D"] == {"E", "F"} and inc["E"] == {"F"}
    for code in ("C2", "C4", "C5", "C6", "F", "M", "N", "P"):
        assert inc[code] == set(), code
    assert len(rules.LICENCE_CLASSES) == 17


def test_the_table_is_closed_under_inclusion():
    # every class a listed class includes is itself listed: the printed table needs no transitive reading
    for cls in rules.LICENCE_CLASSES.values():
        assert rules.classes_covered(cls.code) == {cls.code, *cls.includes}


@given(codes, codes)
def test_inclusion_is_transitive(a, b):
    if rules.may_drive(a, b):
        assert rules.classes_covered(b) <= rules.classes_covered(a)


@given(st.lists(codes, min_size=1, max_size=4))
def test_covered_is_the_union_of_each_class(held):
    union = set().union(*(rules.classes_covered(c) for c in held))
    assert rules.classes_covered(held) == union
    assert rules.classes_covered(" ".join(held)) == union


@given(codes)
def test_a_class_never_covers_a_higher_one(code):
    # no cycle: if a covers b and b covers a, they are the same class
    for other in rules.classes_covered(code):
        if other != code:
            assert code not in rules.classes_covered(other)


def test_may_drive_examples():
    assert rules.may_drive("C1", "C2") and rules.may_drive("C1", "c4")
    assert not rules.may_drive("C2", "C1")
    assert not rules.may_drive("C1", "E")
    assert rules.may_drive("C1 E", "F")
    assert rules.may_drive("A1", "C3") and rules.may_drive("A2", "C6") and not rules.may_drive("A1", "C6")
    assert not rules.may_drive("B2", "A3")


def test_parse_classes():
    assert rules.parse_classes("e c1") == ["C1", "E"]
    assert rules.parse_classes("C1,E") == ["C1", "E"]
    assert rules.parse_classes("C1、D") == ["C1", "D"]
    with pytest.raises(ValueError):
        rules.parse_classes("C7")
    with pytest.raises(ValueError):
        rules.parse_classes(" ")


@pytest.mark.parametrize("code,age,ok", [
    ("C1", 17, False), ("C1", 18, True), ("C1", 90, True), ("F", 85, True), ("C5", 70, True),
    ("D", 70, True), ("D", 71, False), ("E", 17, False), ("C6", 19, False), ("C6", 20, True), ("C6", 71, False),
    ("C3", 63, True), ("C3", 64, False), ("M", 18, True), ("B2", 19, False), ("B2", 20, True), ("B2", 64, False),
    ("A3", 20, True), ("N", 63, True), ("A1", 21, False), ("A1", 22, True), ("A2", 63, True), ("A2", 64, False),
])
def test_age_limits_from_2025(code, age, ok):
    assert rules.age_allows(code, age) is ok


@given(dates, dates)
def test_age_on(birth, on):
    assume(on >= birth)
    age = rules.age_on(birth, on)
    assert rules.add_years(birth, age) <= on or (birth.month, birth.day) == (2, 29)
    assert age >= 0


def test_age_of_someone_born_on_29_february():
    birth = dt.date(2004, 2, 29)
    assert rules.age_on(birth, dt.date(2022, 2, 28)) == 17
    assert rules.age_on(birth, dt.date(2022, 3, 1)) == 18
    assert rules.age_on(birth, dt.date(2024, 2, 29)) == 20


# --- Dates, validity, cycle ---------------------------------------------------------------------------------------

@given(dates, st.integers(min_value=0, max_value=30))
def test_add_years(day, years):
    later = rules.add_years(day, years)
    assert later.year == day.year + years
    if (day.month, day.day) == (2, 29) and (later.month, later.day) != (2, 29):
        assert (later.month, later.day) == (2, 28)
    else:
        assert (later.month, later.day) == (day.month, day.day)


@given(dates, st.integers(min_value=0, max_value=400))
def test_add_months_stays_in_the_target_month(day, months):
    later = rules.add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


@given(dates)
def test_validity_periods(valid_from):
    assert rules.validity_until(valid_from, "6y") == rules.add_years(valid_from, 6)
    assert rules.validity_until(valid_from, "10y") == rules.add_years(valid_from, 10)
    assert rules.validity_until(valid_from, "long") is None


def test_validity_steps():
    assert rules.validity_after_renewal("6y", full_score_in_period=False) == "10y"
    assert rules.validity_after_renewal("10y", full_score_in_period=False) == "long"
    assert rules.validity_after_renewal("6y", full_score_in_period=True) == "6y"
    assert rules.validity_after_renewal("10y", full_score_in_period=True) == "10y"
    assert rules.validity_after_renewal("long", full_score_in_period=True) == "long"


@given(st.lists(st.booleans(), max_size=6))
def test_validity_never_steps_back(full_scores):
    order = ["6y", "10y", "long"]
    current = "6y"
    for full in full_scores:
        nxt = rules.validity_after_renewal(current, full_score_in_period=full)
        assert order.index(nxt) >= order.index(current)
        assert (nxt == current) == (full or current == "long")
        current = nxt


@given(st.one_of(dates, leap_days), st.integers(min_value=0, max_value=20 * 366))
@settings(max_examples=400)
def test_scoring_cycle_properties(first_issue, offset):
    on = first_issue + dt.timedelta(days=offset)
    assume(on <= dt.date(2095, 1, 1))
    start, end = rules.scoring_cycle(first_issue, on)
    assert start <= on <= end
    assert 365 <= (end - start).days + 1 <= 366
    assert start >= first_issue
    # the start is an anniversary of the first issue (29 February -> 28 February in common years)
    k = start.year - first_issue.year
    assert start == rules.add_years(first_issue, k)
    # every day of the cycle gives the same cycle; the day after gives the next one
    assert rules.scoring_cycle(first_issue, start) == (start, end)
    assert rules.scoring_cycle(first_issue, end) == (start, end)
    nxt_start, _ = rules.scoring_cycle(first_issue, end + dt.timedelta(days=1))
    assert nxt_start == end + dt.timedelta(days=1)


def test_scoring_cycle_from_29_february():
    first = dt.date(2024, 2, 29)
    assert rules.scoring_cycle(first, dt.date(2024, 3, 1)) == (dt.date(2024, 2, 29), dt.date(2025, 2, 27))
    assert rules.scoring_cycle(first, dt.date(2025, 2, 28)) == (dt.date(2025, 2, 28), dt.date(2026, 2, 27))
    assert rules.scoring_cycle(first, dt.date(2028, 2, 28)) == (dt.date(2027, 2, 28), dt.date(2028, 2, 28))
    assert rules.scoring_cycle(first, dt.date(2028, 2, 29)) == (dt.date(2028, 2, 29), dt.date(2029, 2, 27))
    with pytest.raises(ValueError):
        rules.scoring_cycle(first, dt.date(2024, 2, 28))


def test_scoring_cycle_example():
    first = dt.date(2015, 5, 10)
    assert rules.scoring_cycle(first, dt.date(2026, 11, 21)) == (dt.date(2026, 5, 10), dt.date(2027, 5, 9))
    assert rules.scoring_cycle(first, dt.date(2026, 5, 9)) == (dt.date(2025, 5, 10), dt.date(2026, 5, 9))


@given(dates)
def test_probation_lasts_twelve_months(first_issue):
    end = rules.probation_end(first_issue)
    assert rules.in_probation(end, end) and not rules.in_probation(end, end + dt.timedelta(days=1))
    assert 364 <= (end - first_issue).days <= 365
    assert not rules.in_probation(None, first_issue)


@given(dates, st.integers(min_value=-400, max_value=400))
def test_renewal_window(valid_until, offset):
    on = valid_until + dt.timedelta(days=offset)
    assert rules.renewal_window_open(valid_until, on) is (-90 <= offset <= 0)
    assert not rules.renewal_window_open(None, on)


# --- Effective status ---------------------------------------------------------------------------------------------

@given(dates, st.integers(min_value=-800, max_value=800), st.sampled_from(["valid", "expired"]))
def test_effective_status_by_date(valid_until, offset, stored):
    on = valid_until + dt.timedelta(days=offset)
    status = rules.effective_status(stored=stored, valid_until=valid_until, on=on)
    if on <= valid_until:
        assert status == "valid"
    elif on <= rules.add_years(valid_until, 1):
        assert status == "expired"
    else:
        assert status == "cancelled"


@given(dates, st.sampled_from(["suspended", "revoked", "cancelled"]), st.integers(min_value=-800, max_value=800))
def test_staff_decisions_stand(valid_until, stored, offset):
    on = valid_until + dt.timedelta(days=offset)
    assert rules.effective_status(stored=stored, valid_until=valid_until, on=on) == stored


def test_long_term_licence_never_expires():
    assert rules.effective_status(stored="valid", valid_until=None, on=dt.date(2090, 1, 1)) == "valid"


def test_expiry_boundaries():
    vu = dt.date(2026, 3, 15)
    assert rules.effective_status(stored="valid", valid_until=vu, on=vu) == "valid"
    assert rules.effective_status(stored="valid", valid_until=vu, on=dt.date(2026, 3, 16)) == "expired"
    assert rules.effective_status(stored="valid", valid_until=vu, on=dt.date(2027, 3, 15)) == "expired"
    assert rules.effective_status(stored="valid", valid_until=vu, on=dt.date(2027, 3, 16)) == "cancelled"


# --- Inspection schedule ------------------------------------------------------------------------------------------

def _points(registered, kind, use, years=25):
    limit = rules.add_years(registered, years) + dt.timedelta(days=40)
    out = []
    for p in rules.inspection_points(registration_date=registered, kind=kind, use=use,
                                     rules=rules.DEFAULT_INSPECTION_RULES):
        if p.due > limit:
            break
        out.append(p)
    return out


def test_private_small_car_schedule():
    pts = _points(dt.date(2020, 5, 10), "small_car", "private", years=14)
    assert [(p.months, p.on_site) for p in pts] == [
        (24, False), (48, False), (72, True), (96, False), (120, True), (132, True), (144, True), (156, True),
        (168, True)]
    assert pts[0].due == dt.date(2022, 5, 31)  # the end of the due month
    assert pts[2].due == dt.date(2026, 5, 31)


@pytest.mark.parametrize("kind,use,expected", [
    ("small_car", "taxi", [12, 24, 36, 48, 60, 66, 72, 78]),
    ("bus", "passenger_commercial", [12, 24, 36, 48, 60, 66, 72, 78]),
    ("truck", "freight", [12 * k for k in range(1, 11)] + [126, 132]),
    ("bus", "private", [12 * k for k in range(1, 11)] + [126, 132]),
    ("motorcycle", "private", [24, 48, 60, 72, 84]),
])
def test_other_schedules(kind, use, expected):
    pts = _points(dt.date(2010, 1, 31), kind, use, years=12)
    assert [p.months for p in pts][:len(expected)] == expected
    assert all(p.on_site for p in pts)


schedule_kinds = st.sampled_from([("small_car", "private"), ("small_car", "official"), ("small_car", "taxi"),
                                  ("small_car", "learner"), ("bus", "passenger_commercial"), ("bus", "private"),
                                  ("truck", "freight"), ("trailer", "freight"), ("motorcycle", "private")])


@given(dates, schedule_kinds, st.integers(min_value=0, max_value=30 * 366))
@settings(max_examples=300)
def test_next_due_is_the_first_point_after(registered, kind_use, offset):
    kind, use = kind_use
    after = registered + dt.timedelta(days=offset)
    assume(after <= dt.date(2095, 1, 1))
    point = rules.next_inspection_due(registration_date=registered, kind=kind, use=use,
                                      rules=rules.DEFAULT_INSPECTION_RULES, after=after)
    assert point is not None and point.due > after
    assert point.due == rules.month_end(point.due)
    # no point of the schedule falls strictly between `after` and the answer
    for p in rules.inspection_points(registration_date=registered, kind=kind, use=use,
                                     rules=rules.DEFAULT_INSPECTION_RULES):
        if p.due >= point.due:
            break
        assert p.due <= after
    # the gap to the next point is one of the schedule's intervals
    again = rules.next_inspection_due(registration_date=registered, kind=kind, use=use,
                                      rules=rules.DEFAULT_INSPECTION_RULES, after=point.due)
    assert again.months - point.months in {6, 12, 24}


@given(dates, schedule_kinds)
def test_points_strictly_increase(registered, kind_use):
    pts = _points(registered, *kind_use, years=20)
    assert all(a.due < b.due for a, b in zip(pts, pts[1:]))
    assert all(a.months < b.months for a, b in zip(pts, pts[1:]))


def test_exact_use_rows_win_over_any_use_rows():
    # a city's own table may still have catch-all rows (empty use): the exact use wins over them
    city = [rules.InspectionStep("bus", "", 1, None, 12), rules.InspectionStep("bus", "official", 1, None, 6)]
    assert {r.use for r in rules.rules_for("bus", "official", city)} == {"official"}
    assert {r.use for r in rules.rules_for("bus", "taxi", city)} == {""}
    chosen = rules.rules_for("small_car", "private", rules.DEFAULT_INSPECTION_RULES)
    assert {r.use for r in chosen} == {"private"}
    assert rules.next_inspection_due(registration_date=dt.date(2020, 1, 1), kind="unknown", use="",
                                     rules=rules.DEFAULT_INSPECTION_RULES, after=dt.date(2020, 1, 1)) is None


def test_a_finite_schedule_ends():
    only = [rules.InspectionStep("truck", "", 1, 2, 12)]
    assert rules.next_inspection_due(registration_date=dt.date(2020, 1, 1), kind="truck", use="x", rules=only,
                                     after=dt.date(2022, 2, 1)) is None


@pytest.mark.parametrize("days,code", [(200, "ok"), (91, "ok"), (90, "due_soon"), (0, "due_soon"), (-1, "overdue")])
def test_inspection_status(days, code):
    on = dt.date(2026, 6, 1)
    status = rules.inspection_status(due=on + dt.timedelta(days=days), on=on)
    assert status.code == code and status.days_left == days and not status.online_mark
    assert status.zh and status.en


def test_online_mark_years_are_flagged():
    on = dt.date(2026, 6, 1)
    status = rules.inspection_status(due=on + dt.timedelta(days=30), on=on, on_site=False)
    assert status.online_mark and status.code == "due_soon"
    assert "免检" in status.zh and "online" in status.en


# --- Insurance ----------------------------------------------------------------------------------------------------

D = dt.date


def test_insurance_status_cases():
    on = D(2026, 6, 1)
    assert rules.insurance_status(periods=[], on=on).code == "none"
    assert rules.insurance_status(periods=[(D(2026, 1, 1), D(2026, 12, 31))], on=on).code == "valid"
    s = rules.insurance_status(periods=[(D(2025, 7, 1), D(2026, 6, 30))], on=on)
    assert s.code == "expiring" and s.covered_until == D(2026, 6, 30) and s.insured
    # renewed back to back: continuous cover, not expiring
    s = rules.insurance_status(periods=[(D(2025, 7, 1), D(2026, 6, 30)), (D(2026, 7, 1), D(2027, 6, 30))], on=on)
    assert s.code == "valid" and s.covered_until == D(2027, 6, 30)
    s = rules.insurance_status(periods=[(D(2024, 1, 1), D(2024, 12, 31))], on=on)
    assert s.code == "expired" and s.covered_until is None and not s.insured
    assert rules.insurance_status(periods=[(D(2026, 7, 1), D(2027, 6, 30))], on=on).code == "none"


@given(st.lists(st.tuples(dates, st.integers(min_value=0, max_value=365)), max_size=5), dates)
def test_insured_iff_a_period_covers_the_day(raw, on):
    periods = [(s, s + dt.timedelta(days=n)) for s, n in raw]
    status = rules.insurance_status(periods=periods, on=on)
    assert status.insured == any(s <= on <= e for s, e in periods)
    if status.insured:
        assert status.covered_until >= on
        assert (status.code == "expiring") == ((status.covered_until - on).days <= 30)
        # every day up to covered_until is covered by some period
        day = on
        while day <= status.covered_until:
            assert any(s <= day <= e for s, e in periods)
            day += dt.timedelta(days=17)


def test_migration_seeds_the_default_schedule():
    import importlib

    mig = importlib.import_module("jiaoguan.registry.migrations.0005_inspection_rules_every_kind_and_use")
    assert len(mig.ROWS) == len(rules.DEFAULT_INSPECTION_RULES)
    seeded = {tuple(r) for r in mig.ROWS}
    defaults = {(r.kind, r.use, r.from_year, r.to_year, r.interval_months, r.on_site, r.note)
                for r in rules.DEFAULT_INSPECTION_RULES}
    assert seeded == defaults


def test_the_licence_machine_covers_every_status_and_keeps_revoked_final():
    from jiaoguan.registry.models import DrivingLicence, Vehicle

    machine = rules.LICENCE_TRANSITIONS
    assert machine.states == set(DrivingLicence.Status.values) == set(rules.STATUS_LABELS)
    assert machine.terminal == {rules.STATUS_REVOKED}
    assert machine.targets(rules.STATUS_CANCELLED) == {rules.STATUS_VALID}  # only a renewal after 科目一
    assert machine.code == "registry.licence_status"
    assert rules.VEHICLE_TRANSITIONS.states == set(Vehicle.Status.values)
    assert rules.VEHICLE_TRANSITIONS.label("seized") == ("查封", "Seized")
    assert rules.TRANSFERABLE_STATUSES <= rules.VEHICLE_TRANSITIONS.states
