"""Violations on gunicorn + PostgreSQL, each figure beside the same server's no-op baseline from the same run.

1. Device ingestion: one registered device POSTs signed violations (distinct record ids, local plates of the demo
   city, one small PNG of its own per record as evidence) to /api/v1/devices/violations from a pool of client
   threads, then records in batches to /api/v1/devices/violations/batch. Requests are signed just before the run
   (fresh timestamp, unique nonce each) so the client does no HMAC work while it is timed. Printed: violations/s,
   requests/s, p50/p99, the outcomes, the check that rows created == submissions accepted (0 duplicates), then
   the batch's queries and a profile of where its time goes (in-process, one batch at a time: signature and
   nonce, parsing and photo checks, evidence files, locks, the insert, evidence rows, waivers, audit rows,
   outbox rows), and a repeated batch (all duplicates). The outbox rows each record writes are delivered by
   Celery workers in production; without a broker the project runs Celery in the request, so the server is
   started with delivery deferred (``_wsgi_deferred_outbox``; BENCH_OUTBOX=eager keeps it in the request) and
   the notices are timed apart, on a sample.
   Baseline: GET /api/v1/health with the same client, threads and request count.
2. "My violations" at scale: BENCH_BULK violations (default 1,000,000) are written straight into PostgreSQL with
   one INSERT … SELECT over generate_series (no Python per row), spread over the demo city's vehicles that no
   benchmark citizen owns; each benchmark citizen's own vehicles get BENCH_MINE_PER_VEHICLE violations (a
   realistic page, not 80 rows of someone else's fleet). Then wrk rotates the citizens' bearer tokens over
   GET /api/v1/me/violations, beside GET /api/v1/health: req/s, p50, p99, non-2xx, and the ratio.

Environment: BENCH_VIOLATIONS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_violations —
dropped and recreated), BENCH_PARTS ("ingest,mine"), BENCH_PERSONS (20000), BENCH_USERS (300 citizens with
tokens), BENCH_SINGLE (3000 single submissions), BENCH_BATCHES (400 batches), BENCH_BATCH_SIZE (50),
BENCH_THREADS (16 client threads), BENCH_OUTBOX (deferred), BENCH_PROFILE_BATCHES (40), BENCH_BULK (1000000),
BENCH_MINE_PER_VEHICLE (5), BENCH_SECONDS (15 per wrk run), BENCH_CONNECTIONS ("2,16"), BENCH_WORKERS (2 gunicorn
workers), BENCH_PORT (8768), BENCH_CPROFILE (1: also a cProfile of the profiled batches). Evidence files go to a
throw-away JIAOGUAN_VAR_DIR.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api
import bench_payments
from _support import ROOT, django_setup, ensure_postgres_database, ensure_wrk, violations_bulk

DB_URL = os.environ.get("BENCH_VIOLATIONS_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_violations")
PERSONS = int(os.environ.get("BENCH_PERSONS", "20000"))
USERS = int(os.environ.get("BENCH_USERS", "300"))
SINGLE = int(os.environ.get("BENCH_SINGLE", "3000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "400"))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "50"))
THREADS = int(os.environ.get("BENCH_THREADS", "16"))
BULK = int(os.environ.get("BENCH_BULK", "1000000"))
MINE_PER_VEHICLE = int(os.environ.get("BENCH_MINE_PER_VEHICLE", "5"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "2,16").split(",")]
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PORT = int(os.environ.get("BENCH_PORT", "8768"))
PARTS = set(os.environ.get("BENCH_PARTS", "ingest,mine").split(","))
OUTBOX = os.environ.get("BENCH_OUTBOX", "deferred")
PROFILE_BATCHES = int(os.environ.get("BENCH_PROFILE_BATCHES", "40"))

# the helpers of the other two benchmarks, pointed at this server
bench_payments.PORT = PORT
bench_payments.THREADS = THREADS
bench_api.SECONDS = SECONDS
blast, pct = bench_payments.blast, bench_payments.pct

# a valid 1×1 PNG (67 bytes), and each record's own copy: the record number after the IEND chunk (decoders ignore
# it), so evidence files, named by their content, are not shared and every record writes its own
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def png(n: int) -> str:
    return base64.b64encode(PNG_BYTES + n.to_bytes(8, "big")).decode()


def prepare(url: str) -> dict:
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from jiaoguan.registry.demo import generate_city

    started = time.monotonic()
    generate_city(persons=PERSONS, seed=7)
    print(f"demo city of {PERSONS} persons in {time.monotonic() - started:.1f}s", flush=True)

    from jiaoguan.core import clock
    from jiaoguan.identity.models import User
    from jiaoguan.identity.roles import Role
    from jiaoguan.identity.services import bindings_sync_own, token_issue
    from jiaoguan.registry.models import Person, Vehicle
    from jiaoguan.violations import signing
    from jiaoguan.violations.models import ViolationCode

    owners = list(Person.objects.filter(vehicles__isnull=False, account__isnull=True).distinct().order_by("pk")[:USERS])
    tokens = []
    for person in owners:
        user = User.objects.create_user(
            username=f"bench{person.pk}", password=None, role=Role.CITIZEN, phone=person.phone, person=person,
            real_name_verified_at=clock.now())
        bindings_sync_own(user=user)
        tokens.append(token_issue(user=user, label="bench"))
    print(f"{len(tokens)} citizens with bearer tokens", flush=True)
    device, secret = signing.device_create(name="bench camera", place="深南大道")
    # the codes the device may record (its kind's scope), online-handleable ones
    codes = list(ViolationCode.objects.filter(active=True, online_allowed=True, code__in=device.codes)
                 .values_list("code", flat=True))
    plates = list(Vehicle.objects.filter(plate__startswith="粤B").values_list("plate", "plate_type"))
    return {"tokens": tokens, "owner_ids": [p.pk for p in owners], "device": device, "secret": secret,
            "codes": codes, "plates": plates}


def signed(key_id: str, secret: str, path: str, payload: dict) -> tuple[str, str, bytes, dict]:
    from jiaoguan.violations.signing import sign

    body = json.dumps(payload, ensure_ascii=False).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return ("POST", path, body, {"Content-Type": "application/json", "X-Device-Key": key_id,
                                 "X-Device-Timestamp": ts, "X-Device-Nonce": nonce,
                                 "X-Device-Signature": sign(secret, ts, nonce, body)})


def records(ctx: dict, start: int, count: int) -> list[dict]:
    plates, codes = ctx["plates"], ctx["codes"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = []
    for n in range(start, start + count):
        plate, plate_type = plates[(n * 7919) % len(plates)]
        out.append({"record_id": f"R{n:09d}", "plate": plate, "plate_type": plate_type,
                    "code": codes[n % len(codes)], "place": "深南大道与华富路交叉口",
                    "occurred_at": (now - dt.timedelta(days=1 + n % 300, minutes=n % 1440)).isoformat(),
                    "photos": [png(n)]})
    return out


def bulk_load(owner_ids: list[int]) -> tuple[int, float]:
    """BULK violations over the vehicles no benchmark citizen owns, MINE_PER_VEHICLE on each citizen's own."""
    started = time.monotonic()
    others, total = violations_bulk(BULK, owner_ids=owner_ids, mine=False)
    mine, total = violations_bulk(MINE_PER_VEHICLE, owner_ids=owner_ids, mine=True, per_vehicle=True)
    print(f"bulk load: {total:,} violations ({BULK:,} over {others:,} vehicles, {mine * MINE_PER_VEHICLE:,} on the "
          f"citizens' {mine:,} vehicles) in {time.monotonic() - started:.1f}s", flush=True)
    return total, time.monotonic() - started


