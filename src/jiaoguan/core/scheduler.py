"""Periodic jobs, declared once: Celery beat runs them in production, ``manage.py run_scheduler`` in the
embedded set-up. Each app declares its jobs in its tasks module:

    @periodic(seconds=60)
    @shared_task(name="core.outbox_redispatch")
    def outbox_redispatch(): ...
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    seconds: int
    task: Any  # a Celery task: .apply(), .delay()


_jobs: dict[str, PeriodicJob] = {}


def periodic(*, seconds: int) -> Callable[[Any], Any]:
    def register(task: Any) -> Any:  # a Celery task (Celery has no type information)
        _jobs[task.name] = PeriodicJob(task.name, seconds, task)
        return task

    return register


def jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {job.name: {"task": job.name, "schedule": float(job.seconds)} for job in jobs()}


def task_route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any) -> dict[str, str]:
    """Celery's router (settings.CELERY_TASK_ROUTES): the named queue of a task. settings.JIAOGUAN_TASK_QUEUES
    first, then "periodic" for a job declared here, then settings.CELERY_TASK_DEFAULT_QUEUE."""
    from django.conf import settings

    queue = settings.JIAOGUAN_TASK_QUEUES.get(name)
    if queue is None:
        queue = "periodic" if name in _jobs else settings.CELERY_TASK_DEFAULT_QUEUE
    return {"queue": queue}


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the loop of a long-running command (``run_scheduler``, ``audit_seal
    --loop``) runs while it is not set and so finishes the round it is in."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop
