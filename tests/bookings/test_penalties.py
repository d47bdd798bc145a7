"""Penalties as configurable rules: DOMAIN §6's eastern defaults, Beijing calendar years, lifting; and a
hypothesis model of random cancellations and no-shows against thresholds, windows and bans."""
import datetime as dt
import zoneinfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.bookings.models import Penalty, PenaltyRule
from jiaoguan.core import clock as core_clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Forbidden
from tests.bookings.support import SYS, audits, book, each_example, resource, slot, user

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
CLERK = Actor(id=None, label="clerk", role="clerk")


@pytest.fixture(autouse=True)
def _default_rules():
    services.penalty_rules_seed()  # migration 0002's rows (a transactional test elsewhere may have flushed them)


def _cancel(s, party, key):
    u = user()
    b = book(s, u, key, party=party, confirm=True)
    return services.booking_cancel(booking_id=b.pk, user=u, actor=SYS)


def test_defaults_are_seeded():
    assert set(PenaltyRule.objects.filter(kind="eastern").values_list("event", "threshold", "window", "ban")) == {
        ("cancel", 3, "period", "period"), ("no_show", 3, "year", "year")}


def test_three_cancellations_lose_that_holiday(clock):
    clock.freeze(dt.datetime(2026, 9, 20, 10, 0, tzinfo=SH))
    res = resource(kind="eastern")
    nd = [slot(capacity=5, res=res, period_key="2026-national-day", starts_in=dt.timedelta(days=11 + i))
          for i in range(3)]
    other = slot(capacity=5, res=res, period_key="2026-mid-autumn", starts_in=dt.timedelta(days=5))
    staff_cancelled = book(nd[0], user(), "staff", party="粤B12345", confirm=True)
    services.booking_cancel(booking_id=staff_cancelled.pk, actor=CLERK, reason="道路管制")  # does not count
    _cancel(nd[0], "粤B12345", "a")
    _cancel(nd[1], "粤B12345", "b")
    assert selectors.penalties_active(party="粤B12345") == []
    third = _cancel(nd[2], "粤B12345", "c")
    (p,) = selectors.penalties_active(party="粤B12345")
    assert p.period_key == "2026-national-day" and p.ends_at is None and p.reason_zh == "3次取消预约"
    assert len(audits(p, "booking.penalty")) == 1 and audits(p)[0].new["booking"] == third.pk
    with pytest.raises(Forbidden) as e:
        book(nd[0], user(), "d", party="粤B12345")
    assert e.value.code == "bookings.banned"
    book(other, user(), "e", party="粤B12345")  # another holiday is not affected
    # a fourth cancellation (of a booking made earlier in another period) does not ban twice
    _cancel(other, "粤B12345", "f")
    assert Penalty.objects.filter(party="粤B12345").count() == 1


def test_three_no_shows_blacklist_until_the_beijing_year_ends(clock):
    clock.freeze(dt.datetime(2026, 12, 20, 10, 0, tzinfo=SH))
    res = resource(kind="eastern")
    slots = [slot(capacity=3, res=res, starts_in=dt.timedelta(days=11, hours=9 + i)) for i in range(3)]  # Dec 31
    bookings = [book(s, user(), f"n{i}", party="粤B99999", confirm=True) for i, s in enumerate(slots)]
    clock.freeze(dt.datetime(2026, 12, 31, 22, 0, tzinfo=SH))  # 14:00 UTC: still 2026 in UTC and Beijing
    for b in bookings:
        services.booking_mark(booking_id=b.pk, attended=False, actor=CLERK)
    (p,) = selectors.penalties_active(party="粤B99999")
    assert p.ends_at == dt.datetime(2027, 1, 1, 0, 0, tzinfo=SH)  # not midnight UTC (08:00 Beijing)
    later = slot(capacity=3, res=res, starts_in=dt.timedelta(hours=1))
    with pytest.raises(Forbidden):
        book(later, user(), "x", party="粤B99999")
    clock.freeze(dt.datetime(2027, 1, 1, 0, 0, tzinfo=SH))
    assert selectors.penalties_active(party="粤B99999") == []


def test_the_year_window_is_the_beijing_year(clock):
    """Two no-shows late on 31 December and one just after midnight in Beijing: 15:30 and 16:30 UTC on the
    same UTC day, but two Beijing years. Counting in UTC would blacklist; the rule is Beijing's year."""
    clock.freeze(dt.datetime(2026, 12, 30, 10, 0, tzinfo=SH))
    res = resource(kind="eastern")
    starts = [dt.datetime(2026, 12, 31, 20, 0, tzinfo=SH), dt.datetime(2026, 12, 31, 23, 30, tzinfo=SH),
              dt.datetime(2027, 1, 1, 0, 30, tzinfo=SH)]
    bookings = []
    for i, at in enumerate(starts):
        s = services.slot_create(resource=res, starts_at=at, ends_at=at + dt.timedelta(minutes=20),
                                 quotas=[services.QuotaSpec("public", 1)], actor=SYS)
        bookings.append(book(s, user(), f"y{i}", party="粤B55555", confirm=True))
    clock.freeze(dt.datetime(2027, 1, 1, 1, 0, tzinfo=SH))
    for b in bookings:
        services.booking_mark(booking_id=b.pk, attended=False, actor=CLERK)
    assert selectors.penalties_active(party="粤B55555") == []


