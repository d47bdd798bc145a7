"""A worker killed with SIGKILL in the middle of a task (acks_late): the task goes to another worker and its
effect — an outbox event's inbox message and SMS — happens exactly once.

The outbox handler runs in the transaction that marks its row delivered (core.outbox.event_deliver), so the
killed attempt's rows die with its connection; the broker still holds the unacknowledged message and hands it
to the next worker. No beat runs here: the redelivery is the broker's, not the outbox sweep's."""
from __future__ import annotations

import os
import signal

import pytest

from jiaoguan.core.models import OutboxEvent
from jiaoguan.core.outbox import event_emit
from jiaoguan.notifications.models import Message
from tests.bookings.support import user
from tests.workers.support import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("what", ["whole_worker", "pool_process"])
def test_a_task_killed_mid_way_is_redelivered_and_its_effect_happens_once(celery, what):
    import tests.workers.handlers  # noqa: F401 - subscribes the handler in this process, which emits

    pause = celery.workdir / "pause"
    pause.mkdir()
    (pause / "pause").touch()
    first = celery.worker("outbox,sms", pause_dir=pause)
    celery.wait_ready(first)

    u = user()
    (event,) = event_emit(topic="test.workers.notice", payload={"user_id": u.pk, "phone": "13900005678",
                                                                  "code": "864209"})
    reached = wait_for(lambda: list(pause.glob("reached-*")), what="the handler paused after its work")
    mine = Message.objects.filter(recipient=u)
    assert not mine.exists()  # written in the task's transaction, not committed
    (pause / "pause").unlink()  # the next attempt runs through
    if what == "whole_worker":
        celery.kill(first)  # the process group: the worker and its pool process, as a lost machine
        assert first.returncode == -signal.SIGKILL
        celery.wait_ready(celery.worker("outbox,sms"))  # a new worker takes the unacknowledged task
    else:
        os.kill(int(reached[0].name.split("-")[1]), signal.SIGKILL)  # the pool process only (OOM killer)

    wait_for(lambda: OutboxEvent.objects.filter(pk=event.pk, status=OutboxEvent.Status.DELIVERED).exists(),
             what="the event delivered by the next attempt")
    wait_for(lambda: mine.filter(channel="sms", status=Message.Status.DELIVERED).exists(), what="the SMS sent")
    assert sorted(mine.values_list("channel", flat=True)) == ["inbox", "sms"]  # once, not twice
    assert OutboxEvent.objects.get(pk=event.pk).attempts == 1  # the killed attempt left nothing, not even a count
    assert mine.get(channel="sms").attempts == 1
