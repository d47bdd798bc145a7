"""Helpers of bench_bookings.py: fast set-up (accounts with tokens, slots, a million applications), a concurrent
HTTP client with per-request latencies, and the allocation checks."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import queue
import random
import secrets
import threading
import time
from collections import Counter


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# --- accounts --------------------------------------------------------------------------------------------------


def citizens_with_tokens(n: int, *, prefix: str = "benchc") -> tuple[list[int], list[str]]:
    """n citizen accounts (real-name verified, no password) each with a bearer token, in bulk inserts.

    The rows are what ``identity.services.token_issue`` would write (a SHA-256 of the token), made in bulk only
    because a benchmark needs tens of thousands of them in seconds."""
    from jiaoguan.core import clock
    from jiaoguan.identity.hashes import password_stamp, token_digest
    from jiaoguan.identity.models import ApiToken, User
    from jiaoguan.identity.services.tokens import TOKEN_PREFIX

    now = clock.now()
    users = [User(username=f"{prefix}{i:07d}", role="citizen", password="!", real_name_verified_at=now,
                  date_joined=now) for i in range(n)]
    User.objects.bulk_create(users, batch_size=5000)
    ids = list(User.objects.filter(username__startswith=prefix).order_by("username").values_list("pk", flat=True))
    tokens = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in ids]
    ApiToken.objects.bulk_create(
        [ApiToken(user_id=uid, token_hash=token_digest(t), label="bench", created_at=now,
                  expires_at=now + dt.timedelta(days=30), password_stamp=password_stamp("!"))
         for uid, t in zip(ids, tokens)], batch_size=5000)
    return ids, tokens


# --- HTTP ------------------------------------------------------------------------------------------------------


def blast(port: int, threads: int, requests: list[tuple[str, str, bytes | None, dict[str, str]]],
          ends: list[float] | None = None) -> tuple[float, list[float], list[tuple[int, str]]]:
    """Send the requests from ``threads`` threads (one connection each, reopened when the server closes it), in
    list order. Returns (elapsed seconds, latency in ms per request, (status, error code) per request); ``ends``,
    if given, receives each request's completion time in seconds from the start."""
    work: queue.Queue = queue.Queue()
    for i, r in enumerate(requests):
        work.put((i, r))
    latencies: list[float] = [0.0] * len(requests)
    outcomes: list[tuple[int, str]] = [(0, "")] * len(requests)
    start_gate = threading.Barrier(threads + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start_gate.wait()
        while True:
            try:
                i, (method, path, body, headers) = work.get_nowait()
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
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status, data = 0, json.dumps({"code": type(exc).__name__}).encode()
            t1 = time.perf_counter()
            latencies[i] = (t1 - t0) * 1000
            if ends is not None:
                ends[i] = t1
            code = ""
            if status >= 400 or status == 0:
                try:
                    code = json.loads(data).get("code", "")
                except (ValueError, AttributeError):
                    code = data[:40].decode("utf-8", "replace")
            outcomes[i] = (status, code)
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    start_gate.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    if ends is not None:
        ends[:] = [e - started for e in ends]
    return time.perf_counter() - started, latencies, outcomes


def wait_up(port: int, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


# --- ranked allocation set-up -------------------------------------------------------------------------------------


def ranked_slots(*, resource, count: int, seats: int, label: str) -> list[int]:
    """``count`` ranked slots of one resource whose window closed a minute ago, one "public" quota of ``seats``
    each; bulk rows (the set-up, not what is measured)."""
    from jiaoguan.bookings.models import Quota, Slot
    from jiaoguan.core import clock

    now = clock.now()
    base = now + dt.timedelta(days=10)
    slots = [Slot(resource=resource, starts_at=base + dt.timedelta(minutes=30 * i),
                  ends_at=base + dt.timedelta(minutes=30 * i + 30), opens_at=now - dt.timedelta(days=7),
                  closes_at=now - dt.timedelta(minutes=1), cancel_until=base + dt.timedelta(minutes=30 * i),
                  period_key=label, created_at=now) for i in range(count)]
    Slot.objects.bulk_create(slots, batch_size=2000)
    ids = list(Slot.objects.filter(resource=resource, period_key=label).order_by("pk").values_list("pk", flat=True))
    Quota.objects.bulk_create([Quota(slot_id=s, name="public", capacity=seats) for s in ids], batch_size=5000)
    return ids


def applications_load(*, slot_ids: list[int], per_slot: int, user_ids: list[int], label: str, seed: int = 4) -> int:
    """``per_slot`` pending applications in each slot, random sort times over 60 days, users cycled. PostgreSQL:
    COPY (psycopg 3); SQLite: bulk_create. Columns come from the model, so a new engine field with a default
    needs no change here."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    from jiaoguan.bookings.models import Application, Quota
    from jiaoguan.core import clock

    rng = random.Random(seed)
    now = clock.now()
    quota_of = dict(Quota.objects.filter(slot_id__in=slot_ids).values_list("slot_id", "pk"))
    origin = now - dt.timedelta(days=60)
    span = 60 * 86400

    def row_values(slot_id: int, k: int, n: int) -> dict:
        return {"slot_id": slot_id, "quota_id": quota_of[slot_id], "user_id": user_ids[n % len(user_ids)],
                "subject": f"{label}:{n}", "subject_label": "", "exclusive_key": f"{label}:{slot_id}:{k}",
                "party": f"{label}:p{n}", "sort_time": origin + dt.timedelta(seconds=rng.randrange(span)),
                "status": "pending", "rank": None, "meta": {}, "created_at": now, "decided_at": None}

    fields = [f for f in Application._meta.concrete_fields if not f.primary_key]
    total = 0
    if connection.vendor == "postgresql":
        cols = [f.column for f in fields]
        defaults = {}
        for f in fields:
            if f.attname not in ("slot_id", "quota_id", "user_id", "subject", "subject_label", "exclusive_key",
                                 "party", "sort_time", "status", "rank", "meta", "created_at", "decided_at"):
                defaults[f.attname] = (f.get_default() if f.default is not NOT_PROVIDED or f.null else "")
        json_cols = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
        sql = f"COPY {Application._meta.db_table} ({', '.join(cols)}) FROM STDIN"
        connection.ensure_connection()
        with connection.connection.cursor() as cur, cur.copy(sql) as copy:
            n = 0
            for slot_id in slot_ids:
                for k in range(per_slot):
                    values = {**defaults, **row_values(slot_id, k, n)}
                    copy.write_row([json.dumps(values[f.attname]) if f.attname in json_cols
                                    else values[f.attname] for f in fields])
                    n += 1
            total = n
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {Application._meta.db_table}")
    else:
        n = 0
        batch = []
        for slot_id in slot_ids:
            for k in range(per_slot):
                batch.append(Application(**row_values(slot_id, k, n)))
                n += 1
                if len(batch) >= 5000:
                    Application.objects.bulk_create(batch)
                    batch = []
        if batch:
            Application.objects.bulk_create(batch)
        total = n
    return total


def allocation_check(*, slot_ids: list[int], sample: int = 5) -> dict:
    """allocated == min(seats, applications) for every quota; ranks 1..n in (sort time, id) order and
    'allocated' exactly for ranks ≤ seats on a sample of quotas."""
    from django.db.models import Count

    from jiaoguan.bookings.models import Application, Booking, Quota

    quotas = list(Quota.objects.filter(slot_id__in=slot_ids).values("pk", "capacity"))
    applied = dict(Application.objects.filter(slot_id__in=slot_ids).values("quota_id").order_by()
                   .annotate(n=Count("id")).values_list("quota_id", "n"))
    booked = dict(Booking.objects.filter(slot_id__in=slot_ids, status__in=("confirmed", "attended", "held"))
                  .values("quota_id").order_by().annotate(n=Count("id")).values_list("quota_id", "n"))
    for q in quotas:
        q["applied"], q["booked"] = applied.get(q["pk"], 0), booked.get(q["pk"], 0)
    wrong = [q for q in quotas if q["booked"] != min(q["capacity"], q["applied"])]
    oversold = sum(max(0, q["booked"] - q["capacity"]) for q in quotas)
    rank_errors = 0
    picked = random.Random(9).sample(quotas, min(sample, len(quotas)))
    for q in picked:
        rows = list(Application.objects.filter(quota_id=q["pk"]).order_by("sort_time", "pk")
                    .values_list("rank", "status"))
        for i, (rank, status) in enumerate(rows, start=1):
            expected = "allocated" if i <= q["capacity"] else "unsuccessful"
            if rank != i or status != expected:
                rank_errors += 1
        linked = Booking.objects.filter(quota_id=q["pk"], application__isnull=False).count()
        if linked != min(q["capacity"], len(rows)):
            rank_errors += 1
    return {"quotas": len(quotas), "quotas_wrong": len(wrong), "oversold": oversold,
            "sampled_quotas": len(picked), "rank_errors": rank_errors,
            "allocated": sum(q["booked"] for q in quotas), "applications": sum(q["applied"] for q in quotas)}


class DeferredOutbox:
    """While active, outbox rows are written as usual but not handed to Celery after commit (so the allocation
    is timed without the per-applicant notifications, which are measured separately)."""

    def __enter__(self):
        import jiaoguan.core.tasks as tasks

        self._tasks, self._real = tasks, tasks.outbox_deliver

        class _Stub:
            @staticmethod
            def delay(*args, **kwargs):
                return None

        tasks.outbox_deliver = _Stub()
        return self

    def __exit__(self, *exc):
        self._tasks.outbox_deliver = self._real
        return False


def outcome_table(outcomes: list[tuple[int, str]]) -> Counter:
    return Counter(f"{status} {code}".strip() if status != 201 else "201 booked" for status, code in outcomes)
