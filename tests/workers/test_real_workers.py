"""Outbox, notification and allocation-publication paths through Celery: real workers (one per named queue) and
beat on Redis with JIAOGUAN_REAL_CELERY=1 (``make test-workers``), Celery eager otherwise. The workers read the
test database, so every test commits (transaction=True) and waits for the effects with a bounded poll."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q

from jiaoguan.bookings import tasks as booking_tasks
from jiaoguan.bookings.models import Application, Slot
from jiaoguan.core import clock
from jiaoguan.core import tasks as core_tasks
from jiaoguan.core.models import OutboxEvent
from jiaoguan.core.outbox import event_emit
from jiaoguan.notifications.models import Message
from jiaoguan.notifications.services import message_send
from tests.bookings.support import apply, ranked_slot, user
from tests.workers.support import REAL, wait_for

pytestmark = [pytest.mark.real_celery, pytest.mark.django_db(transaction=True)]

PHONE = "13900001234"


def periodic_tick(task) -> None:
    """What beat does on its own with real workers: run the periodic job now (eager runs only)."""
    if not REAL:
        task.apply()


def delivered(event_ids) -> bool:
    return OutboxEvent.objects.filter(pk__in=event_ids, status=OutboxEvent.Status.DELIVERED).count() == len(event_ids)


def test_an_outbox_event_reaches_its_handler_and_its_sms_goes_out(workers):
    import tests.workers.handlers  # noqa: F401 - subscribes the handler in this process, which emits

    u = user()
    events = event_emit(topic="test.workers.notice", payload={"user_id": u.pk, "phone": PHONE, "code": "246810"})
    assert [e.handler for e in events] == ["tests.workers.handlers:notice"]
    wait_for(lambda: delivered([events[0].pk]), what="the outbox event delivered (queue outbox)")
    mine = Message.objects.filter(recipient=u, template_code="otp.login")
    assert sorted(mine.values_list("channel", flat=True)) == ["inbox", "sms"]
    wait_for(lambda: mine.filter(channel="sms", status=Message.Status.DELIVERED).exists(),
             what="the SMS delivered (queue sms)")
    sms = mine.get(channel="sms")
    assert sms.attempts == 1 and sms.provider == "console"


def test_an_sms_is_delivered_once_by_the_sms_queue(workers):
    u = user()
    sent = message_send(template="otp.login", params={"code": "135790", "minutes": 5}, user=u, phone=PHONE,
                        channels=("sms",))
    wait_for(lambda: Message.objects.filter(pk=sent[0].pk, status=Message.Status.DELIVERED).exists(),
             what="the SMS delivered")
    assert Message.objects.get(pk=sent[0].pk).attempts == 1


def test_the_sweep_sends_an_event_whose_dispatch_was_lost(workers):
    """An event row that never reached the broker (a crash between commit and publish, a broker outage) is sent
    by beat's core.outbox_redispatch (every 30 s in production; every second in this run)."""
    u = user()
    now = clock.now()
    row = OutboxEvent.objects.create(topic="test.workers.notice", handler="tests.workers.handlers:notice",
                                     payload={"user_id": u.pk, "phone": PHONE, "code": "112233"},
                                     created_at=now, next_attempt_at=now)
    periodic_tick(core_tasks.outbox_redispatch)
    wait_for(lambda: delivered([row.pk]), what="the sweep delivering the lost event (queue periodic → outbox)")
    assert Message.objects.filter(recipient=u, template_code="otp.login", channel="inbox").count() == 1


def test_the_allocation_job_runs_under_beat_and_its_results_reach_every_applicant_once(workers):
    s = ranked_slot(capacity=1)
    applicants = [user() for _ in range(3)]
    for i, u in enumerate(applicants):
        apply(s, u, f"k{i}", clock.now() - dt.timedelta(days=i))
    # the window closes now (beat runs bookings.applications_allocate, every 5 minutes in production)
    Slot.objects.filter(pk=s.pk).update(closes_at=clock.now() - dt.timedelta(seconds=1))
    periodic_tick(booking_tasks.applications_allocate)
    wait_for(lambda: Slot.objects.filter(pk=s.pk, status=Slot.Status.ALLOCATED).exists(),
             what="the slot allocated by beat's job (queue periodic)")
    event = OutboxEvent.objects.get(topic="bookings.slot_allocated", payload__slot_id=s.pk)
    wait_for(lambda: delivered([event.pk]), what="bookings.slot_allocated delivered (queue outbox)")
    inbox = Message.objects.filter(channel="inbox", recipient__in=applicants).filter(
        Q(template_code="booking.allocated") | Q(template_code="booking.unsuccessful"))
    assert sorted(inbox.values_list("template_code", flat=True)) == [
        "booking.allocated", "booking.unsuccessful", "booking.unsuccessful"]
    assert Application.objects.filter(slot=s, meta__notified=True).count() == 3
