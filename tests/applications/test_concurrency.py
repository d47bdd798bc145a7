"""Concurrency on PostgreSQL with real parallel connections: two members of staff acting on one application at
once → one wins, the other is told (409); one claim wins; parallel submissions get distinct references."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.core.errors import Conflict
from tests.applications.support import accepted, actor, citizen, draft, staff, submitted
from tests.concurrency import in_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen(clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    return clock


def test_two_approvers_at_once_one_wins(frozen):
    clerk = staff("clerk")
    approvers = [staff("approver"), staff("approver")]
    app = accepted(clerk, service="t_standard")
    results = in_threads(2, lambda i: services.application_approve(application_id=app.pk,
                                                                    actor=actor(approvers[i])).status)
    assert sorted(map(type, results), key=str) == sorted([str, Conflict], key=str), results
    conflict = next(r for r in results if isinstance(r, Conflict))
    assert conflict.status == 409 and conflict.code == "applications.state_changed"
    app.refresh_from_db()
    assert app.status == "approved"
    assert ApplicationEvent.objects.filter(application=app, action="approve").count() == 1


def test_approve_and_reject_at_once(frozen):
    clerk, a, b = staff("clerk"), staff("approver"), staff("approver")
    app = accepted(clerk, service="t_standard")
    calls = [lambda: services.application_approve(application_id=app.pk, actor=actor(a)),
             lambda: services.application_reject(application_id=app.pk, actor=actor(b), comment="不符合")]
    results = in_threads(2, lambda i: calls[i]().status)
    assert len([r for r in results if isinstance(r, Conflict)]) == 1, results
    app.refresh_from_db()
    assert app.status in ("approved", "rejected")
    assert ApplicationEvent.objects.filter(application=app, action__in=("approve", "reject")).count() == 1


def test_one_claim_wins(frozen):
    clerks = [staff("clerk") for _ in range(4)]
    app = submitted(service="t_standard")
    results = in_threads(4, lambda i: services.application_claim(application_id=app.pk,
                                                                  actor=actor(clerks[i])).claimed_by_id)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1 and all(isinstance(r, Conflict) for r in results if not isinstance(r, int)), results
    assert Application.objects.get(pk=app.pk).claimed_by_id == winners[0]


def test_parallel_submissions_get_distinct_references(frozen):
    users = [citizen() for _ in range(5)]
    drafts = [draft(u, "t_standard") for u in users]
    results = in_threads(5, lambda i: services.application_submit(user=users[i],
                                                                   application_id=drafts[i].pk).reference)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 5
