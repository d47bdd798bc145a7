"""Hypothesis: the live rank (SQL count and pure rule) and the SQL allocation agree with rules.allocate on random
sort times, ties included."""
import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.bookings.models import Application
from jiaoguan.core import clock as core_clock
from tests.bookings.support import SYS, apply, each_example, ranked_slot, user

pytestmark = pytest.mark.django_db
BASE = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@given(minutes=st.lists(st.integers(0, 5), max_size=30), seats=st.integers(0, 12))
def test_pure_rules_agree(minutes, seats):
    items = [rules.Ranked(i + 1, BASE + dt.timedelta(minutes=m)) for i, m in enumerate(minutes)]
    allocated, unsuccessful = rules.allocate(items, seats)
    ranks = {item.id: rank for item, rank in allocated + unsuccessful}
    assert len(allocated) == min(seats, len(items))
    for item in items:
        assert ranks[item.id] == rules.live_rank(item, items)
    # earlier sort time ranks higher; ties by submission (id)
    ordered = [item for item, _ in allocated + unsuccessful]
    assert ordered == sorted(items, key=lambda r: (r.sort_time, r.id))


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(minutes=st.lists(st.integers(0, 4), min_size=1, max_size=25), seats=st.integers(0, 10),
       withdraw=st.sets(st.integers(0, 24), max_size=4))
def test_sql_allocation_and_live_rank_match_the_rules(minutes, seats, withdraw):
    with each_example():
        core_clock.freeze(BASE)
        try:
            s = ranked_slot(capacity=seats)
            apps = []
            for i, m in enumerate(minutes):
                apps.append(apply(s, user(), f"r{i}", BASE - dt.timedelta(days=30) + dt.timedelta(minutes=m)))
            for i in withdraw:
                if i < len(apps):
                    services.application_withdraw(application_id=apps[i].pk, user=apps[i].user, actor=SYS)
            pending = [a for a in Application.objects.filter(slot=s, status="pending")]
            items = [rules.Ranked(a.pk, a.sort_time) for a in pending]
            shown = {a.pk: rank for a, rank in selectors.slot_ranked_applications(slot=s)}  # the console's
            for a in pending:
                expected = rules.live_rank(rules.Ranked(a.pk, a.sort_time), items)
                assert selectors.application_rank(application=a) == expected
                assert selectors.application_rank_check(application=a) == expected
                assert shown[a.pk] == expected
            allocated, unsuccessful = rules.allocate(items, seats)
            core_clock.advance(dt.timedelta(days=8))
            run = services.applications_allocate(actor=SYS)
            assert run.allocated == len(allocated)
            got = {a.pk: (a.status, a.rank) for a in Application.objects.filter(slot=s).exclude(status="withdrawn")}
            want = {item.id: ("allocated", rank) for item, rank in allocated}
            want.update({item.id: ("unsuccessful", rank) for item, rank in unsuccessful})
            assert got == want
            for a in Application.objects.filter(slot=s, status="allocated"):
                assert a.booking.status == "confirmed"
                assert selectors.application_rank(application=a) == a.rank
        finally:
            core_clock.reset()
            transaction.set_rollback(True)