def wait_up(base: str) -> None:
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not come up")


def summary(name: str, secs: float, lat: list[float], per_request: int = 1) -> str:
    rps = len(lat) / secs
    return (f"{name:<40}{len(lat):>9}{rps:>9.0f}{rps * per_request:>11.0f}{statistics.median(lat):>9.2f}"
            f"{pct(lat, 99):>9.2f}")


def serve(env: dict) -> subprocess.Popen:
    app = "_wsgi_deferred_outbox:application" if OUTBOX == "deferred" else "jiaoguan.wsgi"
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), app, "--pythonpath", f"{ROOT / 'src'},{ROOT / 'benchmarks'}",
         "--workers", str(WORKERS), "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True)


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=10)


PHASES = [  # (module, function, label): what a batch spends its time in, timed in-process
    ("signing", "device_authenticate", "signature check + nonce row"),
    ("api", "_device_record", "parse + photo checks (pydantic, base64, magic)"),
    ("services", "evidence_files_store", "evidence files (by content)"),
    ("services", "waivers_lock", "locks: vehicle keys + waived rows"),
    ("services", "_insert_new", "INSERT … ON CONFLICT DO NOTHING"),
    ("services", "_waivers_decide", "waivers: read vehicles' violations + decide"),
    ("services", "audit_records", "audit rows (one insert per actor)"),
    ("services", "events_emit", "outbox rows"),
]


