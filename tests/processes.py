"""Real separate processes for the cross-process tests: each one a Python interpreter with its own Django set-up,
its own cache backend and its own database connection, as each gunicorn worker of ``make run`` is.

They work on the test's database: on PostgreSQL the test database itself, on SQLite (whose test database lives in
the test process's memory) a file copy of it made when they start. So the test must commit what they are to see:
mark it ``django_db(transaction=True)``.

    with django_processes(2) as (a, b):
        answers = call_together([(a, "tests.identity.procs:sms_code", {"phone": p, "ip": "10.0.0.1"}),
                                 (b, "tests.identity.procs:sms_code", {"phone": p, "ip": "10.0.0.2"})])

``call_together`` sends every call before reading any answer, so the processes run them at the same moment.
A call names a function ``module:name`` taking and returning JSON values.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
_MARK = "@@answer "


class DjangoProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.processes"], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def send(self, call: str, kwargs: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"call": call, "kwargs": kwargs}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> Any:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(_MARK):
                answer = json.loads(line[len(_MARK):])
                if "crash" in answer:
                    raise RuntimeError(f"the process failed: {answer['crash']}")
                return answer["value"]
        raise RuntimeError(f"the process ended (exit code {self.proc.wait()})")

    def call(self, call: str, **kwargs: Any) -> Any:
        self.send(call, kwargs)
        return self.receive()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _database_env(workdir: Path) -> dict[str, str]:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user, password = db.get("USER") or "", db.get("PASSWORD") or ""
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return {"DATABASE_URL": f"postgres://{auth}{host}:{port}/{db['NAME']}", "JIAOGUAN_DB_CONN_MAX_AGE": "0"}
    assert connection.vendor == "sqlite", connection.vendor
    path = workdir / "db.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)  # the test database, as committed so far
    finally:
        target.close()
    return {"JIAOGUAN_SQLITE_PATH": str(path)}


@contextlib.contextmanager
def django_processes(n: int) -> Iterator[list[DjangoProcess]]:
    with tempfile.TemporaryDirectory(prefix="jg-procs-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "JIAOGUAN_SQLITE_PATH", "PYTEST_XDIST_WORKER", "REDIS_URL")}
        env.update(_database_env(workdir))
        env.update({"DJANGO_SETTINGS_MODULE": "jiaoguan.settings", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
                    "JIAOGUAN_SMS_OUTBOX_FILE": str(workdir / "sms-outbox.log"), "PYTHONDONTWRITEBYTECODE": "1"})
        if settings.REDIS_URL:  # the suite runs against Redis: the processes share this test worker's database
            env["REDIS_URL"] = settings.REDIS_URL
        procs = [DjangoProcess(env) for _ in range(n)]
        try:
            for p in procs:
                assert p.receive() == "ready"
            yield procs
        finally:
            for p in procs:
                p.stop()


def call_together(calls: list[tuple[DjangoProcess, str, dict[str, Any]]]) -> list[Any]:
    for proc, call, kwargs in calls:
        proc.send(call, kwargs)
    return [proc.receive() for proc, _, _ in calls]


def _serve() -> None:  # pragma: no cover - runs in the child processes
    import django

    django.setup()
    from django.db import connection as conn

    conn.ensure_connection()

    def answer(payload: dict[str, Any]) -> None:
        sys.stdout.write(_MARK + json.dumps(payload, default=str) + "\n")
        sys.stdout.flush()

    answer({"value": "ready"})
    for line in sys.stdin:
        request = json.loads(line)
        module, _, name = request["call"].partition(":")
        try:
            value = getattr(importlib.import_module(module), name)(**request["kwargs"])
        except Exception as exc:  # noqa: BLE001 - reported to the test
            answer({"crash": f"{type(exc).__name__}: {exc}"})
        else:
            answer({"value": value})


if __name__ == "__main__":  # pragma: no cover
    _serve()
