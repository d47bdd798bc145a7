"""The delivery life cycle: one function per transition, retries with backoff, a visible failure, the sweep
(queued retries and attempts stuck in "sending")."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from jiaoguan.notifications import rules, services
from jiaoguan.notifications.models import Message
from jiaoguan.notifications.services import (
    InvalidTransition,
    message_deliver,
    message_mark_delivered,
    message_mark_failed,
    message_mark_retry,
    message_mark_sending,
    message_send,
)
from jiaoguan.notifications.sms import SendResult, SmsBackend, SmsSendError
from jiaoguan.notifications.tasks import messages_redispatch

PHONE = "13912345678"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class ScriptedBackend(SmsBackend):
    """Each call takes the next outcome: "ok", an exception to raise, or a callable run first."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str, str | None]] = []

    def send(self, phone, text, *, reference=None):
        self.calls.append((phone, text, reference))
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if callable(outcome) and not isinstance(outcome, type):
            outcome = outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        return SendResult("scripted", f"s-{len(self.calls)}")


@pytest.fixture
def scripted(monkeypatch):
    def install(*outcomes) -> ScriptedBackend:
        backend = ScriptedBackend(*outcomes)
        monkeypatch.setattr(services, "get_backend", lambda: backend)
        return backend

    return install


@pytest.fixture
def queued(db, clock, settings):
    """A queued SMS at START (delivery not yet run: no on-commit hooks inside the test transaction)."""
    settings.JIAOGUAN_DELIVERY_MAX_ATTEMPTS = 3
    settings.JIAOGUAN_DELIVERY_BACKOFF_SECONDS = 30
    clock.freeze(START)
    [message] = message_send(template="otp.login", params={"code": "493817", "minutes": 5}, phone=PHONE)
    return message


def fresh(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


# --- each transition ------------------------------------------------------------------------------------------

def test_created_to_sending_counts_the_attempt(queued):
    message_mark_sending(message=queued, now=START)
    m = fresh(queued)
    assert (m.status, m.attempts, m.sent_at) == ("sending", 1, START)


def test_created_but_not_due_cannot_start(queued):
    with pytest.raises(InvalidTransition, match="not due"):
        message_mark_sending(message=queued, now=START - dt.timedelta(seconds=1))
    assert fresh(queued).status == "created"


def test_sending_to_delivered(queued):
    message_mark_sending(message=queued, now=START)
    message_mark_delivered(message=queued, result=SendResult("p", "id-1"), now=START + dt.timedelta(seconds=2))
    m = fresh(queued)
    assert (m.status, m.provider, m.provider_message_id) == ("delivered", "p", "id-1")
    assert m.delivered_at == START + dt.timedelta(seconds=2) and m.next_attempt_at is None


def test_sending_back_to_created_must_wait(queued):
    message_mark_sending(message=queued, now=START)
    with pytest.raises(InvalidTransition, match="must wait"):
        message_mark_retry(message=queued, error="x", next_attempt_at=START, now=START)
    queued = fresh(queued)
    message_mark_retry(message=queued, error="HTTP 500", next_attempt_at=START + dt.timedelta(seconds=30), now=START)
    m = fresh(queued)
    assert (m.status, m.last_error, m.next_attempt_at) == ("created", "HTTP 500", START + dt.timedelta(seconds=30))


def test_sending_to_failed(queued):
    message_mark_sending(message=queued, now=START)
    message_mark_failed(message=queued, error="HTTP 400 invalid_number", now=START)
    m = fresh(queued)
    assert (m.status, m.failed_at, m.next_attempt_at) == ("failed", START, None)
    assert m.last_error == "HTTP 400 invalid_number"


@pytest.mark.parametrize("move", ["delivered", "failed", "retry"])
def test_nothing_skips_sending(queued, move):
    with pytest.raises(InvalidTransition, match="created → "):
        if move == "delivered":
            message_mark_delivered(message=queued, result=SendResult("p", "1"), now=START)
        elif move == "failed":
            message_mark_failed(message=queued, error="x", now=START)
        else:
            message_mark_retry(message=queued, error="x", next_attempt_at=START + dt.timedelta(1), now=START)
    assert fresh(queued).status == "created"


def test_final_states_are_final(queued):
    message_mark_sending(message=queued, now=START)
    message_mark_delivered(message=queued, result=SendResult("p", "1"), now=START)
    later = START + dt.timedelta(days=1)
    for move in (
        lambda: message_mark_sending(message=queued, now=later),
        lambda: message_mark_failed(message=queued, error="x", now=later),
        lambda: message_mark_retry(message=queued, error="x", next_attempt_at=later + dt.timedelta(1), now=later),
        lambda: message_mark_delivered(message=queued, result=SendResult("p", "2"), now=later),
    ):
        with pytest.raises(InvalidTransition):
            move()
    assert fresh(queued).status == "delivered"


def test_no_status_is_assigned_outside_the_transition_functions():
    """The rule "one function per transition" checked on the source: the only assignment to a .status attribute
    in the app is inside services._move, and no queryset update() sets status."""
    root = Path(services.__file__).parent
    offenders = []
    found_move = False
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = {
            getattr(node, "lineno", None)
            for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.name == "_move"
            and path.name == "services.py"
            for node in ast.walk(fn)
        }
        found_move = found_move or bool(allowed)
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == "status" and node.lineno not in allowed:
                    offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"update", "bulk_update"}:
                if "status" in {k.arg for k in node.keywords} or "'status'" in ast.unparse(node) \
                        or '"status"' in ast.unparse(node):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert found_move, "services._move not found"
    assert sorted(set(offenders)) == []


