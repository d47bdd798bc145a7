"""Shared plumbing for benchmarks: a PostgreSQL database of their own, Django set-up, wrk."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jiaoguan_bench")


def ensure_postgres_database(url: str = BENCH_DB_URL, *, fresh: bool = True) -> str:
    """Create (or recreate) the benchmark's own database so a run never touches the test or demo data."""
    from urllib.parse import urlparse

    import psycopg

    u = urlparse(url)
    name = u.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def django_setup(database_url: str | None) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
    import django

    django.setup()


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("installing wrk (Debian package) for the HTTP load benchmarks", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    return path


def violations_bulk(n: int, *, owner_ids: list[int], mine: bool, per_vehicle: bool = False) -> tuple[int, int]:
    """Camera violations written set-based (one INSERT … SELECT over generate_series): ``n`` spread over the
    vehicles of the ``owner_ids`` (``mine``) or over every other vehicle; with ``per_vehicle``, ``n`` on each of
    those vehicles. Statuses mixed like a city's (recorded, handled, paid), occurred in the last 700 days. Returns
    (how many vehicles they went to, the table's row count after)."""
    import datetime as dt

    from django.db import connection

    from jiaoguan.registry.models import Vehicle
    from jiaoguan.violations.models import Violation, ViolationCode

    table, vtable = Violation._meta.db_table, Vehicle._meta.db_table
    codes = list(ViolationCode.objects.filter(active=True).values_list("pk", flat=True))
    code_ids = "ARRAY[" + ",".join(str(c) for c in codes) + "]"
    now = dt.datetime.now(dt.UTC)
    insert = f"""
        INSERT INTO {table} (plate, plate_type, vehicle_id, code_id, points, fine_fen, place, occurred_at, source,
                             device_id, device_record_id, accident, congestion, status, status_before_dispute,
                             waiver_rule, recorded_by_id, recorded_at, updated_at)
        SELECT v.plate, v.plate_type, v.id, c.id, c.points, c.fine_fen, '深南大道与华富路交叉口',
               %(now)s - make_interval(mins => ((g * 104729) %% (700 * 1440))::int), 'device', NULL, '', false,
               false, (ARRAY['recorded','recorded','recorded','handled','paid','paid'])[1 + g %% 6], '', '', NULL,
               %(now)s, %(now)s
        FROM generate_series(0::bigint, %(n)s::bigint - 1) AS g
        JOIN vs ON vs.i = (g * 7919) %% %(nv)s
        JOIN {ViolationCode._meta.db_table} c ON c.id = ({code_ids})[1 + g %% {len(codes)}]
        JOIN {vtable} v ON v.id = vs.vehicle_id
    """
    which = "owner_id = ANY(%s)" if mine else "NOT (owner_id = ANY(%s))"
    with connection.cursor() as cur:
        cur.execute(f"""CREATE TEMP TABLE vs AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS i, id AS vehicle_id
                        FROM {vtable} WHERE {which}""", [owner_ids])
        cur.execute("CREATE INDEX ON vs (i)")
        cur.execute("SELECT count(*) FROM vs")
        vehicles = cur.fetchone()[0]
        if vehicles:
            cur.execute(insert, {"now": now, "n": n * vehicles if per_vehicle else n, "nv": vehicles})
        cur.execute("DROP TABLE vs")
        cur.execute(f"ANALYZE {table}")
        cur.execute(f"SELECT count(*) FROM {table}")
        total = cur.fetchone()[0]
    return vehicles, total
