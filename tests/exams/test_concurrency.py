"""PostgreSQL with real parallel connections: one permit cannot hold two live applications for a subject, and
the ranked allocation never gives more seats than there are."""
import datetime as dt

import pytest

from jiaoguan.bookings.models import Application, Booking
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.exams import services
from tests.concurrency import in_threads
from tests.exams.conftest import APPROVER, MONDAY, candidate, session, sys_actor

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _setup():
    clock.freeze(MONDAY)
    theory = services.venue_create(code="PG", name_zh="并发考场", name_en="Race venue", subjects=["1"], actor=APPROVER)
    return theory


def test_one_permit_many_sessions_at_once_one_application():
    theory = _setup()
    sessions = [session(theory, "1", days=10, seats=5, hour=8 + i) for i in range(6)]
    user, permit = candidate()
    results = in_threads(6, lambda i: services.exam_apply(user=user, session_id=sessions[i].pk, actor=sys_actor()))
    ok = [r for r in results if not isinstance(r, Exception)]
    assert len(ok) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
    assert Application.objects.filter(subject=f"permit:{permit.pk}:1", status="pending").count() == 1


def test_many_candidates_few_seats_allocated_by_rank():
    theory = _setup()
    s = session(theory, "1", days=10, seats=3)
    people = [candidate(accepted_days_ago=10 + i, name="并发考生") for i in range(12)]
    results = in_threads(12, lambda i: services.exam_apply(user=people[i][0], session_id=s.pk, actor=sys_actor()))
    assert not [r for r in results if isinstance(r, Exception)], results
    clock.freeze(s.slot.closes_at + dt.timedelta(minutes=1))
    runs = in_threads(3, lambda i: services.exam_allocate(actor=APPROVER).allocated)
    assert sum(runs) == 3, runs
    got = set(Booking.objects.filter(slot=s.slot).values_list("subject", flat=True))
    # the three accepted longest ago
    assert got == {f"permit:{people[i][1].pk}:1" for i in (9, 10, 11)}
