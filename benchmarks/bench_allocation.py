"""The ranked allocation job at scale: a million applications into 100,000 seats (issue 12 §2).

APPLICATIONS pending applications (random sort times over 60 days) in SLOTS slots of SEATS seats each (one
"public" quota), loaded with COPY, then ``bookings.services.applications_allocate`` timed — beside a baseline of a
tenth of the size (100 slots, 100,000 applications) from the same run, so the ratio shows how it scales (linear:
10×). Printed for each: seconds, applications/s, the statements and where the time goes (each allocation statement
carries a ``/* allocate:… */`` tag; the rest are classed as locks, audit rows, outbox events, other), and the
checks over every application and quota (not a sample):

- rank errors: an application whose rank is not its place in ``rules.RANK_ORDER`` among its quota's ranked
  applications, or whose outcome is not "allocated" exactly for ranks within the quota's seats;
- oversold: live bookings beyond a quota's capacity; wrong per-quota counts: bookings != min(seats, applications);
- an allocated application without exactly one confirmed booking, or a booking of an unsuccessful one;
- re-running the job allocates nothing (idempotent); every slot is "allocated" with one audit row and one outbox
  event.

The allocation emits one outbox event per slot whose handler tells every applicant (an inbox message each); the
dispatch is deferred while the job is timed and the notification is timed apart on a sample of slots, then run
again on them to show it sends nothing twice.

    .venv/bin/python benchmarks/bench_allocation.py                      # PostgreSQL, full size
    .venv/bin/python benchmarks/bench_allocation.py --database sqlite    # smoke run (small)

The database (BENCH_ALLOCATION_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_alloc) is dropped
and recreated.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bookings_support import (  # noqa: E402
    DeferredOutbox,
    applications_load,
    ranked_slots,
)
from _support import django_setup, ensure_postgres_database  # noqa: E402

DEFAULT_PG = os.environ.get("BENCH_ALLOCATION_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_alloc")
FULL = {"slots": 1_000, "seats": 100, "per_slot": 1_000, "notify_slots": 3}
SMOKE = {"slots": 20, "seats": 10, "per_slot": 100, "notify_slots": 1}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None,
                   help="a postgres:// URL (dropped and recreated) or 'sqlite' for the smoke run; default: "
                        "BENCH_ALLOCATION_DATABASE_URL or postgres://…/bench_alloc, unless DATABASE_URL is set and "
                        "not PostgreSQL (then sqlite)")
    p.add_argument("--slots", type=int, help=f"slots of the measured run ({FULL['slots']:,} / {SMOKE['slots']})")
    p.add_argument("--seats", type=int, help=f"seats per slot ({FULL['seats']} / {SMOKE['seats']})")
    p.add_argument("--per-slot", type=int, help=f"applications per slot ({FULL['per_slot']:,} / {SMOKE['per_slot']})")
    p.add_argument("--baseline-divisor", type=int, default=10,
                   help="the baseline allocates slots ÷ this (same seats and applicants per slot) (10)")
    p.add_argument("--notify-slots", type=int, help="slots whose notifications are timed (3 / 1)")
    args = p.parse_args()
    if args.database is None:
        current = os.environ.get("DATABASE_URL", "")
        args.database = "sqlite" if current and not current.startswith("postgres") else DEFAULT_PG
    args.postgres = args.database.startswith("postgres")
    for name, value in (FULL if args.postgres else SMOKE).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    return args


def prepare(args) -> None:
    if args.postgres:
        django_setup(ensure_postgres_database(args.database))
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["JIAOGUAN_SQLITE_PATH"] = str(Path(os.environ["JIAOGUAN_VAR_DIR"]) / "bench.sqlite3")
        django_setup(None)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def citizens(n: int) -> list[int]:
    """n bare citizen accounts (bulk rows: the set-up, not what is measured); the allocation needs only a user."""
    from jiaoguan.core import clock
    from jiaoguan.identity.models import User

    now = clock.now()
    User.objects.bulk_create([User(username=f"bencha{i:07d}", role="citizen", password="!", date_joined=now)
                              for i in range(n)], batch_size=5000)
    return list(User.objects.filter(username__startswith="bencha").order_by("pk").values_list("pk", flat=True))


# --- where the time goes --------------------------------------------------------------------------------------

_TAG = re.compile(r"/\* (allocate:[a-z_]+) \*/")


def _kind(sql: str) -> str:
    tag = _TAG.search(sql)
    if tag:
        return tag.group(1)
    low = sql.lower()
    if "core_audit" in low:
        return "audit rows"
    if "core_outboxevent" in low:
        return "outbox events"
    if low.startswith(("savepoint", "release savepoint", "rollback to savepoint")):
        return "savepoints"
    if "for update" in low or "lock_timeout" in low:
        return "locks (slots, quotas)"
    if low.lstrip().startswith("update \"bookings_slot\""):
        return "allocate:slots"
    return "other"


class StatementTimer:
    """A connection execute wrapper: time and count every statement by kind."""

    def __init__(self) -> None:
        self.secs: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    @contextmanager
    def everywhere(self):
        """Also on the connections opened meanwhile (the allocation's worker threads)."""
        from django.db.backends.signals import connection_created

        def hook(sender, connection, **kwargs):
            connection.execute_wrappers.append(self)

        connection_created.connect(hook)
        try:
            yield
        finally:
            connection_created.disconnect(hook)

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = _kind(sql)
            with self.lock:
                self.secs[kind] += time.perf_counter() - t0
                self.count[kind] += 1


# --- checks over every row --------------------------------------------------------------------------------------


def full_check(*, slot_ids: list[int]) -> dict:
    """Every application and quota of these slots checked in SQL (see the module's docstring)."""
    from django.db import connection

    from jiaoguan.bookings import rules
    from jiaoguan.bookings.models import LIVE_BOOKING

    pg = connection.vendor == "postgresql"
    ids = f"(SELECT value FROM json_each('{list(slot_ids)}'))" if not pg else f"(SELECT unnest(ARRAY{list(slot_ids)}::bigint[]))"
    live = "(" + ", ".join(f"'{s}'" for s in LIVE_BOOKING) + ")"
    order = ", ".join(f"a.{c}" for c in rules.RANK_ORDER)
    out = {}
    with connection.cursor() as cur:
        cur.execute(f"""
            SELECT COUNT(*) FROM (
              SELECT a.rank, a.status, q.capacity - COALESCE(pre.n, 0) AS free,
                     ROW_NUMBER() OVER (PARTITION BY a.quota_id ORDER BY {order}) AS expected
                FROM bookings_application a JOIN bookings_quota q ON q.id = a.quota_id
                LEFT JOIN (SELECT quota_id, COUNT(*) AS n FROM bookings_booking
                            WHERE status IN {live} AND application_id IS NULL GROUP BY quota_id) pre
                       ON pre.quota_id = a.quota_id
               WHERE a.slot_id IN {ids} AND a.rank IS NOT NULL) t
             WHERE rank <> expected
                OR status <> CASE WHEN expected <= free THEN 'allocated' ELSE 'unsuccessful' END""")
        out["rank_errors"] = cur.fetchone()[0]
        cur.execute(f"SELECT COUNT(*) FROM bookings_application WHERE slot_id IN {ids} AND status = 'pending'")
        out["still_pending"] = cur.fetchone()[0]
        cur.execute(f"""
            SELECT COALESCE(SUM(CASE WHEN booked > capacity THEN booked - capacity ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN booked <> CASE WHEN applied < capacity THEN applied ELSE capacity END
                                     THEN 1 ELSE 0 END), 0),
                   COUNT(*), COALESCE(SUM(booked), 0), COALESCE(SUM(applied), 0)
              FROM (SELECT q.id, q.capacity, COALESCE(b.n, 0) AS booked, COALESCE(a.n, 0) AS applied
                      FROM bookings_quota q
                      LEFT JOIN (SELECT quota_id, COUNT(*) AS n FROM bookings_booking
                                  WHERE slot_id IN {ids} AND status IN {live} GROUP BY quota_id) b
                             ON b.quota_id = q.id
                      LEFT JOIN (SELECT quota_id, COUNT(*) AS n FROM bookings_application
                                  WHERE slot_id IN {ids} AND status IN ('allocated', 'unsuccessful')
                                  GROUP BY quota_id) a ON a.quota_id = q.id
                     WHERE q.slot_id IN {ids}) t""")
        out["oversold"], out["quotas_wrong"], out["quotas"], out["booked"], out["applications"] = cur.fetchone()
        cur.execute(f"""
            SELECT COUNT(*) FROM bookings_application a
              LEFT JOIN (SELECT application_id, COUNT(*) AS n,
                                SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END) AS confirmed
                           FROM bookings_booking WHERE slot_id IN {ids} AND application_id IS NOT NULL
                          GROUP BY application_id) b ON b.application_id = a.id
             WHERE a.slot_id IN {ids}
               AND CASE WHEN a.status = 'allocated' THEN COALESCE(b.n, 0) <> 1 OR b.confirmed <> 1
                        ELSE b.n IS NOT NULL END""")
        out["booking_mismatches"] = cur.fetchone()[0]
        cur.execute(f"""
            SELECT COUNT(*) FROM bookings_slot s
              LEFT JOIN (SELECT object_id, COUNT(*) AS n FROM core_auditentry
                          WHERE object_type = 'bookings.slot' AND action = 'booking.slot_allocated'
                          GROUP BY object_id) e ON e.object_id = CAST(s.id AS TEXT)
             WHERE s.id IN {ids} AND (s.status <> 'allocated' OR COALESCE(e.n, 0) <> 1)""")
        out["slots_wrong"] = cur.fetchone()[0]
    return out


def main() -> None:  # noqa: PLR0915 - one linear script
    args = parse_args()
    var = tempfile.mkdtemp(prefix="jiaoguan-bench-alloc-")
    os.environ["JIAOGUAN_VAR_DIR"] = var
    try:
        prepare(args)
        failures = run(args)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("\nall checks passed")


def run(args) -> list[str]:
    from django.conf import settings
    from django.db import connection

    from jiaoguan.bookings import services as engine
    from jiaoguan.bookings.models import Resource
    from jiaoguan.bookings.services import ranked
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.models import OutboxEvent

    engine_label = "PostgreSQL" if args.postgres else "SQLite (smoke run: SQLite serialises writers)"
    print(f"database: {engine_label} {args.database.rsplit('/', 1)[-1] if args.postgres else ''}; "
          f"{os.cpu_count()} CPUs", flush=True)
    actor = Actor.system("bench.allocation")
    resource = engine.resource_create(kind=Resource.Kind.EXAM, code="bench:ranked", name_zh="压测考场 科目二",
                                      name_en="Bench venue, subject 2", actor=actor, policy=Resource.Policy.RANKED)
    user_ids = citizens(1000)
    results = {}
    runs = [("baseline", max(1, args.slots // max(1, args.baseline_divisor))), ("measured", args.slots)]
    for label, n_slots in runs:
        slot_ids = ranked_slots(resource=resource, count=n_slots, seats=args.seats, label=f"bench-{label}")
        t0 = time.monotonic()
        loaded = applications_load(slot_ids=slot_ids, per_slot=args.per_slot, user_ids=user_ids, label=label)
        if args.postgres:  # the steady state autovacuum keeps (it is off on the bench server): hint bits, statistics
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE bookings_application")
        print(f"{label}: {loaded:,} applications in {n_slots:,} slots loaded (and vacuumed) in "
              f"{time.monotonic() - t0:.1f}s", flush=True)
        timer = StatementTimer()
        with DeferredOutbox(), timer.everywhere(), connection.execute_wrapper(timer):
            t0 = time.monotonic()
            run_ = engine.applications_allocate(actor=actor, slot_ids=slot_ids)
            secs = time.monotonic() - t0
        t0 = time.monotonic()
        again = engine.applications_allocate(actor=actor, slot_ids=slot_ids)
        again_s = time.monotonic() - t0
        check = full_check(slot_ids=slot_ids)
        results[label] = {"slots": n_slots, "applications": loaded, "seats": n_slots * args.seats, "secs": secs,
                          "run": run_, "again": again, "again_s": again_s, "check": check, "slot_ids": slot_ids,
                          "timer": timer}
        print(f"{label}: allocated {run_.allocated:,} of {loaded:,} in {secs:.2f}s", flush=True)

    # the notifications the outbox would have sent, timed on a sample of slots, then again (nothing twice)
    sample = results["measured"]["slot_ids"][: args.notify_slots]
    t0 = time.monotonic()
    sent = sum(engine.slot_allocation_notify(slot_id=s) for s in sample)
    notify_s = time.monotonic() - t0
    resent = sum(engine.slot_allocation_notify(slot_id=s) for s in sample)
    events = OutboxEvent.objects.filter(topic="bookings.slot_allocated").count()

    b, m = results["baseline"], results["measured"]
    print(f"\nranked allocation — {engine_label}; bookings.services.applications_allocate, set-based "
          f"({ranked.ALLOCATE_BATCH_SLOTS:,} slots at most per transaction, "
          f"{settings.JIAOGUAN_ALLOCATION_WORKERS if args.postgres else 1} connection(s) at once); outbox dispatch "
          "deferred while timed")
    print(f"{'run':<10}{'slots':>7}{'applications':>14}{'seats':>10}{'allocated':>11}{'seconds':>9}"
          f"{'appl./s':>10}{'queries':>9}{'rank err':>9}{'oversold':>9}{'wrong':>7}{'bk err':>7}{'re-run':>8}")
    for label, r in (("baseline", b), ("measured", m)):
        c, t = r["check"], r["timer"]
        print(f"{label:<10}{r['slots']:>7,}{r['applications']:>14,}{r['seats']:>10,}{r['run'].allocated:>11,}"
              f"{r['secs']:>9.2f}{r['applications'] / r['secs']:>10,.0f}{sum(t.count.values()):>9,}"
              f"{c['rank_errors']:>9}{c['oversold']:>9}{c['quotas_wrong']:>7}{c['booking_mismatches']:>7}"
              f"{r['again'].slots:>8}")
    ratio = m["secs"] / b["secs"] if b["secs"] else float("nan")
    scale = m["applications"] / b["applications"]
    print(f"measured ÷ baseline: {scale:.0f}× the applications in {ratio:.2f}× the time (linear: {scale:.0f}×)")
    print("\nwhere the time goes (seconds, statements):")
    kinds = sorted(set(b["timer"].secs) | set(m["timer"].secs), key=lambda k: -m["timer"].secs.get(k, 0))
    print(f"  {'statement':<24}{'baseline s':>11}{'n':>7}{'measured s':>12}{'n':>7}{'share':>7}")
    for k in kinds:
        print(f"  {k:<24}{b['timer'].secs.get(k, 0):>11.3f}{b['timer'].count.get(k, 0):>7,}"
              f"{m['timer'].secs.get(k, 0):>12.3f}{m['timer'].count.get(k, 0):>7,}"
              f"{m['timer'].secs.get(k, 0) / m['secs']:>7.0%}")
    for label, r in (("baseline", b), ("measured", m)):
        db = sum(r["timer"].secs.values())
        print(f"  {label}: {db:.2f}s of statements (summed over the connections; commits not included)")
    print(f"\nre-run right after (idempotent): {b['again'].slots} + {m['again'].slots} slots, "
          f"{b['again'].allocated + m['again'].allocated} allocated ({b['again_s']:.2f}s / {m['again_s']:.2f}s)")
    print(f"outbox: {events:,} bookings.slot_allocated events for {b['slots'] + m['slots']:,} slots")
    print(f"notification (a worker's handler, measured apart): {sent:,} applicants of {len(sample)} slots told in "
          f"{notify_s:.1f}s = {sent / notify_s if notify_s else 0:,.0f}/s (inbox only: the bench accounts have no "
          f"phone); run again: {resent} sent")
    failures = []
    for label, r in results.items():
        c = r["check"]
        bad = {k: c[k] for k in ("rank_errors", "oversold", "quotas_wrong", "booking_mismatches", "slots_wrong",
                                 "still_pending") if c[k]}
        if bad:
            failures.append(f"{label}: {bad}")
        if r["again"].slots or r["again"].allocated:
            failures.append(f"{label}: the re-run allocated {r['again'].allocated} in {r['again'].slots} slots")
        if args.per_slot >= args.seats and r["run"].allocated != r["seats"]:
            failures.append(f"{label}: allocated {r['run'].allocated} of {r['seats']} seats")
    if events != b["slots"] + m["slots"]:
        failures.append(f"{events} outbox events for {b['slots'] + m['slots']} slots")
    if resent:
        failures.append(f"notification sent {resent} twice")
    return failures


if __name__ == "__main__":
    main()
