"""Periodic jobs, declared once: Celery beat runs them in production, ``manage.py run_scheduler`` in the
embedded set-up. Each app declares its jobs in its tasks module:

    @periodic(seconds=60)
    @shared_task(name="core.outbox_redispatch")
    def outbox_redispatch(): ...
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    seconds: int
    task: object


_jobs: dict[str, PeriodicJob] = {}


def periodic(*, seconds: int):
    def register(task):
        _jobs[task.name] = PeriodicJob(task.name, seconds, task)
        return task

    return register


def jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def beat_schedule() -> dict:
    return {job.name: {"task": job.name, "schedule": float(job.seconds)} for job in jobs()}
