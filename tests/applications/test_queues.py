"""Staff work queues, the due-soon warning, the overdue sweep (idempotent), statistics, the staff view's access
audit and the citizen's timeline."""
import datetime as dt

import pytest

from jiaoguan.applications import selectors, services, tasks
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.core.models import AuditEntry
from jiaoguan.core.scheduler import jobs
from jiaoguan.notifications.models import Message
from tests.applications.support import accepted, actor, citizen, staff, submitted

pytestmark = pytest.mark.django_db


def ids(qs):
    return [a.pk for a in qs]


def test_queues_per_step_and_role(workday):
    clerk, clerk2, approver, approver2 = staff("clerk"), staff("clerk"), staff("approver"), staff("approver")
    waiting = submitted(service="t_standard")
    mine = accepted(clerk, service="t_standard")  # accepted by clerk: approval is for approvers
    acc_by_approver = accepted(approver, service="t_standard")
    sample = accepted(clerk)  # with_review: waits for review, not approval
    assert ids(selectors.queue(user=clerk, name="acceptance")) == [waiting.pk]
    assert ids(selectors.queue(user=clerk, name="approval")) == []  # clerks do not approve
    assert ids(selectors.queue(user=clerk2, name="review")) == [sample.pk]
    assert set(ids(selectors.queue(user=approver2, name="approval"))) == {mine.pk, acc_by_approver.pk}
    # separation of duties: never offered what I accepted
    assert ids(selectors.queue(user=approver, name="approval")) == [mine.pk]
    services.application_claim(application_id=mine.pk, actor=actor(approver2))
    assert ids(selectors.queue(user=approver, name="approval")) == []  # held by someone else
    assert ids(selectors.queue(user=approver2, name="claimed")) == [mine.pk]
    counts = selectors.queue_counts(user=approver2)
    assert counts["approval"] == 2 and counts["claimed"] == 1
    assert ids(selectors.queue(user=approver2, name="approval", service_code="sample")) == []


def test_post_review_queue(workday):
    reviewer = staff("clerk")
    app = submitted(service="t_urgent", data={"kind": "emergency"})
    assert ids(selectors.queue(user=reviewer, name="post_review")) == [app.pk]
    services.application_confirm(application_id=app.pk, actor=actor(reviewer))
    assert ids(selectors.queue(user=reviewer, name="post_review")) == []


def test_own_applications_never_in_my_queue(workday):
    from jiaoguan.identity.models import User

    user = citizen()
    submitted(user, "t_standard")
    User.objects.filter(pk=user.pk).update(role="clerk")
    user.refresh_from_db()
    assert ids(selectors.queue(user=user, name="acceptance")) == []


def test_due_soon_and_overdue(workday, clock):
    clerk, approver = staff("clerk"), staff("approver")
    app = accepted(clerk, service="t_standard")  # due Thu 2026-11-26
    assert ids(selectors.queue(user=approver, name="due_soon")) == []
    clock.freeze(dt.datetime(2026, 11, 25, 9, 0))  # Wed: due tomorrow
    assert ids(selectors.queue(user=approver, name="due_soon")) == [app.pk]
    services.application_claim(application_id=app.pk, actor=actor(approver))
    assert tasks.warn_due_soon() == 1 and tasks.warn_due_soon() == 0
    assert Message.objects.filter(recipient=approver, template_code="application.due_soon").count() == 1
    clock.freeze(dt.datetime(2026, 11, 27, 0, 0, 1))  # just past the end of Thursday
    assert ids(selectors.queue(user=approver, name="overdue")) == [app.pk]
    assert ids(selectors.queue(user=approver, name="due_soon")) == []
    p = selectors.progress(application=Application.objects.get(pk=app.pk))
    assert p.overdue and p.workdays_left == 0


def test_overdue_sweep_escalates_once(workday, clock):
    clerk, approver, other_approver = staff("clerk"), staff("approver"), staff("approver")
    late = [accepted(clerk, service="t_standard") for _ in range(3)]
    waiting = submitted(service="t_standard")  # not accepted: no time limit yet
    done = accepted(clerk, service="t_standard")
    services.application_approve(application_id=done.pk, actor=actor(approver))
    clock.freeze(dt.datetime(2026, 12, 1, 9, 0))
    assert services.applications_escalate_overdue(batch=2) == 3
    assert services.applications_escalate_overdue() == 0  # idempotent
    for app in late:
        app.refresh_from_db()
        assert app.overdue_at == clock.now() and app.status == "under_review"
        assert ApplicationEvent.objects.filter(application=app, action="escalate").count() == 1
    waiting.refresh_from_db()
    assert waiting.overdue_at is None
    # each approver is told once per batch (2 batches), with the references
    for who in (approver, other_approver):
        msgs = Message.objects.filter(recipient=who, template_code="application.overdue")
        assert msgs.count() == 2
        assert late[0].reference in "".join(m.body for m in msgs)
    assert Message.objects.filter(recipient=clerk, template_code="application.overdue").count() == 0
    assert AuditEntry.objects.filter(action="application.escalate").count() == 2
    assert tasks.escalate_overdue() == 0
    assert {"applications.escalate_overdue", "applications.warn_due_soon"} <= {j.name for j in jobs()}


