"""Run the benchmarks (make bench). Each prints its own figures and its baseline from the same run."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
PG = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaoguan_bench")
# (script, extra environment): demo_city generation is measured on both engines.
runs = [
    ("bench_api.py", {}),
    ("bench_records.py", {}),  # its own database, BENCH_RECORDS_DATABASE_URL
    ("bench_demo_city.py", {"DATABASE_URL": ""}),
    ("bench_demo_city.py", {"DATABASE_URL": PG}),
    ("bench_payments.py", {"DATABASE_URL": PG}),  # it uses its own database, BENCH_PAYMENTS_DATABASE_URL
    ("bench_violations.py", {"DATABASE_URL": PG}),  # its own database too, BENCH_VIOLATIONS_DATABASE_URL
    ("bench_bookings.py", {"DATABASE_URL": PG}),  # its own database, BENCH_BOOKINGS_DATABASE_URL
    ("bench_allocation.py", {"DATABASE_URL": PG}),  # its own database, BENCH_ALLOCATION_DATABASE_URL
    ("bench_plates.py", {"DATABASE_URL": ""}),
    ("bench_plates.py", {"DATABASE_URL": PG}),
    ("bench_applications.py", {"DATABASE_URL": PG}),  # its own database, BENCH_APPLICATIONS_DATABASE_URL
    ("bench_audit.py", {"DATABASE_URL": PG}),  # its own database, BENCH_AUDIT_DATABASE_URL
]
failed = []
for name, extra in runs:
    script = here / name
    env = {**os.environ, **extra}
    if env.get("DATABASE_URL") == "":
        env.pop("DATABASE_URL")
    label = f"{name} ({'PostgreSQL' if env.get('DATABASE_URL') else 'SQLite'})" if name != "bench_api.py" else name
    print(f"\n=== {label} ===", flush=True)
    started = time.monotonic()
    rc = subprocess.call([sys.executable, str(script)], cwd=here.parent, env=env)
    print(f"--- {label}: exit {rc} in {time.monotonic() - started:.0f}s", flush=True)
    if rc:
        failed.append(label)
if failed:
    print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1)
