"""Where the time of a "my records" request goes, in process (no HTTP server, no load generator): the profile of
issue 13, measured stage by stage on PostgreSQL, beside the no-op endpoint in the same run.

Figures (CPU-bound, one connection, p50 and p99 over BENCH_ROUNDS requests rotated over BENCH_USERS citizens):
- a whole request through Django's test client (middleware, routing, auth, view, response): the no-op health
  endpoint; GET me/vehicles and me/violations from the read model; the same with If-None-Match (304);
- the old way of answering me/vehicles and me/violations (the owning apps' selectors and renderers, what each
  request did before the read model) — the "before" of the ratio;
- stages: the bearer-token lookup (identity.services.tokens.user_for_token), the read model's one SELECT
  (records.selectors.part_for without the decryption), the decryption of a part, a rebuild of one account's
  records (records.services.records_build: what a change costs the outbox worker).

Environment: BENCH_RECORDS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_records — dropped and
recreated), BENCH_PERSONS (5000), BENCH_USERS (200), BENCH_VIOLATIONS (20 per citizen), BENCH_ROUNDS (2000).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import django_setup, ensure_postgres_database  # noqa: E402

URL = os.environ.get("BENCH_RECORDS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_records")
PERSONS = int(os.environ.get("BENCH_PERSONS", 5000))
USERS = int(os.environ.get("BENCH_USERS", 200))
VIOLATIONS = int(os.environ.get("BENCH_VIOLATIONS", 20))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 2000))


def prepare() -> list[tuple[object, str]]:
    django_setup(ensure_postgres_database(URL))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jiaoguan.core import clock
    from jiaoguan.identity.models import User
    from jiaoguan.identity.roles import Role
    from jiaoguan.identity.services import bindings_sync_own, token_issue
    from jiaoguan.registry.demo import generate_city
    from jiaoguan.registry.models import Person
    from jiaoguan.violations.models import Violation, ViolationCode

    generate_city(persons=PERSONS, seed=7)
    owners = list(Person.objects.filter(vehicles__isnull=False, account__isnull=True).distinct().order_by("pk")[:USERS])
    code = ViolationCode.objects.get(code="1352")
    now = clock.now()
    citizens, rows = [], []
    for person in owners:
        user = User.objects.create_user(username=f"bench{person.pk}", password=None, role=Role.CITIZEN,
                                        phone=person.phone, person=person, real_name_verified_at=now)
        bindings_sync_own(user=user)
        citizens.append((user, token_issue(user=user, label="bench")))
        vehicle = person.vehicles.order_by("pk").first()
        rows += [Violation(plate=vehicle.plate, plate_type=vehicle.plate_type, vehicle=vehicle, code=code,
                           points=code.points, fine_fen=code.fine_fen, place="深南大道与彩田路交叉口",
                           occurred_at=now - dt.timedelta(days=i + 1), source=Violation.Source.DEVICE,
                           recorded_at=now, updated_at=now) for i in range(VIOLATIONS)]
    Violation.objects.bulk_create(rows, batch_size=2000)
    print(f"{PERSONS} persons, {len(citizens)} citizens with tokens, {len(rows)} violations", flush=True)
    return citizens


def timed(name: str, fn, citizens, results: dict) -> None:
    for i in range(min(50, ROUNDS)):  # warm-up
        fn(*citizens[i % len(citizens)])
    samples = []
    for i in range(ROUNDS):
        args = citizens[i % len(citizens)]
        t = time.perf_counter()
        fn(*args)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    results[name] = (statistics.median(samples), samples[int(len(samples) * 0.99) - 1])


def main() -> None:
    citizens = prepare()
    from django.test import Client

    from jiaoguan.core import crypto
    from jiaoguan.identity import render as identity_render
    from jiaoguan.identity import selectors as identity
    from jiaoguan.identity.services.tokens import user_for_token
    from jiaoguan.records import selectors as records
    from jiaoguan.records import services as records_services
    from jiaoguan.records.parts import VIOLATIONS_LISTED
    from jiaoguan.violations import render as violations_render
    from jiaoguan.violations import selectors as violations

    client = Client()
    etags: dict[int, str] = {}

    def get(path: str, token: str, **extra):
        r = client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="zh-hans",
                       **extra)
        assert r.status_code in (200, 304), (path, r.status_code, r.content[:200])
        return r

    started = time.perf_counter()
    for user, token in citizens:  # first reads build the records
        for path in ("me", "me/licences", "me/violations"):
            get(path, token)
        etags[user.pk] = get("me/vehicles", token)["ETag"]
    print(f"first reads (records built) of {len(citizens)} citizens: "
          f"{(time.perf_counter() - started) * 1000 / len(citizens):.1f} ms a citizen", flush=True)

    def old_vehicles(user, token):
        u = user_for_token(token)
        out = [identity_render.vehicle_out("zh-hans", mv) for mv in identity.my_vehicles(user=u)]
        return json.dumps(out, default=str, ensure_ascii=False)

    def old_violations(user, token):
        u = user_for_token(token)
        out = [violations_render.violation_out(v) for v in violations.my_violations(user=u)[:VIOLATIONS_LISTED]]
        return json.dumps(out, default=str, ensure_ascii=False)

    results: dict[str, tuple[float, float]] = {}
    timed("no-op GET /api/v1/health (whole request)", lambda u, t: client.get("/api/v1/health"), citizens, results)
    timed("GET me/vehicles (read model)", lambda u, t: get("me/vehicles", t), citizens, results)
    timed("GET me/vehicles, If-None-Match → 304", lambda u, t: get("me/vehicles", t, HTTP_IF_NONE_MATCH=etags[u.pk]),
          citizens, results)
    timed(f"GET me/violations (read model, {VIOLATIONS} rows)", lambda u, t: get("me/violations", t), citizens, results)
    timed("GET me/licences (read model)", lambda u, t: get("me/licences", t), citizens, results)
    timed("GET me (read model)", lambda u, t: get("me", t), citizens, results)
    timed("before: me/vehicles from the sources (no HTTP)", old_vehicles, citizens, results)
    timed(f"before: me/violations from the sources (no HTTP, {VIOLATIONS} rows)", old_violations, citizens, results)
    timed("stage: bearer token → user (one statement)", lambda u, t: user_for_token(t), citizens, results)
    timed("stage: read-model SELECT (no decryption)",
          lambda u, t: records.part_for(user_id=u.pk, part="violations", language="zh-hans"), citizens, results)
    bodies = {u.pk: records.part_for(user_id=u.pk, part="violations", language="zh-hans")._body for u, _ in citizens}
    timed("stage: decrypt the violations part", lambda u, t: crypto.decrypt(bodies[u.pk]), citizens, results)
    timed("a rebuild of one account (outbox worker)", lambda u, t: records_services.records_build(user_id=u.pk),
          citizens, results)

    noop = results["no-op GET /api/v1/health (whole request)"][0]
    print(f"\nPostgreSQL, in process, {ROUNDS} rounds over {len(citizens)} citizens")
    print(f"{'measure':<58}{'p50 ms':>9}{'p99 ms':>9}{'p50 ÷ no-op':>13}")
    for name, (p50, p99) in results.items():
        print(f"{name:<58}{p50:>9.3f}{p99:>9.3f}{p50 / noop:>13.1f}")
    mine = results["GET me/vehicles (read model)"][0]
    before = results["before: me/vehicles from the sources (no HTTP)"][0]
    print(f"\nme/vehicles: the read model's whole request {mine:.2f} ms vs the sources' work alone {before:.2f} ms "
          f"(×{before / mine:.1f})")


if __name__ == "__main__":
    main()
