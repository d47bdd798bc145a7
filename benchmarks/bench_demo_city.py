"""Demo city generation rate: persons/s of registry.demo.generate_city at Shenzhen-like size.

    .venv/bin/python benchmarks/bench_demo_city.py [--persons 100000] [--baseline 10000] [--seed 2026]

Runs on the configured database engine (SQLite file in WAL mode by default, PostgreSQL when DATABASE_URL is
set) but in a throw-away database created for the run (Django's test database: ``test_<name>``, or a temporary
SQLite file), so the development database is never touched. The baseline is a smaller city generated in the
same run on the same empty database; the ratio shows whether the rate holds as the tables grow. Each run
includes encrypting the personal fields and computing their lookup hashes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000, help="size of the measured city (default 100000)")
    parser.add_argument("--baseline", type=int, default=10_000, help="size of the baseline city (default 10000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes writing the city (PostgreSQL; generate_city(workers=n)); the baseline too")
    args = parser.parse_args(argv)

    import django
    from django.conf import settings

    tmpdir = tempfile.TemporaryDirectory(prefix="jiaoguan-bench-")
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("TEST", {})["NAME"] = str(Path(tmpdir.name) / "bench.sqlite3")
    django.setup()

    from django.db import connection

    from jiaoguan.registry.demo import generate_city

    old_name = connection.settings_dict["NAME"]
    engine = connection.vendor
    print(f"demo_city generation rate on {engine} (throw-away database)", flush=True)
    results = {}
    try:
        for label, size in (("baseline", args.baseline), ("measured", args.persons)):
            # each size on an empty database of its own (the points ledger's rows protect the licences)
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            started = time.perf_counter()
            city = generate_city(persons=size, seed=args.seed, workers=args.workers)
            seconds = time.perf_counter() - started
            rate = city.persons / seconds
            results[label] = {"persons": city.persons, "licences": city.licences, "vehicles": city.vehicles,
                              "policies": city.policies, "seconds": round(seconds, 2), "persons_per_s": round(rate)}
            print(f"  {label:<9} {city.persons:>9,} persons, {city.licences:,} licences, {city.vehicles:,} vehicles, "
                  f"{city.policies:,} policies: {seconds:7.1f} s  {rate:8,.0f} persons/s", flush=True)
            connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        tmpdir.cleanup()
    ratio = results["measured"]["persons_per_s"] / max(results["baseline"]["persons_per_s"], 1)
    print(f"  ratio measured/baseline: {ratio:.2f}")
    print("RESULT " + json.dumps({"benchmark": "demo_city", "engine": engine, "workers": args.workers, **results,
                                  "ratio": round(ratio, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
