from __future__ import annotations

import pytest

from tests.workers.support import REAL, celery_processes, real_celery_problem


@pytest.fixture(scope="module")
def workers(django_db_setup):
    """Real workers (one per named queue) and beat for this module's tests with JIAOGUAN_REAL_CELERY=1; None
    (Celery eager) otherwise. Asked for and impossible is a failure, not a skip."""
    if not REAL:
        yield None
        return
    problem = real_celery_problem()
    if problem:
        pytest.fail(f"JIAOGUAN_REAL_CELERY=1 but {problem}")
    with celery_processes() as procs:
        yield procs


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        procs = item.funcargs.get("workers") or item.funcargs.get("celery")
        if procs is not None:
            report.sections.append(("celery processes' logs", procs.logs()))
    return report
