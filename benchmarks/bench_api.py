"""'My records' API under load on gunicorn + PostgreSQL, next to a no-op endpoint of the same server.

Figures: requests/s, p50 and p99 latency for each of GET /api/v1/me, me/licences, me/vehicles, me/violations
(bearer tokens of many different citizens, rotated per request; served from the read model, jiaoguan.records),
for a repeat read of me/vehicles with the client's ETag (If-None-Match: 304, no body), and for GET /api/v1/health
(the no-op baseline: same server, same middleware, same framework); the ratio of each throughput to the no-op's
is the figure that travels between machines. Each citizen's records are read once before the runs (the read
model is materialised by a citizen's first read).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench — dropped and
recreated), BENCH_PERSONS (20000), BENCH_USERS (500), BENCH_VIOLATIONS (20 per citizen), BENCH_SECONDS (15),
BENCH_CONNECTIONS ("2,16": one run per value), BENCH_PATHS ("me,me/licences,me/vehicles,me/violations,me/summary,
304,page": "page" is the citizen's HTML page /me/ with a logged-in session cookie instead of a token),
BENCH_WORKERS (2 gunicorn workers), BENCH_GEN_WORKERS (1: processes generating the city; 2 for a Shenzhen-size
one), BENCH_BULK_VIOLATIONS (0: that many more violations over the other citizens' vehicles, set-based),
BENCH_REUSE (0; 1: keep the database and the city, the bench citizens and their violations if already there — a
city of 3.78 M persons is built once: ``BENCH_PERSONS=3780000 BENCH_GEN_WORKERS=2 BENCH_BULK_VIOLATIONS=1000000``).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, django_setup, ensure_postgres_database, ensure_wrk, violations_bulk  # noqa: E402

PERSONS = int(os.environ.get("BENCH_PERSONS", 20000))
USERS = int(os.environ.get("BENCH_USERS", 500))
SECONDS = int(os.environ.get("BENCH_SECONDS", 15))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "2,16").split(",")]
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
VIOLATIONS = int(os.environ.get("BENCH_VIOLATIONS", 20))
PATHS = os.environ.get("BENCH_PATHS", "me,me/licences,me/vehicles,me/violations,me/summary,304,page").split(",")
GEN_WORKERS = int(os.environ.get("BENCH_GEN_WORKERS", 1))
BULK_VIOLATIONS = int(os.environ.get("BENCH_BULK_VIOLATIONS", 0))
REUSE = os.environ.get("BENCH_REUSE", "0") == "1"
PORT = int(os.environ.get("BENCH_PORT", 8766))


def prepare(url: str) -> list[str]:
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from jiaoguan.registry.demo import generate_city
    from jiaoguan.registry.models import Person

    started = time.monotonic()
    have = Person.objects.count() if REUSE else 0
    if have < PERSONS:
        city = generate_city(persons=PERSONS - have, seed=7, workers=GEN_WORKERS)
        print(f"demo city of {city.persons:,} persons ({city.licences:,} licences, {city.vehicles:,} vehicles) in "
              f"{time.monotonic() - started:.1f}s ({city.persons_per_second:,.0f} persons/s, {GEN_WORKERS} "
              f"process(es))", flush=True)

    from jiaoguan.core import clock
    from jiaoguan.identity.models import User
    from jiaoguan.identity.roles import Role
    from jiaoguan.identity.services import bindings_sync_own, token_issue

    existing = list(User.objects.filter(username__startswith="bench").select_related("person").order_by("pk"))
    owners = [u.person for u in existing][:USERS]
    fresh = list(Person.objects.filter(vehicles__isnull=False, account__isnull=True).distinct()
                 .order_by("pk")[:USERS - len(owners)]) if len(owners) < USERS else []
    tokens = []
    for user in existing[:USERS]:
        tokens.append(token_issue(user=user, label="bench"))
        sessions.append(_session(user))
    for person in fresh:
        user = User.objects.create_user(
            username=f"bench{person.pk}", password=None, role=Role.CITIZEN, phone=person.phone, person=person,
            real_name_verified_at=clock.now(),
        )
        bindings_sync_own(user=user)
        tokens.append(token_issue(user=user, label="bench"))
        sessions.append(_session(user))
    print(f"{len(tokens)} citizens with bearer tokens and logged-in sessions", flush=True)
    if fresh:
        _violations(fresh)
    if BULK_VIOLATIONS:
        from jiaoguan.violations.models import Violation

        started = time.monotonic()
        if Violation.objects.count() < BULK_VIOLATIONS:
            _vehicles, total = violations_bulk(BULK_VIOLATIONS, owner_ids=[p.pk for p in owners + fresh],
                                               mine=False)
            print(f"{total:,} violations in the table ({BULK_VIOLATIONS:,} over the other vehicles) in "
                  f"{time.monotonic() - started:.1f}s", flush=True)
    return tokens


sessions: list[str] = []  # session keys, one per citizen, in the order of the tokens


def _session(user) -> str:
    """A logged-in session for ``user``, as Django's login would leave it (the portal's pages read it)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _violations(owners) -> None:
    """BENCH_VIOLATIONS camera violations on each bench citizen's first vehicle (rows written directly: the
    benchmark measures reads)."""
    import datetime as dt

    from jiaoguan.core import clock
    from jiaoguan.violations.models import Violation, ViolationCode

    code = ViolationCode.objects.get(code="1352")
    now = clock.now()
    rows = []
    for person in owners:
        vehicle = person.vehicles.order_by("pk").first()
        for i in range(VIOLATIONS):
            rows.append(Violation(plate=vehicle.plate, plate_type=vehicle.plate_type, vehicle=vehicle, code=code,
                                  points=code.points, fine_fen=code.fine_fen, place="深南大道与彩田路交叉口",
                                  occurred_at=now - dt.timedelta(days=i + 1, minutes=person.pk % 600),
                                  source=Violation.Source.DEVICE, recorded_at=now, updated_at=now))
    Violation.objects.bulk_create(rows, batch_size=2000)
    print(f"{len(rows)} violations ({VIOLATIONS} per citizen)", flush=True)


