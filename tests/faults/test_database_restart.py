"""Fault drill (issue 12 §3): PostgreSQL is restarted in the middle of a booking rush and of payment settlements.

A private cluster (tests/faults/cluster.py: its own data directory and port, never the shared server) gets a copy
of the test database's schema and reference data; gunicorn (2 workers, persistent connections as in production)
serves it. Clients rush a counter slot (one Idempotency-Key per citizen), order fines over the API (an
Idempotency-Key each) and deliver the channel's signed "paid" callbacks three times each. When a third of the
bookings are through, the cluster is stopped hard (``pg_ctl stop -m immediate``) and started again a moment later;
clients retry a 503 with the same request (same key, same signed body). Then it is stopped and started again while
the server is idle, and the next requests must simply work (CONN_HEALTH_CHECKS).

Asserted: no answer is a 500 (or any 5xx but 503) or a broken connection; every 503 is the JSON
``core.unavailable`` with Retry-After (a page: the 503 page); 0 seats oversold; every citizen answered 201 holds
exactly one booking and every one answered 409 none; each fine ordered once per key; each callback settled its
order exactly once (one Payment, one settlement audit row); ``audit_verify()`` is ok.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.faults.cluster import PG_BIN, available, private_postgres
from tests.processes import ROOT, DjangoProcess

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CITIZENS, SEATS, PAYERS = 90, 40, 12
RETRY_FOR_SECONDS = 40  # a client gives up retrying a 503 after this long (the drill's outage is ~1 s)


def _copy_test_database(target_url: str) -> None:
    """Schema and reference data of the (migrated, flushed) test database into the private cluster: faster than
    migrating from scratch, and the same schema the suite runs on."""
    db = connection.settings_dict
    source = f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/" \
             f"{db['NAME']}"
    env = {"PGPASSWORD": db.get("PASSWORD") or ""}
    dump = subprocess.Popen([str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges", "-d", source],
                            stdout=subprocess.PIPE, env=env)
    restore = subprocess.run([str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", target_url],
                             stdin=dump.stdout, capture_output=True, text=True, timeout=120)
    assert dump.wait(timeout=120) == 0 and restore.returncode == 0, restore.stderr[-2000:]


class Http:
    """One keep-alive connection per thread to the server; every answer recorded."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.bad: list[str] = []      # a 5xx other than a proper 503, a broken connection
        self.unavailable = 0          # proper 503s seen

    def _conn(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return self.local.conn

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        try:
            conn = self._conn()
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            answer = (response.status, data, {k.lower(): v for k, v in response.getheaders()})
        except (OSError, http.client.HTTPException) as exc:
            self.local.conn = None
            with self.lock:
                self.bad.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return 0, b"", {}
        status, data, hdrs = answer
        with self.lock:
            self.statuses[status] += 1
            if status == 503:
                proper = "retry-after" in hdrs and (
                    (path.startswith("/api/") and json.loads(data).get("code") == "core.unavailable")
                    or (not path.startswith("/api/") and b'data-code="core.unavailable"' in data))
                if proper:
                    self.unavailable += 1
                else:
                    self.bad.append(f"{method} {path}: improper 503 {hdrs} {data[:200]!r}")
            elif status >= 500:
                self.bad.append(f"{method} {path}: {status} {data[:300]!r}")
        return answer

    def until_served(self, method: str, path: str, body: bytes | None = None,
                     headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """The same request again (same Idempotency-Key, same signed body) while the answer is 503."""
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            status, data, hdrs = self.request(method, path, body, headers)
            if status not in (503, 0) or time.monotonic() > deadline:
                return status, data
            time.sleep(min(float(hdrs.get("retry-after", "1")), 0.2))


def _gunicorn(url: str, port: int, log: Path) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src"),
           "JIAOGUAN_PAY_SIM_AUTO_NOTIFY": "0", "JIAOGUAN_DB_CONN_MAX_AGE": "60", "DJANGO_SETTINGS_MODULE":
           "jiaoguan.settings", "JIAOGUAN_VAR_DIR": str(log.parent), "JIAOGUAN_SMS_OUTBOX_FILE": str(log.parent / "sms.log")}
    out = open(log, "ab")
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "jiaoguan.wsgi", "--pythonpath", str(ROOT / "src"),
                               "--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60",
                               "--log-level", "warning"],
                              cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    out.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"gunicorn did not start: {log.read_text()[-2000:]}")


def _stop(server: subprocess.Popen) -> None:
    import os
    import signal

    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.mark.skipif(bool(available()), reason=str(available()))
