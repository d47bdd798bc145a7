"""Audited writes on PostgreSQL while the sealer runs (issue 12): throughput, latency, sealing lag.

Writers: BENCH_PROCS processes x BENCH_THREADS threads, each doing short transactions for BENCH_SECONDS. Three
kinds of transaction, measured in the same run on the same database:

- ``noop``: BEGIN; SELECT 1; COMMIT — the ceiling of this client and server;
- ``append``: BEGIN; audit_record(...); COMMIT — today's lock-free append, with the sealer running beside it
  (``manage.py audit_seal --loop``, one process, as in production);
- ``head lock``: the same append plus what every append did before issue 12 (lock one head row FOR UPDATE,
  update it), emulated on a one-row table — the baseline the redesign removes.

Then a paced run at BENCH_RATE entries/s (default 3,000, the device-ingestion target) for the sealing lag: for
every entry, its seal's ``sealed_at`` minus its ``at`` (p50/p99/max), and the backlog when the writers stop.
Finally ``audit_verify`` over everything (entries/s) and the checks: every committed entry sealed exactly once.

Environment: BENCH_AUDIT_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_audit, dropped
and recreated), BENCH_PROCS (4), BENCH_THREADS (4), BENCH_SECONDS (10), BENCH_RATE (3000).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, django_setup, ensure_postgres_database

DB_URL = os.environ.get("BENCH_AUDIT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_audit")
PROCS = int(os.environ.get("BENCH_PROCS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
RATE = int(os.environ.get("BENCH_RATE", "3000"))


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _writer(kind: str, seconds: float, rate_per_thread: float, out: mp.Queue) -> None:
    django_setup(DB_URL)
    from django.db import connection, transaction

    from jiaoguan.core.audit import Actor, audit_record

    actor = Actor(id=1, label="bench", role="clerk", ip="10.0.0.1")
    latencies: list[float] = []
    lock = threading.Lock()

    def run(t: int) -> None:
        mine: list[float] = []
        deadline = time.monotonic() + seconds
        next_at = time.monotonic()
        i = 0
        try:
            while time.monotonic() < deadline:
                if rate_per_thread:
                    next_at += 1 / rate_per_thread
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                started = time.perf_counter()
                with transaction.atomic():
                    if kind == "noop":
                        with connection.cursor() as cur:
                            cur.execute("SELECT 1")
                    else:
                        if kind == "headlock":
                            with connection.cursor() as cur:
                                cur.execute("SELECT n FROM bench_audit_head WHERE id = 1 FOR UPDATE")
                        audit_record(actor=actor, action="bench.write", object_type="bench.thing", object_id=i,
                                     new={"thread": t, "i": i, "status": "confirmed"}, reason="benchmark")
                        if kind == "headlock":
                            with connection.cursor() as cur:
                                cur.execute("UPDATE bench_audit_head SET n = n + 1 WHERE id = 1")
                mine.append(time.perf_counter() - started)
                i += 1
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put(latencies)


def phase(kind: str, *, seconds: float = SECONDS, rate: float = 0.0) -> dict:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    per_thread = rate / (PROCS * THREADS) if rate else 0.0
    procs = [ctx.Process(target=_writer, args=(kind, seconds, per_thread, out)) for _ in range(PROCS)]
    started = time.monotonic()
    for p in procs:
        p.start()
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(out.get())
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    return {"kind": kind, "n": len(latencies), "per_s": len(latencies) / seconds, "elapsed": elapsed,
            "p50": _pct(latencies, 50) * 1000, "p99": _pct(latencies, 99) * 1000}


def start_sealer() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "jiaoguan.settings"}
    return subprocess.Popen([sys.executable, "manage.py", "audit_seal", "--loop", "--interval", "1"], cwd=ROOT,
                            env=env)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(30)


def main() -> None:
    ensure_postgres_database(DB_URL)
    django_setup(DB_URL)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_audit_head (id int PRIMARY KEY, n bigint NOT NULL)")
        cur.execute("INSERT INTO bench_audit_head VALUES (1, 0) ON CONFLICT DO NOTHING")
    connection.close()
    from jiaoguan.core.audit import audit_seal_all, audit_verify
    from jiaoguan.core.models import AuditEntry, AuditPending, AuditSeal

    print(f"PostgreSQL, {PROCS} processes x {THREADS} threads, {SECONDS:.0f} s per phase", flush=True)
    rows = [phase("noop")]
    sealer = start_sealer()
    try:
        rows.append(phase("append"))
    finally:
        stop(sealer)
    audit_seal_all()
    rows.append(phase("headlock"))
    audit_seal_all()
    print("\n| transaction | committed | per s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kind']} | {r['n']:,} | {r['per_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")
    noop, append, head = rows
    print(f"\nappend / no-op: {append['per_s'] / noop['per_s']:.2f}; append / head lock: "
          f"{append['per_s'] / head['per_s']:.1f}x", flush=True)

    # sealing lag at a paced rate, the sealer beside the writers as in production
    first_new = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    sealer = start_sealer()
    try:
        paced = phase("append", rate=RATE)
        backlog = AuditPending.objects.count()
        time.sleep(3)
    finally:
        stop(sealer)
    lags = []
    rows_q = (AuditSeal.objects.filter(entry_id__gte=first_new)
              .values_list("entry_id", "sealed_at"))
    at = dict(AuditEntry.objects.filter(id__gte=first_new).values_list("id", "at"))
    for entry_id, sealed_at in rows_q.iterator(chunk_size=10000):
        lags.append((sealed_at - at[entry_id]).total_seconds())
    unsealed_after = AuditPending.objects.count()
    print(f"\npaced at {RATE:,}/s: {paced['n']:,} entries committed ({paced['per_s']:,.0f}/s), p50 "
          f"{paced['p50']:.1f} ms, p99 {paced['p99']:.1f} ms; backlog when the writers stopped: {backlog:,}; "
          f"unsealed 3 s later: {unsealed_after:,}")
    print(f"sealing lag (sealed_at - at): p50 {_pct(lags, 50):.2f} s, p99 {_pct(lags, 99):.2f} s, "
          f"max {max(lags, default=float('nan')):.2f} s over {len(lags):,} entries", flush=True)

    audit_seal_all(head=True)
    started = time.monotonic()
    report = audit_verify()
    took = time.monotonic() - started
    total = AuditEntry.objects.count()
    sealed = AuditSeal.objects.count()
    distinct = AuditSeal.objects.values("entry_id").distinct().count()
    print(f"\naudit_verify: ok={report.ok} over {report.checked:,} entries in {took:.1f} s "
          f"({report.checked / took:,.0f} entries/s), {report.heads} signed heads; {report.problem}")
    print(f"checks: entries {total:,}, seals {sealed:,}, entries sealed once {distinct:,}, "
          f"unsealed {AuditPending.objects.count():,} — "
          f"{'OK' if report.ok and total == sealed == distinct else 'FAILED'}")
    if not (report.ok and total == sealed == distinct):
        sys.exit(1)


if __name__ == "__main__":
    main()