def wrk_script(tokens: list[str], etags: list[str] | None = None, *, cookies: bool = False) -> str:
    """Rotate the citizens' tokens; with ``etags`` (one per token), send each citizen's If-None-Match too; with
    ``cookies``, ``tokens`` are session keys sent as the session cookie instead of a bearer token."""
    lines = ",\n".join(f'"{t}"' for t in tokens)
    tags = ",\n".join(json.dumps(e) for e in etags or [])
    inm = ', ["If-None-Match"] = etags[(i % #tokens) + 1]' if etags else ""
    auth = '["Cookie"] = "sessionid=" .. t' if cookies else '["Authorization"] = "Bearer " .. t'
    body = f"""
local tokens = {{
{lines}
}}
local etags = {{
{tags}
}}
local i = 0
request = function()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("GET", nil, {{{auth}, ["Accept-Language"] = "zh-hans"{inm}}})
end
"""
    f = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    f.write(body)
    f.close()
    return f.name


def run_wrk(wrk: str, url: str, script: str, connections: int) -> dict:
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency", "-s", script, url],
        capture_output=True, text=True, check=True,
    ).stdout

    def grab(pattern: str) -> str:
        m = re.search(pattern, out)
        return m.group(1) if m else "?"

    def ms(text: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", text)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = grab(r"Non-2xx or 3xx responses:\s+(\d+)")
    return {
        "rps": float(grab(r"Requests/sec:\s+([\d.]+)")),
        "p50": ms(grab(r"\n\s+50%\s+(\S+)")),
        "p99": ms(grab(r"\n\s+99%\s+(\S+)")),
        "requests": int(grab(r"(\d+) requests in")),
        "errors": 0 if non2xx == "?" else int(non2xx),
    }


def main() -> None:
    url = ensure_postgres_database(fresh=not REUSE)
    tokens = prepare(url)
    wrk = ensure_wrk()
    script = wrk_script(tokens)
    env = {**os.environ, "DATABASE_URL": url, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "jiaoguan.wsgi", "--pythonpath", str(ROOT / "src"),
         "--workers", str(WORKERS), "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        etags = []
        started = time.monotonic()
        for token in tokens:  # every citizen's first read builds their records
            for path in ("me", "me/licences", "me/vehicles", "me/violations", "me/summary"):
                req = urllib.request.Request(f"{base}/api/v1/{path}", headers={
                    "Authorization": f"Bearer {token}", "Accept-Language": "zh-hans"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    body = r.read().decode()
                    if path == "me/vehicles":
                        etags.append(r.headers["ETag"])
                        sample = body
        print(f"first reads (records built) of {len(tokens)} citizens in {time.monotonic() - started:.1f}s; "
              f"sample me/vehicles: {sample[:120]}…", flush=True)
        for key in sessions:  # the first visit of "my page" builds its part too
            req = urllib.request.Request(f"{base}/me/", headers={"Cookie": f"sessionid={key}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200 and "vehicle-card" in r.read().decode(), "the page did not render"
        script_304 = wrk_script(tokens, etags)
        runs = {}
        for p in PATHS:
            if p == "304":
                runs["me/vehicles, 304"] = ("/api/v1/me/vehicles", script_304)
            elif p == "page":
                runs["page /me/ (HTML)"] = ("/me/", wrk_script(sessions, cookies=True))
            else:
                runs[p] = (f"/api/v1/{p}", script)
        run_wrk(wrk, base + "/api/v1/health", script, 4)  # warm-up
        for url, sc in runs.values():
            run_wrk(wrk, base + url, sc, 4)
        results = []
        for connections in CONNECTIONS:
            noop = run_wrk(wrk, base + "/api/v1/health", script, connections)
            results.append((connections, "no-op /api/v1/health", noop, noop))
            for name, (url, sc) in runs.items():
                results.append((connections, name, run_wrk(wrk, base + url, sc, connections), noop))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    from jiaoguan.registry.models import Person
    from jiaoguan.violations.models import Violation

    print(f"\ngunicorn {WORKERS} workers, PostgreSQL, wrk 1 thread {SECONDS}s per run, "
          f"{len(tokens)} distinct citizens, {Person.objects.count():,} persons in the registry, "
          f"{Violation.objects.count():,} violations ({VIOLATIONS} on each bench citizen's first vehicle)")
    print(f"{'endpoint':<24}{'conns':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'÷ no-op':>10}")
    for connections, name, r, noop in results:
        print(f"{name:<24}{connections:>6}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>10}"
              f"{r['rps'] / noop['rps']:>10.2f}")
    if any(r["errors"] for _, _, r, _ in results):  # wrk counts neither 2xx nor 3xx (the 304s) here
        sys.exit("non-2xx responses from the records endpoints")


if __name__ == "__main__":
    main()
