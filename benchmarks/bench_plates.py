"""Plate draws/s (选号 摇号) at service level, on a pool of 100,000+ numbers, beside a baseline from the same run.

    .venv/bin/python benchmarks/bench_plates.py [--pool 100000] [--baseline-pool 1000] [--users 300] [--draws 21]

Runs on the configured database engine (SQLite by default, PostgreSQL when DATABASE_URL is set) in a throw-away
database (Django's test database: ``test_<name>``, or a temporary SQLite file), so no real data is touched.

1. Pool generation: the measured pool is made of ``--pool / 10,000`` series like "A####" through
   ``plates.services.plate_pool_generate`` (GA 36 validation of every number, bulk insert): numbers/s.
2. Draws: ``--users`` citizens, each with a newly registered car, start a selection and draw ``--draws`` batches
   of 10 through ``plates.services.selection_draw`` — the whole service: lock the selection, check the redraw
   allowance, the per-user and per-IP rate limits (raised for the run), the random read along the
   (office, kind, status, rand) index, the save and the hash-chained audit row. Printed: draws/s and p50/p99 ms.
   Baseline: the same draws against a second office whose pool holds only ``--baseline-pool`` numbers; the ratio
   shows whether a draw's cost depends on the pool's size (it should not). Also printed: the bare random read
   (``plates.services.draw_numbers``) per second on both pools.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def make_owners(n: int, prefix: str, start: int) -> list:
    """n citizens (accounts whose phone is the phone on file) each owning a car registered 3 days ago."""
    from jiaoguan.core import clock
    from jiaoguan.core.identifiers import VIN_ALPHABET, make_id_number, make_vin
    from jiaoguan.identity.models import User
    from jiaoguan.identity.roles import Role
    from jiaoguan.registry.models import Person, Vehicle

    now, today = clock.now(), clock.today()
    out = []
    for i in range(start, start + n):
        id_number = make_id_number("440304", dt.date(1980, 1, 1) + dt.timedelta(days=i % 9000), (i * 2 + 1) % 1000)
        phone = f"137{i:08d}"
        person = Person.objects.create(name="测试", id_number=id_number, phone=phone, address="深圳",
                                       gender="M", birth_date=dt.date(1980, 1, 1), created_at=now, updated_at=now)
        vis = "".join(VIN_ALPHABET[(i // 33 ** k) % 33] for k in range(8))
        car = Vehicle.objects.create(plate=f"{prefix}Z{i % 10000:04d}" if i < 10000 else f"{prefix}Y{i % 10000:04d}",
                                     plate_type="02", vin=make_vin("LSVAM418", vis), owner=person, brand="比亚迪 秦",
                                     kind="small_car", use="private", registration_date=today - dt.timedelta(days=3),
                                     inspection_due=today + dt.timedelta(days=2000), created_at=now, updated_at=now)
        user = User.objects.create_user(username=f"plate{i}", password=None, role=Role.CITIZEN, phone=phone,
                                        person=person, real_name_verified_at=now)
        out.append((user, car))
    return out


def run_draws(owners: list, draws: int) -> tuple[float, list[float]]:
    from jiaoguan.plates import services

    sels = [(u, services.selection_start(user=u, vehicle_id=c.pk)) for u, c in owners]
    lat = []
    started = time.perf_counter()
    for d in range(draws):
        for i, (user, sel) in enumerate(sels):
            t = time.perf_counter()
            services.selection_draw(user=user, selection_id=sel.pk, ip=f"10.{i % 250}.{d % 250}.1")
            lat.append((time.perf_counter() - t) * 1000)
    return time.perf_counter() - started, lat


def raw_reads(office, n: int) -> float:
    from jiaoguan.plates import services

    started = time.perf_counter()
    for _ in range(n):
        services.draw_numbers(office=office, kind="02", count=10)
    return n / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=100_000, help="numbers in the measured pool (multiple of 10,000)")
    parser.add_argument("--baseline-pool", type=int, default=1_000, help="numbers in the baseline pool")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--draws", type=int, default=21, help="draws per selection (1 + redraws, at most 21)")
    args = parser.parse_args(argv)

    import django
    from django.conf import settings

    tmpdir = tempfile.TemporaryDirectory(prefix="jiaoguan-bench-plates-")
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("TEST", {})["NAME"] = str(Path(tmpdir.name) / "bench.sqlite3")
    settings.JIAOGUAN_PLATES = {"DRAW_RATE_PER_USER": "100000/h", "DRAW_RATE_PER_IP": "100000/h"}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    django.setup()

    from django.db import connection

    from jiaoguan.core.audit import Actor
    from jiaoguan.core.identifiers import PLATE_LETTERS
    from jiaoguan.plates import services
    from jiaoguan.plates.models import PlateNumber

    engine = connection.vendor
    print(f"plate draws on {engine} (throw-away database)", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        actor = Actor.system("bench")
        redraws = max(0, min(20, args.draws - 1))
        big = services.office_create(code="440300", name="深圳", prefix="粤B", actor=actor, redraws=redraws)
        small = services.office_create(code="440100", name="广州", prefix="粤A", actor=actor, redraws=redraws)
        started = time.perf_counter()
        series = [f"{PLATE_LETTERS[i]}####" for i in range(max(1, args.pool // 10_000))]
        for s in series:
            services.plate_pool_generate(office=big, kind="02", series=s, actor=actor, seed=len(s))
        gen_secs = time.perf_counter() - started
        big_n = PlateNumber.objects.filter(office=big).count()
        digits = max(1, len(str(max(1, args.baseline_pool - 1))))
        small_series = "A" + "0" * (4 - digits) + "#" * digits
        services.plate_pool_generate(office=small, kind="02", series=small_series, actor=actor, seed=7)
        small_n = PlateNumber.objects.filter(office=small).count()
        print(f"pool generation: {big_n:,} numbers in {gen_secs:.1f}s = {big_n / gen_secs:,.0f} numbers/s "
              f"(baseline pool: {small_n:,} numbers)", flush=True)

        results = {}
        for label, office, prefix, start in (("baseline", small, "粤A", 0), ("measured", big, "粤B", 50_000)):
            owners = make_owners(args.users, prefix, start)
            secs, lat = run_draws(owners, args.draws)
            results[label] = (len(lat) / secs, statistics.median(lat), pct(lat, 99), raw_reads(office, 2000))
            print(f"{label:<9} pool {small_n if label == 'baseline' else big_n:>9,}: {len(lat):,} draws in {secs:.1f}s "
                  f"= {len(lat) / secs:,.0f} draws/s (p50 {statistics.median(lat):.2f} ms, p99 {pct(lat, 99):.2f} ms); "
                  f"bare random read {results[label][3]:,.0f}/s", flush=True)
        ratio = results["measured"][0] / results["baseline"][0]
        print(f"draws/s at {big_n:,} numbers vs {small_n:,}: {ratio:.2f}x of the baseline", flush=True)
    finally:
        connection.creation.destroy_test_db(db["NAME"] if engine != "sqlite" else db["TEST"]["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
