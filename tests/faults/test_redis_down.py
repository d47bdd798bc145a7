"""Redis down. Rate limits in front of an SMS (and a login) fail CLOSED: a clean 503 core.unavailable, no code
issued, no SMS written; the public verification of an e-credential (a read) fails OPEN: still served. Outbox
events written while the broker is down are not lost: they stay in the outbox table and beat's sweep
(core.outbox_redispatch) sends them once the broker is back."""
from __future__ import annotations

import socket

import pytest
from django.test import override_settings

from jiaoguan.core.models import OutboxEvent
from jiaoguan.identity.models import SmsCode
from jiaoguan.notifications.models import Message
from tests.bookings.support import user
from tests.credentials.conftest import holder, issue
from tests.processes import django_processes
from tests.workers.support import ALL_QUEUES, wait_for

pytestmark = [pytest.mark.faults]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free now, nobody listening once closed


def redis_down():
    url = f"redis://127.0.0.1:{closed_port()}/0"
    return override_settings(CACHES={"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}})


@pytest.mark.django_db
def test_sms_limits_fail_closed_and_public_reads_fail_open(client):
    credential = issue(holder())  # made while the cache works (registration sends a code)
    codes, messages = SmsCode.objects.count(), Message.objects.count()
    with redis_down():
        r = client.post("/api/v1/auth/sms-code", {"phone": "13900007777", "purpose": "register"},
                        content_type="application/json")
        assert r.status_code == 503 and r.json()["code"] == "core.unavailable", r.content
        r = client.post("/api/v1/auth/login", {"login": "13900007777", "password": "wrong-password-1",
                                               "mode": "token"}, content_type="application/json")
        assert r.status_code == 503 and r.json()["code"] == "core.unavailable", r.content
        for _ in range(3):  # served, unlimited, while the cache is down
            r = client.get(f"/api/v1/credentials/verify?number={credential.number}&token={credential.token}")
            assert r.status_code == 200 and r.json()["valid"] is True
    assert (SmsCode.objects.count(), Message.objects.count()) == (codes, messages)  # no code, no SMS


@pytest.mark.django_db(transaction=True)
def test_outbox_events_written_while_the_broker_is_down_are_sent_by_the_sweep_when_it_is_back(celery, monkeypatch):
    u = user()
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")
    with django_processes(1) as (web,):
        answer = web.call("tests.faults.procs:notice_emit", user_id=u.pk, phone="13900008888", code="975310")
    (event_id,) = answer["ids"]
    assert answer["seconds"] < 30  # the commit did not hang on the broker (publish retries are bounded)
    event = OutboxEvent.objects.get(pk=event_id)
    assert (event.status, event.attempts) == (OutboxEvent.Status.PENDING, 0)  # kept, not lost
    assert not Message.objects.filter(recipient=u).exists()

    celery.wait_ready(celery.worker(ALL_QUEUES))  # the broker is back: a worker and beat start on it
    celery.beat()
    wait_for(lambda: OutboxEvent.objects.filter(pk=event_id, status=OutboxEvent.Status.DELIVERED).exists(),
             what="the sweep sending the event kept while the broker was down")
    mine = Message.objects.filter(recipient=u)
    wait_for(lambda: mine.filter(channel="sms", status=Message.Status.DELIVERED).exists(), what="its SMS sent")
    assert sorted(mine.values_list("channel", flat=True)) == ["inbox", "sms"]