def profile(ctx: dict, batches: list[tuple[str, str, bytes, dict]]) -> dict:
    """Send the batches one at a time through Django in this process (the same stack as gunicorn's, without
    the network), outbox delivery deferred, timing each phase and counting each request's queries."""
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import jiaoguan.core.tasks as tasks
    from jiaoguan.violations import api, services, signing
    from jiaoguan.violations.models import Evidence

    modules = {"signing": signing, "api": api, "services": services}
    spent: Counter = Counter()
    restore = []

    def timed(owner, name: str, label: str) -> None:
        real = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - t0

        setattr(owner, name, wrapper)
        restore.append((owner, name, real))

    for module, name, label in PHASES:
        timed(modules[module], name, label)
    timed(Evidence.objects, "bulk_create", "evidence rows (one insert)")
    real_deliver = tasks.outbox_deliver

    class _Deferred:
        @staticmethod
        def delay(*args, **kwargs):
            return None

    tasks.outbox_deliver = _Deferred()
    from django.db.models import Count

    from jiaoguan.core.models import AuditEntry

    def audited() -> Counter:
        return Counter(dict(AuditEntry.objects.filter(action__startswith="violation.").values_list("action")
                            .annotate(n=Count("id")).order_by()))

    client = Client()
    totals, queries = [], []
    before = audited()
    profiler = None
    if os.environ.get("BENCH_CPROFILE"):  # BENCH_CPROFILE=1: also a cProfile of the batches (printed below)
        import cProfile

        profiler = cProfile.Profile()
    try:
        for n, (_method, path, body, headers) in enumerate(batches):
            extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
            reset_queries()  # as the request will (request_started), so the capture below counts from 0
            with CaptureQueriesContext(connection) as q:
                t0 = time.perf_counter()
                if profiler is not None and n:
                    profiler.enable()
                r = client.post(path, data=body, content_type="application/json", **extra)
                if profiler is not None and n:
                    profiler.disable()
                totals.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.content[:300]
            if n == 0:  # the warm-up (imports, caches): not counted
                spent.clear()
                continue
            queries.append(len(q.captured_queries))
    finally:
        tasks.outbox_deliver = real_deliver
        for owner, name, real in restore:
            if owner is Evidence.objects:
                del owner.bulk_create  # the manager's own method again
            else:
                setattr(owner, name, real)
    if profiler is not None:
        import io
        import pstats

        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
            print(f"cProfile of the batches ({order}):\n" + out.getvalue().replace(str(ROOT) + "/", ""), flush=True)
    return {"total": sum(totals[1:]), "n": len(totals) - 1, "spent": spent, "queries": queries,
            "audited": audited() - before}


def notices_sample(limit: int = 200) -> tuple[int, float, int]:
    """Deliver up to ``limit`` of the pending violation-recorded events in this process (what a Celery worker
    does for each): (delivered, seconds, still pending)."""
    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.core.outbox import event_deliver

    pending = OutboxEvent.objects.filter(topic="violations.violation_recorded", status="pending")
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:limit])
    started = time.perf_counter()
    for event_id in ids:
        event_deliver(event_id)
    return len(ids), time.perf_counter() - started, pending.count()


