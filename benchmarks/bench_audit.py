"""Audited writes on PostgreSQL while the sealer runs (issue 12): throughput, latency, sealing lag.

Writers: BENCH_PROCS processes x BENCH_THREADS threads, each doing short transactions for BENCH_SECONDS. Three
kinds of transaction, measured in the same run on the same database:

- ``noop``: BEGIN; SELECT 1; COMMIT — the ceiling of this client and server;
- ``insert``: BEGIN; one INSERT into a plain table; COMMIT — what the commit of any write costs (the WAL flush);
- ``append``: BEGIN; audit_record(...); COMMIT — today's lock-free append, with the sealer running beside it
  (``manage.py audit_seal --loop``, one process, as in production);
- ``head lock``: the same append plus what every append did before issue 12 (lock one head row FOR UPDATE,
  update it), emulated on a one-row table — the baseline the redesign removes.

Then paced runs at BENCH_RATE entries/s (default 3,000, the device-ingestion target) for the sealing lag — one
entry per transaction, then BENCH_BATCH (50) entries per transaction as a device batch writes them: for every
entry, its seal's ``sealed_at`` minus its ``at`` (p50/p99/max), and the backlog when the writers stop.
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
BATCH = int(os.environ.get("BENCH_BATCH", "50"))


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _writer(kind: str, seconds: float, rate_per_thread: float, out: mp.Queue) -> None:
    django_setup(DB_URL)
    from django.db import connection, transaction

    from jiaoguan.core.audit import Actor, Change, audit_record, audit_records

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
                    elif kind == "insert":  # one plain row: what any write's commit costs (the WAL flush)
                        with connection.cursor() as cur:
                            cur.execute("INSERT INTO bench_audit_row (body) VALUES (%s)", ['{"i": 1}'])
                    else:
                        if kind == "headlock":
                            with connection.cursor() as cur:
                                cur.execute("SELECT n FROM bench_audit_head WHERE id = 1 FOR UPDATE")
                        if kind == "batch":  # a device batch's rows: one INSERT of BATCH entries
                            audit_records(actor=actor, changes=[
                                Change(action="bench.write", object_type="bench.thing", object_id=i * BATCH + k,
                                       new={"thread": t, "i": i, "k": k, "status": "confirmed"}, reason="benchmark")
                                for k in range(BATCH)])
                        else:
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
        cur.execute("CREATE TABLE IF NOT EXISTS bench_audit_row (id bigserial PRIMARY KEY, body jsonb)")
    connection.close()
    from jiaoguan.core.audit import Actor, audit_record, audit_seal_all, audit_verify
    from jiaoguan.core.models import AuditEntry, AuditPending, AuditSeal

    print(f"PostgreSQL, {PROCS} processes x {THREADS} threads, {SECONDS:.0f} s per phase; the sealer "
          "(manage.py audit_seal --loop) runs beside the writers throughout", flush=True)
    sealer = start_sealer()
    try:
        audit_record(actor=Actor.system("bench"), action="bench.probe", object_type="bench", object_id=0)
        while AuditPending.objects.exists():  # the sealer is up
            time.sleep(0.2)
        rows = [phase("noop"), phase("insert"), phase("append"), phase("headlock")]
        print("\n| transaction | committed | per s | p50 ms | p99 ms |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['kind']} | {r['n']:,} | {r['per_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} |")
        noop, insert, append, head = rows
        print(f"\nappend / no-op: {append['per_s'] / noop['per_s']:.2f}; append / plain insert: "
              f"{append['per_s'] / insert['per_s']:.2f}; append / head lock: {append['per_s'] / head['per_s']:.1f}x",
              flush=True)

        # sealing lag at a paced rate
        while AuditPending.objects.exists():
            time.sleep(0.2)
        first_new = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        paced = phase("append", rate=RATE)
        backlog = AuditPending.objects.count()
        time.sleep(3)
        unsealed_after = AuditPending.objects.count()
        first_batch = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        batched = phase("batch", rate=RATE / BATCH)
        batch_backlog = AuditPending.objects.count()
        time.sleep(3)
        batch_unsealed = AuditPending.objects.count()
    finally:
        stop(sealer)
    def lags_between(first: int, last: int | None) -> list[float]:
        rows = AuditEntry.objects.filter(id__gte=first)
        seals = AuditSeal.objects.filter(entry_id__gte=first)
        if last is not None:
            rows, seals = rows.filter(id__lt=last), seals.filter(entry_id__lt=last)
        at = dict(rows.values_list("id", "at"))
        return [(sealed_at - at[entry_id]).total_seconds()
                for entry_id, sealed_at in seals.values_list("entry_id", "sealed_at").iterator(10000)]

    lags = lags_between(first_new, first_batch)
    batch_lags = lags_between(first_batch, None)
    print(f"\npaced at {RATE:,}/s: {paced['n']:,} entries committed ({paced['per_s']:,.0f}/s), p50 "
          f"{paced['p50']:.1f} ms, p99 {paced['p99']:.1f} ms; backlog when the writers stopped: {backlog:,}; "
          f"unsealed 3 s later: {unsealed_after:,}")
    print(f"sealing lag (sealed_at - at): p50 {_pct(lags, 50):.2f} s, p99 {_pct(lags, 99):.2f} s, "
          f"max {max(lags, default=float('nan')):.2f} s over {len(lags):,} entries", flush=True)
    print(f"\npaced at {RATE:,} entries/s in transactions of {BATCH} (audit_records, as a device batch): "
          f"{batched['n'] * BATCH:,} entries committed ({batched['per_s'] * BATCH:,.0f}/s), transaction p50 "
          f"{batched['p50']:.1f} ms, p99 {batched['p99']:.1f} ms; backlog when the writers stopped: {batch_backlog:,}; "
          f"unsealed 3 s later: {batch_unsealed:,}")
    print(f"sealing lag: p50 {_pct(batch_lags, 50):.2f} s, p99 {_pct(batch_lags, 99):.2f} s, "
          f"max {max(batch_lags, default=float('nan')):.2f} s over {len(batch_lags):,} entries", flush=True)

    audit_seal_all(head=True)
    started = time.monotonic()
    report = audit_verify()
    took = time.monotonic() - started
    total = AuditEntry.objects.count()
    sealed = AuditSeal.objects.count()
    distinct = AuditSeal.objects.values("entry_id").distinct().count()
    print(f"\naudit_verify: ok={report.ok} over {report.checked:,} entries in {took:.1f} s "
          f"({report.checked / took:,.0f} entries/s), {report.heads} signed heads; {report.problem}")
    ok = report.ok and total == sealed == distinct
    print(f"checks: entries {total:,}, seals {sealed:,}, entries sealed once {distinct:,}, "
          f"unsealed {AuditPending.objects.count():,} — {'OK' if ok else 'FAILED'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
