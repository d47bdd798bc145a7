"""PostgreSQL: the same message dispatched from several workers at once goes out exactly once."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from jiaoguan.notifications import rules, services
from jiaoguan.notifications.models import Message
from jiaoguan.notifications.services import message_deliver, message_send
from jiaoguan.notifications.tasks import messages_redispatch

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
PHONE = "13912345678"
THREADS = 5


def queue_without_dispatch(monkeypatch) -> Message:
    # The row is committed but its after-commit dispatch is held back, so the threads below are the
    # first to try it (as when a broker delivers a task twice, or task and sweep run at once).
    monkeypatch.setattr(services, "messages_dispatch", lambda *, message_ids: None)
    [message] = message_send(template="otp.login", params={"code": "493817", "minutes": 5}, phone=PHONE)
    return message


def run_at_once(work) -> list:
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_five_workers_deliver_the_same_message_exactly_once(providers, monkeypatch):
    primary, secondary = providers
    primary.latency = 0.3  # the provider is slow, so the other workers arrive while the first is sending
    message = queue_without_dispatch(monkeypatch)
    results = run_at_once(lambda: message_deliver(message_id=message.pk))
    assert sorted(results) == ["", "", "", "", "delivered"]
    assert len(primary.messages) == 1 and primary.stats.calls == 1 and secondary.stats.calls == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("delivered", 1, "primary-1")


def test_five_sweeps_at_once_send_once(providers, monkeypatch, clock):
    primary, _ = providers
    primary.latency = 0.2
    message = queue_without_dispatch(monkeypatch)
    clock.advance(rules.DISPATCH_GRACE)  # its dispatch was lost: the sweeps pick it up
    run_at_once(messages_redispatch)
    assert len(primary.messages) == 1 and primary.stats.calls == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 1)
