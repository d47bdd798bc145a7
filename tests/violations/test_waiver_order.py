"""The first-violation waiver is for the *first* violation (issue 10 item 5): by occurrence time (Asia/Shanghai
instants, not dates), ties on the identical timestamp broken by id; a violation uploaded late that happened
before a waived one takes that waiver back (recorded again, payable, audited, the citizen told). Whatever order a
vehicle's violations arrive in, the end state is the same."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.core import clock as core_clock
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.notifications.models import Message
from jiaoguan.violations import rules, selectors, services, signing
from jiaoguan.violations.models import Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import STAFF, record, signed
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 15, 0)


@pytest.fixture(autouse=True)
def _frozen(clock):
    clock.freeze(NOW.replace(tzinfo=core_clock.localtime().tzinfo))


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return core_clock.local_datetime(core_clock.today() - dt.timedelta(days=days_ago), dt.time(hour, minute))


def old_car():
    """Registered long ago: Shenzhen's waiver can apply (parking 1039: a fine only, ¥200)."""
    return make_vehicle(owner=make_person(), registered=core_clock.today() - dt.timedelta(days=900))


def state(v: Violation) -> tuple:
    v.refresh_from_db()
    return (v.status, v.waiver_rule, v.points, v.fine_fen)


WAIVED_SZ = ("waived", "shenzhen", 0, 0)
OPEN_PARKING = ("recorded", "", 0, 20000)


def test_same_day_repeats_are_not_first():
    """The reported bug: 09:00, 10:00 and 11:00 the same day were all waived (only earlier *dates* counted)."""
    car = old_car()
    vs = [record(car, code="1039", when=at(1, h)) for h in (9, 10, 11)]
    assert [state(v) for v in vs] == [WAIVED_SZ, OPEN_PARKING, OPEN_PARKING]


def test_a_same_day_repeat_just_after_midnight_utc_is_not_first():
    """00:30 and 07:30 Beijing time are on the previous UTC date: the order is by the instant all the same."""
    car = old_car()
    first, second = record(car, code="1039", when=at(1, 0, 30)), record(car, code="1039", when=at(1, 7, 30))
    assert (state(first), state(second)) == (WAIVED_SZ, OPEN_PARKING)


def test_a_late_earlier_upload_takes_the_waiver_back():
    car = old_car()
    eleven = record(car, code="1039", when=at(1, 11))
    assert state(eleven) == WAIVED_SZ
    ten = record(car, code="1039", when=at(1, 10))
    assert (state(ten), state(eleven)) == (WAIVED_SZ, OPEN_PARKING)
    nine = record(car, code="1039", when=at(1, 9))
    assert [state(v) for v in (nine, ten, eleven)] == [WAIVED_SZ, OPEN_PARKING, OPEN_PARKING]
    undone = AuditEntry.objects.filter(action="violation.unwaive").order_by("id")
    assert [e.object_id for e in undone] == [str(eleven.pk), str(ten.pk)]
    entry = undone.last()
    assert entry.old == {"status": "waived", "waiver_rule": "shenzhen", "points": 0, "fine_fen": 0}
    assert entry.new == {"status": "recorded", "waiver_rule": "", "points": 0, "fine_fen": 20000}
    assert "首违免罚撤回" in entry.reason and "not the first" in entry.reason and entry.actor_label == "violations.waiver"
    assert OutboxEvent.objects.filter(topic="violations.waiver_withdrawn").count() == 2
    # open again: it can be handled (or disputed) like any recorded violation
    assert selectors.may_handle(violation=ten) and selectors.may_dispute(violation=ten)


def test_the_citizen_is_told_in_both_languages():
    from tests.notifications.test_notices import run_outbox

    user, car = citizen_with_car()  # registered 300 days ago: parking is waived by the national list
    later = record(car, code="1039", when=at(2, 10))
    assert later.status == "waived" and later.waiver_rule == "national"
    record(car, code="1039", when=at(2, 8))
    run_outbox()
    (message,) = Message.objects.filter(recipient=user, channel="inbox", template_code="violation.waiver_withdrawn")
    assert car.plate in message.body and "首违免罚已撤回" in message.body and "¥200.00" in message.body
    assert "waiver is withdrawn" in message.alt_body
    (text,) = Message.objects.filter(channel="sms", template_code="violation.waiver_withdrawn")
    assert text.phone == user.person.phone and user.person.name not in text.body


def test_identical_timestamps_the_one_recorded_first_is_first():
    car = old_car()
    when = at(3, 9)
    a, b = record(car, code="1039", when=when), record(car, code="1039", when=when)
    assert (state(a), state(b)) == (WAIVED_SZ, OPEN_PARKING)
    # and an earlier one arriving later still takes it from the first of the tie
    c = record(car, code="1039", when=when - dt.timedelta(seconds=1))
    assert [state(v) for v in (c, a, b)] == [WAIVED_SZ, OPEN_PARKING, OPEN_PARKING]


def test_a_late_upload_may_move_a_waiver_to_the_other_rule():
    """Shenzhen's 24 clean months are broken by a violation 10 months before, the national list's 6 are not: the
    later violation stays a warning, now under the national rule (audited), and nobody is told anything new."""
    car = old_car()
    later = record(car, code="1039", when=at(5, 10))
    assert state(later) == WAIVED_SZ
    record(car, code="1039", when=at(300, 10))
    assert state(later) == ("waived", "national", 0, 0)
    assert AuditEntry.objects.filter(action="violation.waiver_rule", object_id=str(later.pk)).exists()
    assert not OutboxEvent.objects.filter(topic="violations.waiver_withdrawn").exists()


