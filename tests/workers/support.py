"""Real Celery workers and beat for the tests, against the test database (issue 12 §3).

With ``JIAOGUAN_REAL_CELERY=1`` (``make test-workers``: PostgreSQL, and CELERY_BROKER_URL pointing at Redis) the
``celery_processes`` fixture starts ``celery -A jiaoguan worker -Q <queue>`` — one per named queue, as in
production (settings.JIAOGUAN_CELERY_QUEUES) — and ``celery -A jiaoguan beat`` as subprocesses on the test
database, so the tests that use it must commit what the workers are to see (``django_db(transaction=True)``) and
wait for the effects with ``wait_for`` (polling until a bounded deadline; never a timed assertion). Without it the
same tests run with Celery eager (tasks run on commit, in the test's process), and ``periodic_tick`` runs a
periodic job that beat would have run.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.processes import ROOT, _database_env

REAL = os.environ.get("JIAOGUAN_REAL_CELERY") == "1"
ALL_QUEUES = ",".join(settings.JIAOGUAN_CELERY_QUEUES)  # one worker for all (fault tests: one start, not five)
DEADLINE_SECONDS = float(os.environ.get("JIAOGUAN_REAL_CELERY_DEADLINE", "120"))  # a shared CI machine can be slow


def real_celery_problem() -> str | None:
    """Why real workers cannot run here (None when they can)."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "real workers need PostgreSQL (set DATABASE_URL): they share the test database"
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        return "real workers need CELERY_BROKER_URL=redis://… (make test-workers sets it)"
    if not redis_up(url):
        return f"the broker {url} is not reachable"
    return None


def redis_up(url: str) -> bool:
    u = urllib.parse.urlparse(url)
    try:
        socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=2).close()
    except OSError:
        return False
    return True


def wait_for(predicate: Callable[[], Any], *, what: str, timeout: float | None = None) -> Any:
    """Poll ``predicate`` until it returns something true; fail naming ``what`` after the deadline."""
    deadline = time.monotonic() + (timeout or DEADLINE_SECONDS)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout or DEADLINE_SECONDS:.0f} s for: {what}")
        time.sleep(0.2)


class CeleryProcesses:
    """Worker and beat subprocesses on the test database; each in its own process group, so a kill reaches the
    worker's pool processes too (as the loss of a machine or a container would)."""

    def __init__(self, workdir: Path, *, beat_cap: float = 1.0, database_url: str | None = None) -> None:
        self.workdir = workdir
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "JIAOGUAN_SQLITE_PATH", "PYTEST_XDIST_WORKER")}
        env.update(_database_env(workdir))
        if database_url:  # another database than the test's (a restored backup)
            env["DATABASE_URL"] = database_url
        env.update({"DJANGO_SETTINGS_MODULE": "jiaoguan.settings", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
                    "JIAOGUAN_SMS_OUTBOX_FILE": str(workdir / "sms-outbox.log"), "PYTHONDONTWRITEBYTECODE": "1",
                    "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "JG_TEST_BEAT_CAP": str(beat_cap),
                    # a whole worker killed: its unacknowledged task goes to another worker within seconds
                    "JIAOGUAN_CELERY_VISIBILITY_TIMEOUT": "4", "JIAOGUAN_CELERY_RESTORE_INTERVAL": "1"})
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.log_of: dict[int, Path] = {}
        self._n = 0

    def _start(self, args: list[str], *, log: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        out = (self.workdir / log).open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "tests.workers.celery_main", *args], cwd=ROOT,
                                env={**self.env, **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        self.log_of[proc.pid] = self.workdir / log
        return proc

    def worker(self, queues: str, *, pause_dir: Path | None = None, concurrency: int = 1) -> subprocess.Popen:
        self._n += 1
        name = f"w{self._n}-{queues.replace(',', '-')}"
        extra = {"JG_TEST_PAUSE_DIR": str(pause_dir)} if pause_dir else None
        return self._start(["worker", "-Q", queues, "-c", str(concurrency), "-n", f"{name}@%h", "-l", "INFO",
                            "--without-gossip", "--without-mingle", "--without-heartbeat"],
                           log=f"{name}.log", extra_env=extra)

    def beat(self) -> subprocess.Popen:
        return self._start(["beat", "-l", "INFO", "-s", str(self.workdir / "celerybeat-schedule"),
                            "--pidfile="], log="beat.log")

    def wait_ready(self, proc: subprocess.Popen) -> None:
        """Until the worker consumes (its log says "ready"), or fail with its log."""
        log = self.log_of[proc.pid]
        wait_for(lambda: proc.poll() is not None or b" ready." in log.read_bytes(), what=f"{log.name} ready")
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def stop(self) -> None:
        """At the end of a test: killed at once (a warm shutdown takes seconds; what they leave in the broker is
        purged before the next start, in the database flushed with the test's)."""
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.workdir.glob("*.log"))


def purge_broker() -> None:
    """Empty the broker's Redis database (queues, unacknowledged messages) left by an earlier test."""
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@contextlib.contextmanager
def celery_processes(*, beat: bool = True, queues: tuple[str, ...] | None = None) -> Iterator[CeleryProcesses]:
    """One worker per named queue (and beat), started and ready; killed at the end."""
    with tempfile.TemporaryDirectory(prefix="jg-celery-") as tmp:
        procs = CeleryProcesses(Path(tmp))
        purge_broker()
        try:
            started = [procs.worker(q) for q in (queues or settings.JIAOGUAN_CELERY_QUEUES)]
            for proc in started:
                procs.wait_ready(proc)
            if beat:
                procs.beat()
            yield procs
        except BaseException:
            sys.stderr.write(procs.logs())
            raise
        finally:
            procs.stop()