# --- delivery attempts ----------------------------------------------------------------------------------------

def test_delivery_success(queued, scripted):
    backend = scripted("ok")
    assert message_deliver(message_id=queued.pk) == "delivered"
    assert backend.calls == [(PHONE, queued.body, str(queued.pk))]
    m = fresh(queued)
    assert (m.status, m.attempts, m.provider, m.provider_message_id) == ("delivered", 1, "scripted", "s-1")
    assert message_deliver(message_id=queued.pk) == "" and len(backend.calls) == 1  # idempotent


def test_retryable_failure_backs_off_then_the_sweep_delivers(queued, scripted, clock):
    backend = scripted(SmsSendError("HTTP 500", retryable=True), "ok")
    assert message_deliver(message_id=queued.pk) == "created"
    m = fresh(queued)
    assert (m.attempts, m.next_attempt_at) == (1, START + dt.timedelta(seconds=30))
    assert "HTTP 500" in m.last_error
    assert messages_redispatch() == 0  # not due yet
    clock.advance(dt.timedelta(seconds=29))
    assert messages_redispatch() == 0 and len(backend.calls) == 1
    clock.advance(dt.timedelta(seconds=1))
    assert messages_redispatch() == 1
    m = fresh(queued)
    assert (m.status, m.attempts, m.delivered_at) == ("delivered", 2, START + dt.timedelta(seconds=30))
    assert messages_redispatch() == 0


def test_backoff_doubles_and_the_message_fails_visibly_after_max_attempts(queued, scripted, clock):
    backend = scripted(*[SmsSendError("timeout", retryable=True)] * 5)
    message_deliver(message_id=queued.pk)
    waits = []
    while fresh(queued).status == "created":
        m = fresh(queued)
        waits.append((m.next_attempt_at - clock.now()).total_seconds())
        clock.freeze(m.next_attempt_at)
        messages_redispatch()
    m = fresh(queued)
    assert waits == [30, 60]  # 30 × 2^(attempts−1)
    assert (m.status, m.attempts, m.failed_at) == ("failed", 3, START + dt.timedelta(seconds=90))
    assert len(backend.calls) == 3 and "timeout" in m.last_error
    clock.advance(dt.timedelta(days=1))
    assert messages_redispatch() == 0 and len(backend.calls) == 3


def test_a_permanent_failure_is_not_retried(queued, scripted, clock):
    backend = scripted(SmsSendError("HTTP 400 invalid_number", retryable=False))
    assert message_deliver(message_id=queued.pk) == "failed"
    m = fresh(queued)
    assert (m.attempts, m.failed_at) == (1, START) and "invalid_number" in m.last_error
    clock.advance(dt.timedelta(hours=1))
    assert messages_redispatch() == 0 and len(backend.calls) == 1


def test_an_unexpected_backend_exception_is_treated_as_retryable(queued, scripted):
    scripted(ValueError("bug in an adapter"))
    assert message_deliver(message_id=queued.pk) == "created"
    assert "ValueError: bug in an adapter" in fresh(queued).last_error


def test_an_attempt_stuck_in_sending_is_taken_over_by_the_sweep(queued, scripted, clock):
    backend = scripted("ok")
    message_mark_sending(message=queued, now=START)  # a worker started the attempt and died
    assert messages_redispatch() == 0
    clock.advance(rules.SENDING_STALE_AFTER - dt.timedelta(seconds=1))
    assert messages_redispatch() == 0 and backend.calls == []
    clock.advance(dt.timedelta(seconds=1))
    assert messages_redispatch() == 1
    m = fresh(queued)
    assert (m.status, m.attempts) == ("delivered", 2)
    assert backend.calls[0][2] == str(queued.pk)  # same reference: a provider can drop the duplicate


def test_a_late_outcome_of_a_taken_over_attempt_does_not_overwrite(queued, scripted, clock):
    def meanwhile():
        # the first attempt hangs so long that the sweep takes it over and delivers...
        clock.advance(rules.SENDING_STALE_AFTER)
        assert message_deliver(message_id=queued.pk) == "delivered"
        # ...and then the first attempt fails
        return SmsSendError("timed out", retryable=True)

    backend = scripted(meanwhile, "ok")
    assert message_deliver(message_id=queued.pk) == "delivered"
    m = fresh(queued)
    assert (m.status, m.attempts, m.last_error) == ("delivered", 2, "")
    assert len(backend.calls) == 2


def test_a_broker_outage_at_dispatch_loses_nothing(queued, scripted, monkeypatch, clock):
    from jiaoguan.notifications import tasks

    real_delay = tasks.message_deliver_task.delay
    broker = {"up": False}

    def delay(*args, **kwargs):
        if not broker["up"]:
            raise ConnectionError("broker unreachable")
        return real_delay(*args, **kwargs)

    scripted("ok")
    monkeypatch.setattr(tasks.message_deliver_task, "delay", delay)
    services.messages_dispatch(message_ids=[queued.pk])  # logged, not raised: the caller's request succeeds
    assert fresh(queued).status == "created"
    broker["up"] = True
    # a new message is the after-commit dispatch's for a while (a busy queue may hold it); then the sweep's
    assert messages_redispatch() == 0
    clock.advance(rules.DISPATCH_GRACE - dt.timedelta(seconds=1))
    assert messages_redispatch() == 0
    clock.advance(dt.timedelta(seconds=1))
    assert messages_redispatch() == 1
    assert fresh(queued).status == "delivered"


def test_the_sweep_is_a_registered_periodic_job():
    from jiaoguan.core.scheduler import beat_schedule

    assert beat_schedule()["notifications.messages_redispatch"]["task"] == "notifications.messages_redispatch"
