"""Fault tests (issue 12 §3): workers killed mid-task, Redis down, a backup taken under load and restored. They
need PostgreSQL and Redis and real Celery processes, so they run under ``make test-workers``
(JIAOGUAN_REAL_CELERY=1) and are skipped otherwise."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.workers.conftest import pytest_runtest_makereport  # noqa: F401 - the workers' logs on a failure
from tests.workers.support import REAL, CeleryProcesses, purge_broker, real_celery_problem


@pytest.fixture(autouse=True)
def _real_only():
    if not REAL:
        pytest.skip("fault tests run under make test-workers (JIAOGUAN_REAL_CELERY=1, PostgreSQL and Redis)")
    problem = real_celery_problem()
    if problem:
        pytest.fail(f"JIAOGUAN_REAL_CELERY=1 but {problem}")


@pytest.fixture
def celery():
    """Nothing started yet: the test starts the workers (and beat) it needs, kills some; all stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="jg-faults-") as tmp:
        procs = CeleryProcesses(Path(tmp))
        purge_broker()
        try:
            yield procs
        finally:
            procs.stop()