def test_statistics_per_service(workday, clock):
    clerk, approver = staff("clerk"), staff("approver")
    on_time = accepted(clerk, service="t_standard")
    services.application_approve(application_id=on_time.pk, actor=actor(approver))
    late = accepted(clerk, service="t_standard")
    open_overdue = accepted(clerk, service="t_standard")
    submitted(service="t_auto", data={"purpose": "x"})
    clock.freeze(dt.datetime(2026, 12, 2, 9, 0))
    services.application_reject(application_id=late.pk, actor=actor(approver), comment="逾期审查不通过")
    rows = {r["service_code"]: r for r in selectors.statistics()}
    std = rows["t_standard"]
    got = (std["received"], std["done"], std["on_time"], std["late"], std["open"], std["overdue"])
    assert got == (3, 2, 1, 1, 1, 1)
    assert std["name_en"] == "Test standard service"
    assert rows["t_auto"]["done"] == rows["t_auto"]["on_time"] == 1
    assert open_overdue.pk
    assert selectors.statistics(since=clock.now()) == []


def test_staff_view_is_access_audited(workday):
    user, clerk = citizen(), staff("clerk")
    app = submitted(user, "t_standard")
    before = AuditEntry.objects.filter(kind="access").count()
    got = selectors.application_for_staff(application_id=app.pk, user=clerk, ip="10.0.0.1")
    assert got.pk == app.pk
    row = AuditEntry.objects.filter(kind="access").order_by("-id").first()
    assert AuditEntry.objects.filter(kind="access").count() == before + 1
    assert row.subject_person_id == user.person_id and row.action == "person.view" and row.actor_id == clerk.pk
    from jiaoguan.core.errors import Forbidden

    with pytest.raises(Forbidden):
        selectors.application_for_staff(application_id=app.pk, user=citizen())


def test_citizen_timeline_hides_internal_steps(workday):
    user, clerk = citizen(), staff("clerk")
    app = submitted(user, "t_standard")
    services.application_claim(application_id=app.pk, actor=actor(clerk))
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    public = [e.action for e in selectors.timeline(application=app)]
    assert public == ["submit", "accept"]
    assert [e.action for e in selectors.timeline(application=app, public_only=False)] == ["draft", "submit", "claim",
                                                                                         "accept"]
    assert selectors.my_application(user=user, application_id=app.pk).pk == app.pk
    from jiaoguan.core.errors import NotFound

    with pytest.raises(NotFound):
        selectors.my_application(user=citizen(), application_id=app.pk)


@pytest.mark.parametrize("name", ["acceptance", "overdue", "claimed"])
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_keyset_pages_walk_the_whole_queue_in_order(workday, name, limit):
    """Paging by ``after`` gives every row exactly once, in the queue's order, whatever the ties (same due time,
    same submission time) and rows without a time limit (last)."""
    import random

    from jiaoguan.core import clock

    clerk = staff("clerk")
    apps = [submitted(service="t_standard") for _ in range(12)]
    rng = random.Random(f"{name}{limit}")
    now = clock.now()
    for i, app in enumerate(apps):
        due = None if i % 5 == 0 else now - dt.timedelta(hours=rng.choice([1, 2, 2, 3]))
        Application.objects.filter(pk=app.pk).update(
            due_at=due, submitted_at=now - dt.timedelta(days=rng.choice([1, 1, 2])),
            claimed_by=clerk if name == "claimed" else None)
    whole = ids(selectors.queue(user=clerk, name=name))
    assert len(whole) >= 9 if name == "overdue" else len(whole) == 12
    walked, after, pages = [], "", 0
    while True:
        page = selectors.queue_page(user=clerk, name=name, after=after, limit=limit)
        walked += ids(page.items)
        pages += 1
        assert len(page.items) <= limit
        if not page.next_after:
            break
        after = page.next_after
    assert walked == whole and pages == max(1, -(-len(whole) // limit))


@pytest.mark.parametrize("after", ["x", "1.2.3.4", "n.n.1", "99999999999999999999999.1", "1." + "9" * 90])
def test_a_malformed_cursor_is_refused_in_chinese_and_english(workday, after):
    from jiaoguan.core.errors import InvalidInput

    clerk = staff("clerk")
    for name in ("acceptance", "approval"):
        with pytest.raises(InvalidInput) as e:
            selectors.queue_page(user=clerk, name=name, after=after)
        assert e.value.code == "applications.queue_cursor" and e.value.field == "after"


def test_counts_stop_at_the_cap(workday, monkeypatch):
    clerk = staff("clerk")
    for _ in range(4):
        submitted(service="t_standard")
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    counts = selectors.queue_counts(user=clerk)
    assert counts["acceptance"] == 3 and selectors.count_label(counts["acceptance"]) == "2+"
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    assert selectors.queue_counts(user=clerk)["acceptance"] == 4 and selectors.count_label(4) == "4"


def test_the_counts_in_one_statement_equal_each_queue_counted_alone(workday):
    clerk, approver = staff("clerk"), staff("approver")
    submitted(service="t_standard")
    accepted(clerk, service="t_standard")
    accepted(clerk)
    for user in (clerk, approver):
        for service_code in (None, "t_standard", "no_such_service"):
            alone = {n: selectors.queue_count(user=user, name=n, service_code=service_code) for n in selectors.QUEUES}
            assert selectors.queue_counts(user=user, service_code=service_code) == alone
    assert selectors.queue_counts(user=approver)["approval"] == 1
