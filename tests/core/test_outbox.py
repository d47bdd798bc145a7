"""Outbox events: written with the change, delivered by Celery after commit, re-dispatched by a periodic sweep
until delivered or visibly failed (ARCHITECTURE §5)."""
from __future__ import annotations

import datetime as dt
import io
import signal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from jiaoguan.core import outbox, scheduler
from jiaoguan.core.models import HolidayOverride, OutboxEvent
from jiaoguan.core.outbox import event_deliver, event_emit, events_due, subscribe, subscribers
from jiaoguan.core.tasks import outbox_redispatch
from tests.core import outbox_handlers

T0 = dt.datetime(2026, 5, 6, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _handlers(clock):
    outbox_handlers.reset()
    clock.freeze(T0)
    yield
    outbox_handlers.reset()


def redispatch() -> int:
    """Run the periodic sweep the way the scheduler does (Celery eager, no broker)."""
    return outbox_redispatch.apply().get()


def test_handlers_subscribe_by_import_path():
    assert subscribers("test.core.greeted") == ["tests.core.outbox_handlers:write_day",
                                                "tests.core.outbox_handlers:note"]
    subscribe("test.core.greeted")(outbox_handlers.note)  # subscribing twice changes nothing
    assert len(subscribers("test.core.greeted")) == 2
    assert subscribers("test.core.nobody") == []


def test_events_are_delivered_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            rows = event_emit(topic="test.core.greeted", payload={"date": "2030-01-01", "name": "元旦"})
            assert len(rows) == 2 and all(r.pk for r in rows)
            assert {r.handler for r in rows} == set(subscribers("test.core.greeted"))
            assert OutboxEvent.objects.filter(status="pending").count() == 2
            assert outbox_handlers.calls == []  # nothing runs before the commit
    assert len(callbacks) == 1
    assert sorted(name for name, _ in outbox_handlers.calls) == ["note", "write_day"]
    assert HolidayOverride.objects.get(date=dt.date(2030, 1, 1)).name == "元旦"
    for row in OutboxEvent.objects.all():
        assert (row.status, row.attempts, row.delivered_at, row.last_error) == ("delivered", 1, T0, "")


def test_many_events_of_a_topic_in_one_insert_are_delivered_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            rows = outbox.events_emit(topic="test.core.greeted", payloads=[
                {"date": "2030-01-01", "name": "元旦"}, {"date": "2030-05-01", "name": "劳动节"}])
            assert len(rows) == 4 and all(r.pk for r in rows)  # one row per event and subscriber
            assert outbox_handlers.calls == []
    assert sorted(name for name, _ in outbox_handlers.calls) == ["note", "note", "write_day", "write_day"]
    assert set(HolidayOverride.objects.values_list("name", flat=True)) == {"元旦", "劳动节"}
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    assert outbox.events_emit(topic="test.core.nobody", payloads=[{}]) == []


def test_a_rolled_back_change_emits_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            event_emit(topic="test.core.greeted", payload={"date": "2030-01-02"})
            1 / 0
    assert callbacks == []
    assert OutboxEvent.objects.count() == 0 and outbox_handlers.calls == []
    assert redispatch() == 0


def test_no_subscriber_no_row():
    assert event_emit(topic="test.core.nobody", payload={}) == []
    assert OutboxEvent.objects.count() == 0


@override_settings(JIAOGUAN_OUTBOX_BACKOFF_SECONDS=15, JIAOGUAN_OUTBOX_MAX_ATTEMPTS=8)
def test_a_failing_handler_is_retried_with_backoff_by_the_sweep(clock, django_capture_on_commit_callbacks):
    outbox_handlers.state["fail_times"] = 2
    with django_capture_on_commit_callbacks(execute=True):
        (event,) = event_emit(topic="test.core.flaky", payload={"date": "2030-02-01"})
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.last_error == "RuntimeError: provider down"
    assert event.next_attempt_at == T0 + dt.timedelta(seconds=15)
    assert not HolidayOverride.objects.exists()  # the failed handler's write was rolled back

    assert redispatch() == 0  # not due yet
    clock.advance(dt.timedelta(seconds=14))
    assert redispatch() == 0
    clock.advance(dt.timedelta(seconds=1))
    assert events_due() == [event.pk]
    assert redispatch() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 2)
    assert event.next_attempt_at == T0 + dt.timedelta(seconds=15 + 30)  # doubled

    clock.advance(dt.timedelta(seconds=30))
    assert redispatch() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("delivered", 3, "")
    assert event.delivered_at == T0 + dt.timedelta(seconds=45)
    assert HolidayOverride.objects.filter(date=dt.date(2030, 2, 1), name="flaky").count() == 1
    assert outbox_handlers.calls == [("flaky", {"date": "2030-02-01"})]

    clock.advance(dt.timedelta(days=1))
    assert redispatch() == 0  # delivered events are never delivered again
    assert event_deliver(event.pk) == ""
    assert len(outbox_handlers.calls) == 1


