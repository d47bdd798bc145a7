"""Bookings under load: a first-come rush over HTTP.

1. Booking rush (gunicorn + PostgreSQL): ATTEMPTS POSTs to /api/v1/me/appointments (the counters API on the
   capacity engine; each with its own Idempotency-Key and a bearer token) from CITIZENS distinct accounts, CONCURRENCY
   client threads at once, for SEATS seats spread over SLOTS slots of one counter service. Printed: attempts, seats,
   **seats oversold** (live bookings per quota counted in the database after the run, minus its capacity; must be 0),
   201s == live bookings, bookings/s and attempts/s, p50/p99 of attempts, outcomes by status and code — beside a
   baseline from the same server in the same run: GET /api/v1/health and GET /api/v1/me/appointments.
   Then, in this process on a fresh slot (no contention): the queries of one booking and of one refusal (those in
   the seat's transaction and those the outbox handler runs after commit, apart), the time of one booking split
   into database and Python, and a cProfile of PROFILE_BOOKINGS bookings (the top functions).
The ranked allocation job at scale is measured by benchmarks/bench_allocation.py.

On SQLite (no PostgreSQL URL) it runs as a labelled smoke test with small default sizes: SQLite
serialises writers, so its figures say nothing about the production set-up.

    .venv/bin/python benchmarks/bench_bookings.py --help
    .venv/bin/python benchmarks/bench_bookings.py                      # PostgreSQL, full size
    .venv/bin/python benchmarks/bench_bookings.py --database sqlite    # smoke run

The database (BENCH_BOOKINGS_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_bookings) is
dropped and recreated.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bookings_support import (  # noqa: E402
    blast,
    citizens_with_tokens,
    outcome_table,
    pct,
    wait_up,
)
from _support import ROOT, django_setup, ensure_postgres_database  # noqa: E402

DEFAULT_PG = os.environ.get("BENCH_BOOKINGS_DATABASE_URL",
                            "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_bookings")
FULL = {"attempts": 20_000, "seats": 2_000, "slots": 4, "citizens": 20_000, "concurrency": 100}
SMOKE = {"attempts": 600, "seats": 60, "slots": 2, "citizens": 600, "concurrency": 16,
 }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None,
                   help="a postgres:// URL (dropped and recreated) or 'sqlite' for the smoke run; default: "
                        "BENCH_BOOKINGS_DATABASE_URL or postgres://…/jiaoguan_bench_bookings, unless DATABASE_URL "
                        "is set and not PostgreSQL (then sqlite)")
    g = p.add_argument_group("1. booking rush (defaults: PostgreSQL full size / SQLite smoke)")
    g.add_argument("--attempts", type=int, help=f"booking attempts ({FULL['attempts']:,} / {SMOKE['attempts']})")
    g.add_argument("--seats", type=int, help=f"seats in all ({FULL['seats']:,} / {SMOKE['seats']})")
    g.add_argument("--slots", type=int, help=f"slots the seats are spread over ({FULL['slots']} / {SMOKE['slots']})")
    g.add_argument("--citizens", type=int, help="distinct accounts (attempts cycle over them; default: one each)")
    g.add_argument("--concurrency", type=int, help=f"client threads ({FULL['concurrency']} / {SMOKE['concurrency']})")
    g.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "4")),
                   help="gunicorn sync workers (4)")
    g.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8769")))
    g.add_argument("--profile-bookings", type=int, default=100,
                   help="bookings profiled in process after the rush (100)")
    g.add_argument("--skip-rush", action="store_true")
    g.add_argument("--outbox", choices=("deferred", "eager"), default=os.environ.get("BENCH_OUTBOX", "deferred"),
                   help="deferred (default): the server writes outbox rows but hands nothing to Celery, as production "
                        "leaves the notices to workers; eager: Celery runs them in the request (no broker)")
    args = p.parse_args()
    if args.database is None:
        current = os.environ.get("DATABASE_URL", "")
        args.database = "sqlite" if current and not current.startswith("postgres") else DEFAULT_PG
    args.postgres = args.database.startswith("postgres")
    sizes = FULL if args.postgres else SMOKE
    for name, value in sizes.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.citizens is None or args.citizens <= 0:
        args.citizens = args.attempts
    if args.seats % args.slots:
        p.error("--seats must be a multiple of --slots")
    return args


# --- set-up ------------------------------------------------------------------------------------------------------


def prepare(args) -> str:
    """Database, schema, and an office with one counter service; returns the DATABASE_URL for gunicorn ('' for
    SQLite: the file path travels in JIAOGUAN_SQLITE_PATH)."""
    if args.postgres:
        url = ensure_postgres_database(args.database)
        django_setup(url)
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["JIAOGUAN_SQLITE_PATH"] = str(Path(os.environ["JIAOGUAN_VAR_DIR"]) / "bench.sqlite3")
        url = ""
        django_setup(None)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return url


def rush_setup(args) -> dict:
    from jiaoguan.bookings import services as engine
    from jiaoguan.core import clock
    from jiaoguan.core.audit import Actor
    from jiaoguan.counters import services

    actor = Actor.system("bench")
    office = services.office_create(code="BENCH", name_zh="压测车管所", name_en="Bench office",
                                    address_zh="深圳市福田区", actor=actor)
    os_ = services.office_service_add(office=office, service_code="licence", windows=1, actor=actor)
    per = args.seats // args.slots
    start = clock.now() + dt.timedelta(days=2)
    slot_ids = [engine.slot_create(resource=os_.resource, starts_at=start + dt.timedelta(minutes=30 * i),
                                   ends_at=start + dt.timedelta(minutes=30 * i + 30), actor=actor,
                                   quotas=[engine.QuotaSpec(name="public", capacity=per)]).pk
                for i in range(args.slots)]
    t0 = time.monotonic()
    user_ids, tokens = citizens_with_tokens(args.citizens)
    print(f"set-up: {len(tokens):,} citizen accounts with bearer tokens in {time.monotonic() - t0:.1f}s; "
          f"{args.slots} slots × {per:,} seats", flush=True)
    return {"slot_ids": slot_ids, "tokens": tokens, "office_id": office.pk}


def start_server(args, url: str) -> subprocess.Popen:
    env = {**os.environ, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src")}
    if url:
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    # Django logs every 409 as a warning: 18,000 lines of "Conflict" go to a file, not the figures
    log = open(Path(os.environ["JIAOGUAN_VAR_DIR"]) / "gunicorn.log", "ab")
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"),
         "_wsgi_deferred_outbox:application" if args.outbox == "deferred" else "jiaoguan.wsgi",
         "--pythonpath", f"{ROOT / 'src'},{ROOT / 'benchmarks'}", "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning",
         "--backlog", "2048", "--timeout", "120"],
        env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)
    log.close()
    try:
        wait_up(args.port, seconds=180)
    except SystemExit:
        stop_server(server)
        print((Path(os.environ["JIAOGUAN_VAR_DIR"]) / "gunicorn.log").read_text(errors="replace")[-3000:])
        raise
    return server


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


# --- 1. the rush --------------------------------------------------------------------------------------------------


def rush(args, url: str) -> list[str]:
    ctx = rush_setup(args)
    tokens, slot_ids = ctx["tokens"], ctx["slot_ids"]

    def attempt(i: int) -> tuple:
        body = f'{{"slot_id": {slot_ids[i % len(slot_ids)]}}}'.encode()
        return ("POST", "/api/v1/me/appointments", body, {
            "Authorization": f"Bearer {tokens[i % len(tokens)]}", "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex})

    def get(path: str, i: int) -> tuple:
        return ("GET", path, None, {"Authorization": f"Bearer {tokens[i % len(tokens)]}"})

    attempts = [attempt(i) for i in range(args.attempts)]
    n_base = max(200, args.attempts // 4)
    server = start_server(args, url)
    try:
        # warm every worker (imports, connections) on reads only: no seat is touched before the rush
        blast(args.port, args.concurrency, [get("/api/v1/health", i) for i in range(400)]
              + [get("/api/v1/me/appointments", i) for i in range(200)])
        health = blast(args.port, args.concurrency, [get("/api/v1/health", i) for i in range(n_base)])
        before = blast(args.port, args.concurrency, [get("/api/v1/me/appointments", i) for i in range(n_base)])
        ends = [0.0] * len(attempts)
        secs, lat, outcomes = blast(args.port, args.concurrency, attempts, ends)
        after = blast(args.port, args.concurrency, [get("/api/v1/me/appointments", i) for i in range(n_base)])
    finally:
        stop_server(server)

    from django.db.models import Count

    from jiaoguan.bookings.models import LIVE_BOOKING, Booking, Quota

    capacity = dict(Quota.objects.filter(slot_id__in=slot_ids).values_list("pk", "capacity"))
    live = dict(Booking.objects.filter(quota_id__in=capacity, status__in=LIVE_BOOKING).values("quota_id")
                .order_by().annotate(n=Count("id")).values_list("quota_id", "n"))
    oversold = sum(max(0, live.get(q, 0) - c) for q, c in capacity.items())
    booked_rows = sum(live.values())
    table = outcome_table(outcomes)
    created = table.get("201 booked", 0)
    keys = Booking.objects.filter(quota_id__in=capacity).values("exclusive_key").order_by().annotate(
        n=Count("id")).filter(n__gt=1).count()
    ok_lat = [latency for latency, (status, _) in zip(lat, outcomes) if status == 201]
    engine = "PostgreSQL" if args.postgres else "SQLite (smoke run — SQLite serialises writers; not a production figure)"
    print(f"\n1. booking rush — gunicorn {args.workers} sync workers, {engine}, {args.concurrency} client threads, "
          f"{len(set(range(min(args.citizens, args.attempts)))):,} distinct citizens with bearer tokens, "
          f"POST /api/v1/me/appointments with an Idempotency-Key each; outbox {args.outbox} (deferred: the notices "
          f"are the workers' job, as in production)")
    print(f"attempts {args.attempts:,}; seats {args.seats:,} in {args.slots} slots; booked (201) {created:,}; "
          f"live bookings in the database {booked_rows:,}; seats oversold {oversold}; "
          f"people with 2+ live bookings for the same day {keys}")
    print(f"{'':<34}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")

    def line(name, s, latencies):
        print(f"{name:<34}{len(latencies):>9}{len(latencies) / s:>9.0f}{statistics.median(latencies):>9.1f}"
              f"{pct(latencies, 99):>9.1f}")

    line("baseline GET /api/v1/health", health[0], health[1])
    line("baseline GET me/appointments", before[0], before[1])
    line("POST me/appointments (all)", secs, lat)
    sold_out = max((e for e, (s, _) in zip(ends, outcomes) if s == 201), default=secs) or secs
    print(f"{'  of which 201 booked':<34}{len(ok_lat):>9}{len(ok_lat) / sold_out:>9.0f}"
          f"{statistics.median(ok_lat) if ok_lat else float('nan'):>9.1f}{pct(ok_lat, 99):>9.1f}"
          f"   ← bookings/s until the last seat went ({sold_out:.1f}s)")
    line("GET me/appointments after", after[0], after[1])
    print(f"the last seat went {sold_out:.1f}s into the {secs:.1f}s rush")
    print("outcomes: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(table.items())))
    health_rate = len(health[1]) / health[0]
    print(f"bookings/s ÷ health req/s: {len(ok_lat) / sold_out / health_rate:.3f}; "
          f"attempts/s ÷ health req/s: {len(lat) / secs / health_rate:.3f}")
    rush_profile(args, ctx)
    failures = []
    if oversold:
        failures.append(f"{oversold} seats oversold")
    if created != booked_rows:
        failures.append(f"201s {created} != live bookings {booked_rows}")
    if booked_rows != min(args.seats, min(args.citizens, args.attempts)):
        failures.append(f"{booked_rows} booked of {args.seats} seats")
    if keys:
        failures.append(f"{keys} exclusive keys booked twice")
    if any(status >= 500 or status == 0 for status, _ in outcomes):
        failures.append("server errors or broken connections during the rush")
        errors = [line for line in (Path(os.environ["JIAOGUAN_VAR_DIR"]) / "gunicorn.log").read_text(
            errors="replace").splitlines() if "Conflict" not in line]
        print("server log (without the 409 lines), last 30 lines:\n" + "\n".join(errors[-30:]))
    return failures


def rush_profile(args, ctx: dict) -> None:
    """One booking looked at closely, in this process through the whole stack (django.test.Client: auth,
    idempotency, counters, engine, the after-commit outbox handler run eagerly as in the server): its queries,
    the queries of a refusal, where its time goes (database vs Python), and a cProfile of several bookings."""
    import cProfile
    import io
    import pstats
    from unittest import mock

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from jiaoguan.bookings import services as engine
    from jiaoguan.bookings.models import Slot
    from jiaoguan.core import tasks
    from jiaoguan.core.audit import Actor

    n = args.profile_bookings
    src = Slot.objects.select_related("resource").get(pk=ctx["slot_ids"][0])
    slot = engine.slot_create(resource=src.resource, starts_at=src.starts_at + dt.timedelta(days=1),
                              ends_at=src.ends_at + dt.timedelta(days=1), actor=Actor.system("bench"),
                              quotas=[engine.QuotaSpec(name="public", capacity=n + 1)])
    _ids, tokens = citizens_with_tokens(n + 3, prefix="benchp")
    client = Client()
    body = json.dumps({"slot_id": slot.pk})

    def post(token: str):
        return client.post("/api/v1/me/appointments", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)

    for t in tokens:  # each token's first use notes last_used_at once (throttled): not part of a booking
        client.get("/api/v1/health", HTTP_AUTHORIZATION=f"Bearer {t}")
        client.get("/api/v1/me/appointments?live=true", HTTP_AUTHORIZATION=f"Bearer {t}")

    def traced(token: str):
        """(response, queries in the transaction, queries after commit, seconds, database seconds)"""
        marks: list[int] = []
        real = tasks.outbox_deliver.delay

        def delay(*a, **kw):
            if not marks:
                marks.append(len(cap.captured_queries))
            return real(*a, **kw)

        with CaptureQueriesContext(connection) as cap, mock.patch.object(tasks.outbox_deliver, "delay", delay):
            t0 = time.perf_counter()
            r = post(token)
            secs = time.perf_counter() - t0
        queries = cap.captured_queries
        cut = marks[0] if marks else len(queries)
        return r, queries[:cut], queries[cut:], secs, sum(float(q["time"]) for q in queries)

    r, tx, after, secs, db = traced(tokens[0])
    assert r.status_code == 201, r.content
    kinds = Counter(q["sql"].split()[0].upper() for q in tx)
    print(f"\none booking, in process, no contention: {len(tx)} statements up to the commit "
          f"({', '.join(f'{k} {v}' for k, v in kinds.most_common())}) + {len(after)} after "
          f"commit by the outbox (the confirmation notice and the other booking_changed subscribers); "
          f"{secs * 1000:.1f} ms, of which {db * 1000:.1f} ms waiting for the database")
    for i, q in enumerate(tx, 1):
        print(f"  {i:2} {' '.join(q['sql'].split())[:110]}")
    timed = []
    profiler = cProfile.Profile()
    for t in tokens[1:n]:
        profiler.enable()
        r, tx2, after2, secs2, db2 = traced(t)
        profiler.disable()
        timed.append((secs2, db2))
    full = post(tokens[n])  # the last seat
    assert full.status_code == 201, full.content
    r, rtx, rafter, rsecs, rdb = traced(tokens[n + 1])
    assert r.status_code == 409, r.content
    print(f"one refusal (slot full): {len(rtx) + len(rafter)} queries, no lock taken "
          f"({'yes' if not any('FOR UPDATE' in q['sql'] or 'advisory' in q['sql'] for q in rtx) else 'NO'}), "
          f"{rsecs * 1000:.1f} ms")
    mean = statistics.mean(s for s, _ in timed) * 1000
    mean_db = statistics.mean(d for _, d in timed) * 1000
    print(f"{len(timed)} bookings one after another: mean {mean:.1f} ms each, {mean_db:.1f} ms of it in database "
          f"calls ({mean_db / mean:.0%}); the rest is Python (ninja, auth, ORM, JSON, the outbox handler)")
    for order, title, pattern, lines_n in (
            ("cumulative", "cumulative, the project's functions", r"jiaoguan", 18),
            ("tottime", "own time, every function", None, 14)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(order)
        stats.print_stats(*((pattern, lines_n) if pattern else (lines_n,)))
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print(f"cProfile of those {len(timed)} bookings ({title}; seconds in all):")
        print("\n".join(line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")[:150]
                        for line in lines[start:]))


def main() -> None:
    args = parse_args()
    var = tempfile.mkdtemp(prefix="jiaoguan-bench-bookings-")
    os.environ["JIAOGUAN_VAR_DIR"] = var
    failures: list[str] = []
    try:
        url = prepare(args)
        print(f"database: {'PostgreSQL ' + args.database.rsplit('/', 1)[-1] if args.postgres else 'SQLite (smoke)'}; "
              f"client and server share this machine ({os.cpu_count()} CPUs)", flush=True)
        if not args.skip_rush:
            failures += rush(args, url)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("\nall checks passed")


if __name__ == "__main__":
    main()
