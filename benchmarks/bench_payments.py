"""Duplicate-callback settlement on gunicorn + PostgreSQL, next to a no-op endpoint of the same server.

N orders are made ready to settle (created, started at the simulator channel, paid there, their callbacks held
back); then each order's signed "paid" callback is delivered K times over HTTP, the K copies of one order in
flight at the same time (a thread pool pulls them in order, so neighbours race on the same order). Printed:
callbacks/s, p50 and p99 latency, the outcomes ("settled" must be N, "duplicate" N×(K−1)), and the count of double
settlements — orders with more than one Payment row or more than one settlement audit row (must be 0) — beside
GET /api/v1/health (no-op baseline: same server, same client, same number of requests) measured in the same run.

Then, in this process through Django's WSGI handler (middleware included, no network): the SQL statements of one
duplicate callback and of one first settlement (a spare order kept out of the HTTP run; audit-log statements
counted apart), and a cProfile of BENCH_PROFILE_CALLS (2000) duplicate callbacks, top functions by own time and
by cumulative time — where a repeat's time goes once the database is out of the way.

Environment: BENCH_PAYMENTS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_payments —
dropped and recreated), BENCH_ORDERS (500), BENCH_REPEATS (20), BENCH_THREADS (32), BENCH_WORKERS (2 gunicorn
workers), BENCH_PORT (8767), BENCH_PROFILE_CALLS (2000).
"""
from __future__ import annotations

import cProfile
import http.client
import io
import os
import pstats
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, django_setup, ensure_postgres_database