def test_postgresql_restarted_mid_rush_gives_503s_then_everything_happens_exactly_once(tmp_path):
    import socket

    with private_postgres() as pg:
        url = pg.create_database("jiaoguan_fault")
        _copy_test_database(url)
        env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "JIAOGUAN_DB_CONN_MAX_AGE": "0",
               "DJANGO_SETTINGS_MODULE": "jiaoguan.settings", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
               "JIAOGUAN_PAY_SIM_AUTO_NOTIFY": "0", "JIAOGUAN_FAST_HASHER": "1", "PYTHONDONTWRITEBYTECODE": "1",
               "JIAOGUAN_SMS_OUTBOX_FILE": str(tmp_path / "sms.log"), "JIAOGUAN_VAR_DIR": str(tmp_path)}
        proc = DjangoProcess(env)
        try:
            assert proc.receive() == "ready"
            world = proc.call("tests.faults.procs_restart:seed", citizens=CITIZENS, seats=SEATS, payers=PAYERS)
        finally:
            proc.stop()

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = _gunicorn(url, port, tmp_path / "gunicorn.log")
        client = Http(port)
        booked = threading.Semaphore(0)
        finals: dict[str, dict] = {"book": {}, "order": {}, "settle": {}}

        def book(citizen: dict) -> None:
            key = uuid.uuid4().hex
            headers = {"Authorization": f"Bearer {citizen['token']}", "Content-Type": "application/json",
                       "Idempotency-Key": key}
            status, data = client.until_served("POST", "/api/v1/me/appointments",
                                               json.dumps({"slot_id": world["slot_id"]}).encode(), headers)
            finals["book"][citizen["user_id"]] = status
            booked.release()
            time.sleep(0.02)  # a steady rush, so that the restart lands in its middle

        def pay(payer: dict) -> None:
            headers = {"Authorization": f"Bearer {payer['token']}", "Content-Type": "application/json",
                       "Idempotency-Key": uuid.uuid4().hex}
            body = json.dumps({"item_ids": [payer["unpaid_item"]]}).encode()
            status, data = client.until_served("POST", "/api/v1/payments/orders", body, headers)
            finals["order"][payer["person_id"]] = (status, json.loads(data).get("reference") if data else None)
            outcomes = []
            for _ in range(3):  # the channel delivers its callback again and again
                headers = {"Content-Type": "application/json", **payer["callback_headers"]}
                status, data = client.until_served("POST", "/api/v1/payments/callback/sim",
                                                   payer["callback_body"].encode(), headers)
                outcomes.append((status, json.loads(data).get("result") if status == 200 else data[:100]))
                time.sleep(0.1)
            finals["settle"][payer["person_id"]] = outcomes

        pages: Counter = Counter()
        stop_pages = threading.Event()

        def browse() -> None:  # a signed-in page (its session lives in the database) throughout the drill
            while not stop_pages.is_set():
                status, _data, _h = client.request("GET", "/me/appointments/",
                                                   headers={"Cookie": "sessionid=" + "x" * 32})
                pages[status] += 1
                time.sleep(0.05)

        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                browser = threading.Thread(target=browse)
                browser.start()
                jobs = [pool.submit(pay, p) for p in world["payers"]]
                jobs += [pool.submit(book, c) for c in world["rush"]]
                for _ in range(CITIZENS // 3):
                    assert booked.acquire(timeout=60), "the rush stalled before the restart"
                before = client.unavailable
                pg.stop("immediate")
                time.sleep(1.0)
                pg.start()
                for job in jobs:
                    job.result(timeout=120)
                stop_pages.set()
                browser.join(timeout=30)
            during = client.unavailable - before
            # idle: the workers' persistent connections die with the server; the next requests must just work
            pg.stop("immediate")
            pg.start()
            after = [client.request("GET", "/api/v1/me/appointments",
                                    headers={"Authorization": f"Bearer {world['rush'][i]['token']}"})[0]
                     for i in range(6)]
        finally:
            _stop(server)

        proc = DjangoProcess(env)
        try:
            assert proc.receive() == "ready"
            db = proc.call("tests.faults.procs_restart:outcome", slot_id=world["slot_id"], payers=world["payers"])
        finally:
            proc.stop()

    print(f"\ndrill: answers {dict(client.statuses)}; 503 during the restart {during}; pages {dict(pages)}; "
          f"bookings {dict(Counter(finals['book'].values()))}; after the idle restart {after}; "
          f"settlements {Counter(o for outcomes in finals['settle'].values() for _, o in outcomes)}")
    assert client.bad == [], client.bad[:10]
    assert during > 0, "no request met the restart: the drill proved nothing"
    assert 500 not in pages and 503 in pages, pages
    assert after == [200] * 6, after
    # bookings: 0 oversold, each 201 exactly one live booking, each 409 none
    assert db["oversold"] == 0 and db["live_bookings"] <= db["capacity"], db
    assert set(Counter(finals["book"].values())) <= {201, 409}, Counter(finals["book"].values())
    winners = {str(u) for u, s in finals["book"].items() if s == 201}
    assert set(db["bookings_per_user"]) == winners and set(db["bookings_per_user"].values()) <= {1}, db
    assert len(winners) == min(SEATS, CITIZENS)
    # payments: one order per key, one settlement per order
    for person_id, (status, reference) in finals["order"].items():
        row = db["payers"][str(person_id)]
        assert status == 201 and row["orders_for_unpaid_item"] == [reference], (status, reference, row)
    for person_id, outcomes in finals["settle"].items():
        row = db["payers"][str(person_id)]
        assert [o for _, o in outcomes].count("settled") <= 1, outcomes
        assert all(s == 200 and o in ("settled", "duplicate") for s, o in outcomes), outcomes
        assert (row["paid_order_status"], row["payments"], row["settle_audits"]) == ("paid", 1, 1), row
    assert db["audit_ok"], db
