"""Pure rules: decision numbers, online limits, first-violation waivers."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.violations import rules

agency = st.text(alphabet="0123456789", min_size=6, max_size=6)
seq = st.integers(min_value=1, max_value=10**8 - 1)


@given(agency, seq)
def test_decision_number_shape(a, s):
    n = rules.make_decision_number(a, s)
    assert len(n) == 15 and n.isdigit() and n.startswith(a) and int(n[6:14]) == s
    assert rules.decision_number_valid(n)


@given(agency, seq, st.integers(0, 14), st.integers(1, 9))
def test_every_single_digit_change_is_rejected(a, s, pos, delta):
    n = rules.make_decision_number(a, s)
    changed = n[:pos] + str((int(n[pos]) + delta) % 10) + n[pos + 1:]
    assert not rules.decision_number_valid(changed)


@given(agency, seq, st.integers(0, 13))
def test_adjacent_transpositions_are_rejected(a, s, pos):
    n = rules.make_decision_number(a, s)
    if n[pos] == n[pos + 1]:
        return
    swapped = n[:pos] + n[pos + 1] + n[pos] + n[pos + 2:]
    assert not rules.decision_number_valid(swapped)


@pytest.mark.parametrize("bad", ["", "12345678901234", "1234567890123456", "44030000000001A", "４４０３００００００００１２３",
                                 None])
def test_malformed_numbers(bad):
    assert not rules.decision_number_valid(bad)


def test_bad_arguments():
    with pytest.raises(ValueError):
        rules.make_decision_number("4403", 1)
    with pytest.raises(ValueError):
        rules.make_decision_number("440300", 0)


LIMITS = rules.OnlineLimits()
OK = rules.OnlineFacts(source="device", fine_fen=20000, points=6, code_online_allowed=True, cycle_total=5,
                       holds_vehicle=True, after_binding=True, licence_valid=True)


def _codes(**kw):
    facts = rules.OnlineFacts(**{**OK.__dict__, **kw})
    return [r.code for r in rules.online_refusals(facts, LIMITS)]


def test_online_boundaries():
    assert _codes() == []
    assert _codes(fine_fen=20001) == ["violations.fine_too_high"]
    assert _codes(fine_fen=0) == []  # a warning
    assert _codes(points=9, cycle_total=0) == ["violations.points_too_high"]
    assert _codes(cycle_total=6) == ["violations.cycle_full"]  # 6 + 6 = 12: not under 12
    assert _codes(source="on_site") == ["violations.not_camera"]
    assert _codes(code_online_allowed=False) == ["violations.code_counter_only"]
    assert _codes(holds_vehicle=False) == ["violations.not_your_vehicle"]
    assert _codes(after_binding=False) == ["violations.before_binding"]
    assert _codes(licence_valid=False) == ["violations.licence_invalid"]


@given(st.sampled_from(["device", "on_site"]), st.integers(0, 300000), st.sampled_from([0, 1, 3, 6, 9, 12]),
       st.booleans(), st.integers(0, 20), st.booleans(), st.booleans(), st.booleans())
def test_online_rule_is_exactly_the_domain_rule(source, fine, points, allowed, total, holds, after, valid):
    facts = rules.OnlineFacts(source=source, fine_fen=fine, points=points, code_online_allowed=allowed,
                              cycle_total=total, holds_vehicle=holds, after_binding=after, licence_valid=valid)
    refusals = rules.online_refusals(facts, LIMITS)
    expected = (source == "device" and fine <= 20000 and points <= 6 and allowed and total + points < 12
                and holds and after and valid)
    assert (not refusals) == expected
    for r in refusals:  # every refusal says why in both languages
        assert r.zh and r.en and r.code.startswith("violations.")


D = dt.date(2026, 6, 1)
SZ = rules.WaiverFacts(code_on_first_list=False, points=0, fine_fen=20000, accident=False, congestion=False,
                       in_city=True, vehicle_local=True, vehicle_since=dt.date(2024, 6, 1), occurred_on=D)
P = rules.WaiverParams()


def _w(**kw):
    return rules.waiver_for(rules.WaiverFacts(**{**SZ.__dict__, **kw}), P)


def test_shenzhen_six_conditions():
    assert _w().rule == "shenzhen"
    assert _w(in_city=False) is None
    assert _w(vehicle_local=False) is None
    assert _w(accident=True) is None
    assert _w(prior_violation_dates=(dt.date(2024, 6, 2),)) is None  # 23 months before
    assert _w(prior_violation_dates=(dt.date(2024, 6, 1),)).rule == "shenzhen"  # exactly 24 months before
    assert _w(points=1) is None
    assert _w(fine_fen=50001) is None
    assert _w(fine_fen=50000).rule == "shenzhen"
    assert _w(vehicle_since=dt.date(2024, 6, 2)) is None
    assert _w(vehicle_since=None) is None


def test_national_list():
    assert _w(points=1, code_on_first_list=True).rule == "national"
    assert _w(points=1, code_on_first_list=True, congestion=True) is None
    assert _w(points=1, code_on_first_list=True, prior_violation_dates=(dt.date(2026, 1, 1),)) is None
    assert _w(points=1, code_on_first_list=True, prior_violation_dates=(dt.date(2025, 12, 1),)).rule == "national"
    # a later violation does not count as a prior one
    assert _w(points=1, code_on_first_list=True, prior_violation_dates=(dt.date(2026, 7, 1),)).rule == "national"


def test_rules_are_configurable():
    f = rules.WaiverFacts(**{**SZ.__dict__, "code_on_first_list": True})
    assert rules.waiver_for(f, rules.WaiverParams(rules=("national",))).rule == "national"
    assert rules.waiver_for(f, rules.WaiverParams(rules=())) is None


@given(st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)), st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)))
def test_months_between(a, b):
    m = rules.months_between(a, b)
    if a <= b:
        assert m >= 0
        # adding m months to a does not pass b, adding m+1 does
        def add(d, k):
            y, mo = divmod(d.month - 1 + k, 12)
            import calendar
            year = d.year + y
            return dt.date(year, mo + 1, min(d.day, calendar.monthrange(year, mo + 1)[1]))
        assert add(a, m) <= b
        assert add(a, m + 1) > b or (a.day > 28 and add(a, m + 1).day < a.day)


@given(points=st.integers(0, 12), fine=st.integers(0, 100000), accident=st.booleans(), congestion=st.booleans(),
       listed=st.booleans(), local=st.booleans(), months=st.integers(0, 60), open_=st.booleans(),
       rule_sets=st.sampled_from([(), ("shenzhen",), ("national",), ("shenzhen", "national")]))
def test_waiver_offer_is_waiver_for_with_its_reasons(points, fine, accident, congestion, listed, local, months,
                                                     open_, rule_sets):
    """The page's offer is exactly the service's check: offered iff ``waiver_for`` grants (and the violation is
    open); otherwise one reason per configured rule set (or "not open")."""
    f = rules.WaiverFacts(**{**SZ.__dict__, "points": points, "fine_fen": fine, "accident": accident,
                             "congestion": congestion, "code_on_first_list": listed, "vehicle_local": local,
                             "vehicle_since": SZ.occurred_on - dt.timedelta(days=31 * months)})
    p = rules.WaiverParams(rules=rule_sets)
    offer = rules.waiver_offer(f, p, open_=open_)
    granted = rules.waiver_for(f, p) if open_ else None
    assert offer.waiver == granted and offer.allowed == (granted is not None)
    if not offer.allowed:
        assert offer.refusals
        assert all(r.zh and r.en for r in offer.refusals)
        if open_:
            assert len(offer.refusals) == max(1, len(rule_sets))
    else:
        assert offer.refusals == ()


# --- The status life cycle, declared once ------------------------------------------------------------------------

def test_the_status_machine_covers_every_violation_status():
    from jiaoguan.violations.models import Violation

    machine = rules.VIOLATION_TRANSITIONS
    assert machine.states == set(Violation.Status.values)
    assert machine.terminal == {"revoked"}
    assert machine.sources("disputed") == {"recorded", "handled", "paid"}  # 申诉 of anything not yet void
    assert machine.sources("revoked") == machine.states - {"revoked"}
    assert rules.HANDLE_FROM <= machine.sources("handled")
    assert machine.label("waived") == ("首违免罚", "First-violation waiver")


def test_pages_and_services_ask_the_same_machine():
    """may_dispute / may_handle (what the pages offer) are the machine's and HANDLE_FROM's answers."""
    from types import SimpleNamespace

    from jiaoguan.violations import selectors

    for status in rules.VIOLATION_TRANSITIONS.states:
        v = SimpleNamespace(status=status)
        assert selectors.may_dispute(violation=v) == rules.VIOLATION_TRANSITIONS.allows(status, "disputed")
        assert selectors.may_handle(violation=v) == (status == "recorded")


def test_the_full_score_is_the_registry_s():
    from jiaoguan.applications.plugins import licence_renewal
    from jiaoguan.registry.rules import FULL_SCORE
    from jiaoguan.violations import conf

    assert FULL_SCORE == 12
    assert conf.get("FULL_SCORE") == rules.OnlineLimits().full_score == licence_renewal.FULL_SCORE == FULL_SCORE


def test_the_licence_card_reads_the_full_score_from_the_rule():
    import dataclasses
    import datetime as dt

    from jiaoguan.registry import selectors as registry_selectors
    from jiaoguan.registry.rules import FULL_SCORE

    day = dt.date(2026, 12, 7)
    fields = {f.name: None for f in dataclasses.fields(registry_selectors.LicenceSummary) if f.init}
    card = registry_selectors.LicenceSummary(**{**fields, "points": FULL_SCORE - 1, "on": day})
    assert card.points_left == 1 and not card.at_full_score and card.full_score == FULL_SCORE
    full = dataclasses.replace(card, points=FULL_SCORE + 2)
    assert full.points_left == 0 and full.at_full_score


def test_a_city_caps_its_own_codes_above_the_national_cap():
    city = rules.OnlineLimits(max_fine_by_code={"9301": 30000})
    facts = rules.OnlineFacts(**{**OK.__dict__, "fine_fen": 30000, "code": "9301"})
    assert rules.online_refusals(facts, city) == []
    assert [r.code for r in rules.online_refusals(rules.OnlineFacts(**{**facts.__dict__, "fine_fen": 30001}), city)] \
        == ["violations.fine_too_high"]
    other = rules.OnlineFacts(**{**facts.__dict__, "code": "1625"})  # not listed: the national ¥200
    refusal = rules.online_refusals(other, city)[0]
    assert refusal.code == "violations.fine_too_high" and "200" in refusal.zh


@given(st.integers(0, 200000), st.integers(0, 10), st.integers(1, 5), st.integers(0, 300000))
def test_escalated_fine(base, earlier, nth, high):
    esc = rules.Escalation(nth=nth, within_days=365, fine_fen=high)
    fine = rules.escalated_fine(base_fen=base, earlier=earlier, escalation=esc)
    assert fine == (max(base, high) if earlier + 1 >= nth else base)
    assert rules.escalated_fine(base_fen=base, earlier=earlier, escalation=None) == base