def test_a_revoked_earlier_violation_takes_nothing_back():
    car = old_car()
    later = record(car, code="1039", when=at(5, 10))
    earlier = record(car, code="1352", when=at(5, 9))
    assert state(later)[0] == "recorded"
    services.violation_revoke(violation=earlier, actor=STAFF.__class__(id=901, label="a", role="approver"),
                              reason="号牌识别有误 misread")
    assert state(later)[0] == "recorded"  # a revocation re-decides nothing (the citizen may ask for the waiver)
    assert selectors.waiver_offer(violation=later).allowed


def test_a_device_batch_in_reverse_order_ends_the_same(client):
    """One transaction records the whole batch: the waiver locks of every record are taken before the first
    audit row, and the last record (the earliest) takes back the waivers the earlier records got."""
    device, secret = signing.device_create(name="福华三路违停抓拍", kind="parking", area="福田区")
    device.plain_secret = secret
    car = old_car()
    records = [{"record_id": f"B-{h}", "plate": car.plate, "plate_type": car.plate_type, "code": "1039",
                "place": "福田区福华三路", "occurred_at": at(1, h).isoformat()} for h in (11, 10, 9)]
    r = signed(client, device, "/api/v1/devices/violations/batch", {"records": records})
    assert r.status_code == 200 and r.json()["created"] == 3, r.content
    by_hour = {v.device_record_id: state(v) for v in Violation.objects.filter(vehicle=car)}
    assert by_hour == {"B-9": WAIVED_SZ, "B-10": OPEN_PARKING, "B-11": OPEN_PARKING}


def test_the_unwaive_transition_is_in_the_machine():
    machine = rules.VIOLATION_TRANSITIONS
    assert machine.allows("waived", "recorded") and rules.UNWAIVE_FROM == {"waived"}
    assert not machine.allows("waived", "handled")


# --- property: any arrival order, one end state ------------------------------------------------------------------

CODES = ("1039", "1120", "1352")  # Shenzhen or national (parking), national only (seatbelt), never (speeding)
_spec = st.tuples(st.sampled_from([1, 2, 40, 100, 200, 400, 700]), st.sampled_from([0, 9, 10, 23]),
                  st.sampled_from(CODES))
_serial = itertools.count()


def _expected(rows: list[Violation]) -> dict[int, tuple]:
    """The regulation, applied to the final rows in occurrence order: waived iff ``waiver_for`` grants it with
    every violation before it (any status) as a prior one."""
    params = selectors._waiver_params()
    ordered = sorted(rows, key=lambda r: rules.occurrence_key(r.occurred_at, r.pk))
    out = {}
    for i, row in enumerate(ordered):
        facts = dataclasses.replace(
            selectors.waiver_facts(violation=row),
            prior_violation_dates=tuple(core_clock.localdate(p.occurred_at) for p in ordered[:i]))
        w = rules.waiver_for(facts, params)
        out[row.pk] = (("waived", w.rule, 0, 0) if w else ("recorded", "", row.code.points, row.code.fine_fen))
    return out


def _record_all(specs, order) -> list[Violation]:
    car = make_vehicle(owner=make_person(), registered=core_clock.today() - dt.timedelta(days=900 + next(_serial)))
    made = {}
    for i in order:
        days, hour, code = specs[i]
        made[i] = record(car, code=code, when=at(days, hour))
    return [made[i] for i in range(len(specs))]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_arrival_order_gives_the_same_end_state(data):
    specs = data.draw(st.lists(_spec, min_size=1, max_size=6, unique_by=lambda s: (s[0], s[1])))
    order = data.draw(st.permutations(range(len(specs))))
    shuffled = _record_all(specs, order)
    chronological = _record_all(specs, sorted(range(len(specs)), key=lambda i: at(specs[i][0], specs[i][1])))
    end = [state(v) for v in shuffled]
    assert end == [state(v) for v in chronological]  # independent of the arrival order
    expected = _expected(shuffled)
    assert end == [expected[v.pk] for v in shuffled]
    # at most one waiver per window: a waived violation has no violation within its rule's clean period before it
    params = selectors._waiver_params()
    ordered = sorted(shuffled, key=lambda r: rules.occurrence_key(r.occurred_at, r.pk))
    for i, b in enumerate(ordered):
        if b.status == "waived":
            for a in ordered[:i]:
                assert rules.waived_apart(core_clock.localdate(a.occurred_at), core_clock.localdate(b.occurred_at),
                                          b.waiver_rule, params)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_identical_timestamps_give_exactly_one_first(data):
    """Ties on the identical timestamp: whatever the arrival order, one of them is first (the lowest id) and the
    end state is the regulation's over the (time, id) order."""
    n = data.draw(st.integers(2, 4))
    extra = data.draw(st.lists(_spec, max_size=2))
    specs = [(1, 9, "1039")] * n + extra
    order = data.draw(st.permutations(range(len(specs))))
    rows = _record_all(specs, order)
    expected = _expected(rows)
    assert [state(v) for v in rows] == [expected[v.pk] for v in rows]
    tied = [v for v in rows[:n]]
    assert sum(v.status == "waived" for v in tied) <= 1