def test_configurable_days_rule_and_lift(clock):
    clock.freeze(clock.now())
    PenaltyRule.objects.create(kind="counter", event="cancel", threshold=2, window="days", window_days=30,
                               ban="days", ban_days=7)
    res = resource(kind="counter")
    s = slot(capacity=10, res=res)
    _cancel(s, "P", "a")
    clock.advance(dt.timedelta(days=31))  # outside the 30-day window
    s = slot(capacity=10, res=res)
    _cancel(s, "P", "b")
    assert selectors.penalties_active(party="P") == []
    _cancel(s, "P", "c")
    (p,) = selectors.penalties_active(party="P")
    assert p.ends_at == core_clock.now() + dt.timedelta(days=7)
    with pytest.raises(Forbidden):
        book(s, user(), "d", party="P")
    with pytest.raises(Forbidden):
        services.penalty_lift(penalty_id=p.pk, actor=CLERK, reason="x")
    services.penalty_lift(penalty_id=p.pk, actor=SYS, reason="系统故障导致的取消")
    b = book(s, user(), "d", party="P", confirm=True)  # allowed again; earlier cancellations no longer count
    services.booking_cancel(booking_id=b.pk, user=b.user, actor=SYS)
    assert selectors.penalties_active(party="P") == []
    clock.advance(dt.timedelta(days=8))
    assert selectors.penalties_active(party="P") == []


# --- hypothesis: random cancellations and no-shows against a random rule -------------------------------------------

def _model_run(rule: dict, ops: list, start: dt.datetime):
    """An independent model: returns [(refused, penalties so far as (ends_at, period_key))] per operation."""
    now = start
    events: list[rules.PenaltyEvent] = []
    penalties: list[tuple[dt.datetime, dt.datetime | None, str]] = []  # (created, ends, period)
    out = []
    for gap_hours, period, event in ops:
        now = now + dt.timedelta(hours=gap_hours)
        period_key = f"p{period}" if period is not None else ""
        slot_start = now + dt.timedelta(hours=2)

        def banned(at, period_key=period_key):
            return any((pk and pk == period_key) or (not pk and ends is not None and ends > at)
                       for created, ends, pk in penalties if created <= at)

        if banned(now):
            out.append((True, len(penalties)))
            continue
        if event == "cancel":
            ev = rules.PenaltyEvent(at=now, period_key=period_key, recorded_at=now)
        else:
            now = slot_start
            ev = rules.PenaltyEvent(at=slot_start, period_key=period_key, recorded_at=now)
        if event == rule["event"]:
            events.append(ev)
            since = max((c for c, _, _ in penalties), default=None)
            n = 0
            for e in events:
                if since is not None and e.recorded_at <= since:
                    continue
                if rule["window"] == "period":
                    inside = bool(period_key) and e.period_key == period_key
                elif rule["window"] == "year":
                    inside = e.at.astimezone(SH).year == ev.at.astimezone(SH).year
                else:
                    inside = ev.at - dt.timedelta(days=rule["window_days"]) < e.at <= ev.at
                n += inside
            if n >= rule["threshold"]:
                new = None
                if rule["ban"] == "period":
                    if period_key:
                        new = (None, period_key)
                elif rule["ban"] == "year":
                    local = ev.at.astimezone(SH)
                    ends = dt.datetime(local.year + 1, 1, 1, tzinfo=SH)
                    if ends > now:
                        new = (ends, "")
                else:
                    new = (now + dt.timedelta(days=rule["ban_days"]), "")
                if new is not None and new not in [(e, pk) for _, e, pk in penalties]:  # never the same ban twice
                    penalties.append((now, *new))
        out.append((False, len(penalties)))
    return out


RULES = st.fixed_dictionaries({
    "event": st.sampled_from(["cancel", "no_show"]),
    "threshold": st.integers(1, 4),
    "window": st.sampled_from(["period", "year", "days"]),
    "window_days": st.integers(1, 40),
    "ban": st.sampled_from(["period", "year", "days"]),
    "ban_days": st.integers(1, 20),
})
OPS = st.lists(st.tuples(st.sampled_from([0, 1, 5, 30, 24 * 6, 24 * 40, 24 * 200]),
                         st.sampled_from([None, 1, 2]), st.sampled_from(["cancel", "no_show"])),
               min_size=1, max_size=9)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rule=RULES, ops=OPS, start_hour=st.integers(0, 23))
def test_penalties_match_the_model(rule, ops, start_hour):
    start = dt.datetime(2026, 12, 1, start_hour, 7, tzinfo=SH)
    expected = _model_run(rule, ops, start)
    with each_example():
        core_clock.freeze(start)
        try:
            PenaltyRule.objects.filter(kind="counter").update(active=False)
            PenaltyRule.objects.create(kind="counter", **rule)
            res = resource(kind="counter")
            got = []
            for i, (gap_hours, period, event) in enumerate(ops):
                core_clock.advance(dt.timedelta(hours=gap_hours))
                s = slot(capacity=1, res=res, starts_in=dt.timedelta(hours=2),
                         period_key=f"p{period}" if period is not None else "")
                u = user()
                try:
                    b = book(s, u, f"h{i}", party="H", confirm=True)
                except Forbidden:
                    got.append((True, Penalty.objects.filter(party="H").count()))
                    continue
                if event == "cancel":
                    services.booking_cancel(booking_id=b.pk, user=u, actor=SYS)
                else:
                    core_clock.advance(dt.timedelta(hours=2))
                    services.booking_mark(booking_id=b.pk, attended=False, actor=CLERK)
                got.append((False, Penalty.objects.filter(party="H").count()))
            assert got == expected, (rule, ops)
        finally:
            core_clock.reset()
            transaction.set_rollback(True)