def ingest(ctx: dict, env: dict) -> list[str]:
    """Part 1; returns the failed checks."""
    server = serve(env)
    base = f"http://127.0.0.1:{PORT}"
    key_id, secret = ctx["device"].key_id, ctx["secret"]
    single_path, batch_path = "/api/v1/devices/violations", "/api/v1/devices/violations/batch"
    try:
        wait_up(base)
        warm = [signed(key_id, secret, single_path, r) for r in records(ctx, 900_000_000, 50)]
        warm += [signed(key_id, secret, batch_path, {"records": records(ctx, 900_001_000 + b * BATCH_SIZE,
                                                                        BATCH_SIZE)}) for b in range(8)]
        blast(warm + [("GET", "/api/v1/health", None, {})] * 300)
        health = [("GET", "/api/v1/health", None, {})] * max(SINGLE, BATCHES)
        noop_s, noop_lat, _ = blast(health)
        singles = [signed(key_id, secret, single_path, r) for r in records(ctx, 0, SINGLE)]
        single_s, single_lat, single_out = blast(singles)
        batch_records = [records(ctx, 1_000_000 + b * BATCH_SIZE, BATCH_SIZE) for b in range(BATCHES)]
        batches = [signed(key_id, secret, batch_path, {"records": rs}) for rs in batch_records]
        batch_s, batch_lat, batch_out = blast(batches)
        # the same batches again (new nonces): every record a duplicate, answered from one read
        repeats = [signed(key_id, secret, batch_path, {"records": rs}) for rs in batch_records[:max(BATCHES // 4, 1)]]
        repeat_s, repeat_lat, repeat_out = blast(repeats)
        noop2_s, noop2_lat, _ = blast(health)
    finally:
        stop(server)

    from django.db.models import Count

    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.violations.models import Evidence, Violation

    single_status: Counter = Counter()
    for (status, _), n in single_out.items():
        single_status[f"HTTP {status}"] += n
    accepted_single = single_status["HTTP 201"]
    # blast keeps only 80 characters of each body: the batch results are counted in the database, per id range
    batch_http = sum(n for (status, _), n in batch_out.items() if status != 200)
    repeat_http = sum(n for (status, _), n in repeat_out.items() if status != 200)
    rows = Violation.objects.filter(device=ctx["device"])
    single_rows = rows.filter(device_record_id__lt="R001000000").count()
    batch_rows = rows.filter(device_record_id__gte="R001000000", device_record_id__lt="R900000000").count()
    dup_ids = rows.values("device_record_id").order_by().annotate(n=Count("id")).filter(n__gt=1).count()
    evidence = Evidence.objects.filter(violation__device=ctx["device"]).count()
    events = OutboxEvent.objects.filter(topic="violations.violation_recorded").count()

    # the profile: fresh batches, one at a time, in this process
    prof_batches = [signed(key_id, secret, batch_path, {"records": records(ctx, 950_000_000 + b * BATCH_SIZE,
                                                                              BATCH_SIZE)})
                    for b in range(PROFILE_BATCHES + 1)]
    prof = profile(ctx, prof_batches)
    dup_prof = profile(ctx, [signed(key_id, secret, batch_path, {"records": rs}) for rs in batch_records[:11]])
    delivered, deliver_secs, pending = notices_sample()

    n_viol = len(batch_lat) * BATCH_SIZE
    print(f"\n1. device ingestion — gunicorn {WORKERS} workers, PostgreSQL, {THREADS} client threads (keep-alive), "
          f"HMAC-signed, one PNG of its own per record, {len(ctx['plates']):,} local plates; outbox delivery "
          f"{OUTBOX}")
    print(f"{'endpoint':<40}{'requests':>9}{'req/s':>9}{'viol./s':>11}{'p50 ms':>9}{'p99 ms':>9}")
    print(summary("no-op GET /api/v1/health", noop_s, noop_lat))
    print(summary("POST devices/violations (single)", single_s, single_lat))
    print(summary(f"POST devices/violations/batch (×{BATCH_SIZE})", batch_s, batch_lat, BATCH_SIZE))
    print(summary("  the same batches again (duplicates)", repeat_s, repeat_lat, BATCH_SIZE))
    print(summary("no-op GET /api/v1/health (again, after)", noop2_s, noop2_lat))
    noop_rps = len(noop_lat) / noop_s
    batch_vps = n_viol / batch_s
    print(f"ratio single ÷ no-op requests/s: {len(single_lat) / single_s / noop_rps:.2f}; batch violations/s ÷ "
          f"no-op requests/s: {batch_vps / noop_rps:.2f}; batch violations/s ÷ single violations/s: "
          f"{batch_vps / (len(single_lat) / single_s):.1f}")
    print(f"single outcomes: {dict(single_status)}; rows created {single_rows} (accepted 201s {accepted_single})")
    print(f"batch: non-200 responses {batch_http}; rows created {batch_rows} of {BATCHES * BATCH_SIZE} records "
          f"submitted; repeated batches: non-200 {repeat_http}")
    refused = {f"{status} {body[:60]}": n for (status, body), n in (batch_out + repeat_out).items() if status != 200}
    if refused:
        print(f"batch requests refused: {refused}")
    print(f"record ids with 2+ rows: {dup_ids}; evidence rows {evidence}; violation_recorded outbox rows {events}")
    q = prof["queries"]
    per = prof["total"] / prof["n"] * 1000
    print(f"\nprofile: {prof['n']} batches of {BATCH_SIZE} new records, one at a time in-process (no contention): "
          f"{per:.1f} ms per batch = {per / BATCH_SIZE:.2f} ms per record ({BATCH_SIZE * prof['n'] / prof['total']:.0f}"
          f" violations/s on one core); queries per batch {min(q)}–{max(q)} "
          f"(a repeated batch: {min(dup_prof['queries'])}–{max(dup_prof['queries'])}, "
          f"{dup_prof['total'] / dup_prof['n'] * 1000:.1f} ms)")
    print(f"  audit rows written: {dict(prof['audited'])} (the first-violation waivers the records settle)")
    accounted = 0.0
    for label, secs in sorted(prof["spent"].items(), key=lambda kv: -kv[1]):
        ms = secs / prof["n"] * 1000
        accounted += ms
        print(f"  {label:<48}{ms:>8.2f} ms  {ms / per:>5.0%}")
    print(f"  {'the rest (request, JSON, middleware, answer)':<48}{per - accounted:>8.2f} ms  "
          f"{(per - accounted) / per:>5.0%}")
    print(f"notices (outbox, Celery's work): {delivered} delivered in {deliver_secs:.2f}s = "
          f"{delivered / deliver_secs if deliver_secs else 0:.0f}/s in one process; {pending:,} still pending")
    failures = []
    if single_rows != accepted_single or single_rows != SINGLE:
        failures.append(f"single rows {single_rows} != accepted {accepted_single} / submitted {SINGLE}")
    if batch_rows != BATCHES * BATCH_SIZE or batch_http or repeat_http:
        failures.append(f"batch rows {batch_rows} != {BATCHES * BATCH_SIZE}")
    if dup_ids:
        failures.append(f"{dup_ids} duplicated record ids")
    return failures


def mine(ctx: dict, env: dict, wrk: str) -> list[str]:
    """Part 2; returns the failed checks."""
    total, load_secs = bulk_load(ctx["owner_ids"])
    script = bench_api.wrk_script(ctx["tokens"])
    base = f"http://127.0.0.1:{PORT}"
    server = serve(env)
    try:
        wait_up(base)
        check = urllib.request.Request(base + "/api/v1/me/violations",
                                       headers={"Authorization": f"Bearer {ctx['tokens'][0]}"})
        sample = json.loads(urllib.request.urlopen(check, timeout=10).read())
        print(f"sample /me/violations: {len(sample)} rows, first {json.dumps(sample[0], ensure_ascii=False)[:140]}…"
              if sample else "sample /me/violations: EMPTY", flush=True)
        bench_api.run_wrk(wrk, base + "/api/v1/health", script, 4)
        bench_api.run_wrk(wrk, base + "/api/v1/me/violations", script, 4)
        results = []
        for connections in CONNECTIONS:
            noop = bench_api.run_wrk(wrk, base + "/api/v1/health", script, connections)
            mine = bench_api.run_wrk(wrk, base + "/api/v1/me/violations", script, connections)
            results.append((connections, noop, mine))
    finally:
        stop(server)
    print(f"\n2. my violations — {total:,} violations in PostgreSQL (bulk load {load_secs:.0f}s), {len(ctx['tokens'])} "
          f"citizens rotated, {MINE_PER_VEHICLE} violations per own vehicle, wrk 1 thread {SECONDS}s per run")
    print(f"{'endpoint':<28}{'conns':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for connections, noop, m in results:
        for name, r in (("no-op /api/v1/health", noop), ("GET /api/v1/me/violations", m)):
            print(f"{name:<28}{connections:>6}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>10}")
        print(f"ratio me/violations ÷ no-op throughput at {connections} connections: {m['rps'] / noop['rps']:.2f}")
    if any(m["errors"] for _, _, m in results) or not sample:
        return ["my violations: non-2xx or empty"]
    return []


def main() -> None:
    var = tempfile.mkdtemp(prefix="jiaoguan-bench-violations-")
    os.environ["JIAOGUAN_VAR_DIR"] = var
    os.environ.setdefault("JIAOGUAN_DEBUG", "0")  # the in-process profile runs as the server does
    url = ensure_postgres_database(DB_URL)
    ctx = prepare(url)
    env = {**os.environ, "DATABASE_URL": url, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src")}
    failures = []
    try:
        if "ingest" in PARTS:
            failures += ingest(ctx, env)
        if "mine" in PARTS:
            failures += mine(ctx, env, ensure_wrk())
    finally:
        shutil.rmtree(var, ignore_errors=True)
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
