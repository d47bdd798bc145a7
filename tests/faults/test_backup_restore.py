"""A backup taken under load and restored: pg_dump of the database while two processes write (audited changes,
each with an outbox event), pg_restore into a new database, then ``manage.py audit_verify`` passes there and the
outbox resumes — the events pending in the backup are delivered by workers and beat started on the restored
database, each exactly once. (docs/deployment.md "Backups and restore" is this procedure.)"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.faults.test_redis_down import closed_port
from tests.processes import ROOT, django_processes
from tests.workers.support import ALL_QUEUES, CeleryProcesses, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _url(name: str) -> str:
    db = connection.settings_dict
    user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def _pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db.get("HOST") or "127.0.0.1", "PGPORT": str(db.get("PORT") or 5432),
           "PGUSER": db.get("USER") or "postgres"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _one(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]


def _admin(sql: str) -> None:
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def audit_verify(url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER",)}
    env.update({"DATABASE_URL": url, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"})
    return subprocess.run([sys.executable, "manage.py", "audit_verify", "--skip-checks"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_backup_taken_under_load_restores_verifies_and_its_outbox_resumes(monkeypatch):
    source = connection.settings_dict["NAME"]
    restored = f"{source}_restored"
    _admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
    with tempfile.TemporaryDirectory(prefix="jg-backup-") as tmp:
        work, stop = Path(tmp), Path(tmp) / "stop"
        dump = work / "backup.dump"
        # the writers' broker is down, so their events stay pending in the outbox: what the restore must resume
        monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")
        with django_processes(2) as writers:
            for w in writers:
                w.send("tests.faults.procs:write_load", {"stop_file": str(stop)})
            wait_for(lambda: _one(_url(source), "SELECT count(*) FROM core_outboxevent") >= 5,
                     what="the writers under way")
            subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source], env=_pg_env(),
                           check=True, timeout=300)  # one consistent snapshot while they write
            time.sleep(0.5)  # and they keep writing after it
            stop.touch()
            writes = sum(w.receive()["writes"] for w in writers)
        monkeypatch.undo()

        _admin(f'CREATE DATABASE "{restored}"')
        try:
            subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
                           env=_pg_env(), check=True, timeout=300)
            url = _url(restored)
            pending = "SELECT count(*) FROM core_outboxevent WHERE status = 'pending'"
            in_backup = _one(url, pending)
            # a snapshot taken mid-load: some of the writes, not all
            assert 0 < in_backup < writes == _one(_url(source), "SELECT count(*) FROM core_outboxevent")

            result = audit_verify(url)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "audit chain intact" in result.stdout

            procs = CeleryProcesses(work, database_url=url)
            try:
                procs.wait_ready(procs.worker(ALL_QUEUES))  # one worker for every queue: quicker to start
                procs.beat()
                wait_for(lambda: _one(url, pending) == 0, what="the restored outbox drained by the sweep")
                wait_for(lambda: _one(url, "SELECT count(*) FROM notifications_message WHERE channel = 'sms' "
                                           "AND status <> 'delivered'") == 0, what="their SMS sent")
                # the audit sealer (core.audit_seal, beat → queue audit) seals what was waiting in the backup and
                # what the workers wrote since: waited for while beat and the worker still run
                wait_for(lambda: _one(url, "SELECT count(*) FROM core_auditpending") == 0,
                         what="the audit entries sealed by beat's core.audit_seal")
            except BaseException:
                sys.stderr.write(procs.logs())
                raise
            finally:
                procs.stop()
            # each event's effect once: one inbox message per delivered notice, one SMS
            notices = _one(url, "SELECT count(*) FROM core_outboxevent WHERE topic = 'test.workers.notice'")
            assert _one(url, "SELECT count(*) FROM notifications_message WHERE channel = 'inbox' "
                             "AND template_code = 'otp.login'") == notices
            assert _one(url, "SELECT count(*) FROM notifications_message WHERE channel = 'sms' "
                             "AND template_code = 'otp.login'") == notices
            result = audit_verify(url)  # and still intact after the workers wrote there
            assert result.returncode == 0, result.stdout + result.stderr
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