DB_URL = os.environ.get("BENCH_PAYMENTS_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_payments")
ORDERS = int(os.environ.get("BENCH_ORDERS", "500"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "20"))
THREADS = int(os.environ.get("BENCH_THREADS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PORT = int(os.environ.get("BENCH_PORT", "8767"))
PROFILE_CALLS = int(os.environ.get("BENCH_PROFILE_CALLS", "2000"))
CALLBACK_PATH = "/api/v1/payments/callback/sim"


def prepare(url: str) -> list[str]:
    """N orders paid at the simulator but not yet settled here; returns their references."""
    os.environ["JIAOGUAN_PAY_SIM_AUTO_NOTIFY"] = "0"  # the simulator keeps its callbacks: we deliver them
    os.environ.setdefault("JIAOGUAN_DEBUG", "0")  # as the server runs (no query log) for the in-process profile
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jiaoguan.core.audit import Actor
    from jiaoguan.payments import services, simulator
    from jiaoguan.payments.models import SimTrade

    actor = Actor.system("bench")
    started = time.monotonic()
    callbacks = []
    for n in range(ORDERS + 1):  # the last one is kept out of the HTTP run: its first settlement is counted
        item = services.payable_create(kind="fine", source_type="bench.decision", source_id=f"B{n}",
                                       payer_person_id=100_000 + n, amount_fen=5000 + n,
                                       description_zh="闯红灯罚款", description_en="Fine for running a red light")
        order = services.order_create(payer_person_id=item.payer_person_id, item_ids=[item.pk], actor=actor)
        services.order_pay(order=order, actor=actor)
        trade = SimTrade.objects.get(out_trade_no=order.reference)
        simulator.sim_trade_confirm(token=trade.token)
        callbacks.append(order.reference)
    print(f"{ORDERS} orders paid at the channel, not yet settled, in {time.monotonic() - started:.1f}s", flush=True)
    return callbacks


def signed_callback(reference: str) -> tuple[bytes, dict[str, str]]:
    """The simulator's signed "paid" callback for an order, timestamped now (it must be fresh: 300 s window)."""
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade

    return simulator.sim_callback(SimTrade.objects.get(out_trade_no=reference), "paid")


def blast(requests: list[tuple[str, str, bytes | None, dict[str, str]]]) -> tuple[float, list[float], Counter]:
    """Send the requests from THREADS threads (one keep-alive connection each), in list order; returns
    (elapsed seconds, latencies in ms, Counter of (status, body))."""
    work: queue.Queue = queue.Queue()
    for r in requests:
        work.put(r)
    latencies: list[float] = []
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        mine, seen = [], Counter()
        while True:
            try:
                method, path, body, headers = work.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
                status, data = 0, type(exc).__name__.encode()
            mine.append((time.perf_counter() - t0) * 1000)
            seen[(status, data[:80].decode("utf-8", "replace"))] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            outcomes.update(seen)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, outcomes


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def double_settlements() -> dict[str, int]:
    from django.db.models import Count

    from jiaoguan.core.models import AuditEntry
    from jiaoguan.payments.models import Order, Payment

    payments_per_order = Payment.objects.values("order_id").annotate(n=Count("id"))
    settle_audits = (AuditEntry.objects.filter(action="payment.settle").values("object_id")
                     .annotate(n=Count("id")))
    return {
        "orders_paid": Order.objects.filter(status=Order.Status.PAID).count(),
        "payments": Payment.objects.count(),
        "orders_with_2+_payments": payments_per_order.filter(n__gt=1).count(),
        "payments_with_2+_settle_audits": settle_audits.filter(n__gt=1).count(),
        "settle_audits": AuditEntry.objects.filter(action="payment.settle").count(),
    }


def in_process(spare_reference: str, repeat_reference: str) -> None:
    """Statements of a first settlement and of a duplicate, and a profile of duplicates, through the WSGI handler."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()

    def deliver(callback: tuple[bytes, dict[str, str]]) -> str:
        body, headers = callback
        answer = client.post(CALLBACK_PATH, data=body, content_type="application/json", headers=headers)
        return answer.json().get("result", f"HTTP {answer.status_code}")

    def split(queries) -> tuple[int, int]:
        sqls = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
        audit = sum("core_audit" in sql for sql in sqls)
        return len(sqls) - audit, audit

    spare, repeat = signed_callback(spare_reference), signed_callback(repeat_reference)
    with CaptureQueriesContext(connection) as first:
        outcome = deliver(spare)
    own, audit = split(first)
    print(f"\nfirst settlement ({outcome}): {len(first)} statements = {own} own + {audit} audit log"
          f" + {len(first) - own - audit} savepoints")
    with CaptureQueriesContext(connection) as dup:
        outcome = deliver(repeat)
    print(f"duplicate ({outcome}): {len(dup)} statement(s): " + "; ".join(q["sql"][:90] for q in dup))
    for _ in range(50):  # warm-up
        deliver(repeat)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    outcomes = Counter(deliver(repeat) for _ in range(PROFILE_CALLS))
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"in-process: {PROFILE_CALLS} duplicates in {elapsed:.2f}s under cProfile "
          f"({elapsed / PROFILE_CALLS * 1000:.2f} ms each, profiler overhead included), outcomes {dict(outcomes)}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(14)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"profile by {order}:")
        print("\n".join(lines[start:start + 15]))


def main() -> None:
    url = ensure_postgres_database(DB_URL)
    callbacks = prepare(url)
    spare = callbacks.pop()
    env = {**os.environ, "DATABASE_URL": url, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src"),
           "JIAOGUAN_PAY_SIM_AUTO_NOTIFY": "0"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "jiaoguan.wsgi", "--pythonpath", str(ROOT / "src"),
         "--workers", str(WORKERS), "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        total = ORDERS * REPEATS
        health = [("GET", "/api/v1/health", None, {})] * total
        blast(health[: min(total, 500)])  # warm-up
        noop_s, noop_lat, noop_out = blast(health)
        signed = [signed_callback(reference) for reference in callbacks]  # signed now: the window is 300 s
        deliveries = [("POST", CALLBACK_PATH, body, {"Content-Type": "application/json", **headers})
                      for body, headers in signed for _ in range(REPEATS)]
        cb_s, cb_lat, cb_out = blast(deliveries)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    counts = double_settlements()
    results = Counter()
    for (status, body), n in cb_out.items():
        results["settled" if '"settled"' in body else "duplicate" if '"duplicate"' in body else f"HTTP {status}"] += n
    print(f"\ngunicorn {WORKERS} workers, PostgreSQL, {THREADS} client threads (keep-alive), "
          f"{ORDERS} orders × {REPEATS} deliveries of the same signed callback = {total} callbacks")
    print(f"{'endpoint':<36}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, secs, lat in (("no-op GET /api/v1/health", noop_s, noop_lat),
                            (f"POST payments callback (dup ×{REPEATS})", cb_s, cb_lat)):
        print(f"{name:<36}{len(lat):>9}{len(lat) / secs:>9.0f}{statistics.median(lat):>9.2f}{pct(lat, 99):>9.2f}")
    print(f"callbacks/s: {len(cb_lat) / cb_s:.0f} (p50 {statistics.median(cb_lat):.2f} ms, p99 {pct(cb_lat, 99):.2f} ms)")
    print(f"ratio callbacks ÷ no-op throughput: {(len(cb_lat) / cb_s) / (len(noop_lat) / noop_s):.2f}")
    print("callback outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(results.items())))
    print("ledger: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    doubles = counts["orders_with_2+_payments"] + counts["payments_with_2+_settle_audits"]
    print(f"double settlements: {doubles}")
    in_process(spare, callbacks[0])
    bad = [k for k in results if k.startswith("HTTP")]
    if noop_out.keys() - {(200, '{"status": "ok"}')} and any(s != 200 for s, _ in noop_out):
        sys.exit(f"non-200 responses from /api/v1/health: {dict(noop_out)}")
    if doubles or bad or results["settled"] != ORDERS or counts["payments"] != ORDERS \
            or counts["orders_paid"] != ORDERS:
        sys.exit(f"FAILED: doubles={doubles} errors={bad} settled={results['settled']} payments={counts['payments']}")


if __name__ == "__main__":
    main()