@override_settings(JIAOGUAN_OUTBOX_BACKOFF_SECONDS=15, JIAOGUAN_OUTBOX_MAX_ATTEMPTS=4)
def test_after_the_last_attempt_the_event_fails_visibly(clock, django_capture_on_commit_callbacks):
    outbox_handlers.state["fail_times"] = 100
    with django_capture_on_commit_callbacks(execute=True):
        (event,) = event_emit(topic="test.core.flaky", payload={"date": "2030-03-01"})
    for _ in range(10):
        clock.advance(dt.timedelta(hours=7))  # longer than any backoff
        redispatch()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 4)
    assert event.last_error == "RuntimeError: provider down"
    assert event.delivered_at is None
    assert not HolidayOverride.objects.exists()
    assert events_due() == []


def test_backoff_doubles_and_is_capped():
    with override_settings(JIAOGUAN_OUTBOX_BACKOFF_SECONDS=15):
        assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [15, 30, 60, 120]
        assert outbox.backoff(30) == dt.timedelta(hours=6)


def test_handler_writes_and_the_delivered_mark_commit_together(monkeypatch):
    (event,) = [e for e in event_emit(topic="test.core.greeted", payload={"date": "2030-04-01"})
                if e.handler.endswith(":write_day")]

    def crash(self, *args, **kwargs):
        raise OSError("database went away while marking the event")

    # the handler runs and writes, then marking the row fails: nothing of the handler may remain
    with monkeypatch.context() as m:
        m.setattr(OutboxEvent, "save", crash)
        with pytest.raises(OSError):
            event_deliver(event.pk)
    assert not HolidayOverride.objects.filter(date=dt.date(2030, 4, 1)).exists()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 0)
    # a later delivery does both
    assert event_deliver(event.pk) == "delivered"
    assert HolidayOverride.objects.filter(date=dt.date(2030, 4, 1)).count() == 1


def test_a_handler_that_cannot_be_imported_fails_like_any_other(clock):
    now = clock.now()
    event = OutboxEvent.objects.create(topic="test.core.gone", handler="tests.core.no_such_module:handler",
                                       payload={}, created_at=now, next_attempt_at=now)
    assert event_deliver(event.pk) == "pending"
    event.refresh_from_db()
    assert event.attempts == 1 and "ModuleNotFoundError" in event.last_error


def test_not_yet_due_events_wait(clock):
    now = clock.now()
    event = OutboxEvent.objects.create(topic="test.core.greeted", handler="tests.core.outbox_handlers:note",
                                       payload={"x": 1}, created_at=now, next_attempt_at=now + dt.timedelta(minutes=5))
    assert event_deliver(event.pk) == ""
    assert events_due() == []
    clock.advance(dt.timedelta(minutes=5))
    assert events_due() == [event.pk]
    assert event_deliver(event.pk) == "delivered"


def test_the_sweep_is_a_declared_periodic_job_and_run_scheduler_runs_it(clock):
    jobs = {job.name: job for job in scheduler.jobs()}
    assert jobs["core.outbox_redispatch"].seconds == 30
    assert scheduler.beat_schedule()["core.outbox_redispatch"] == {"task": "core.outbox_redispatch",
                                                                   "schedule": 30.0}
    now = clock.now()
    OutboxEvent.objects.create(topic="test.core.greeted", handler="tests.core.outbox_handlers:note",
                               payload={"via": "scheduler"}, created_at=now, next_attempt_at=now)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        call_command("run_scheduler", once=True, stdout=io.StringIO())
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert outbox_handlers.calls == [("note", {"via": "scheduler"})]
    assert OutboxEvent.objects.get().status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_delivery_after_a_real_commit():
    with transaction.atomic():
        event_emit(topic="test.core.greeted", payload={"date": "2030-05-01", "name": "劳动节"})
        assert outbox_handlers.calls == []
    assert sorted(name for name, _ in outbox_handlers.calls) == ["note", "write_day"]
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    assert HolidayOverride.objects.get(date=dt.date(2030, 5, 1)).name == "劳动节"
