"""'My vehicles' API under load on gunicorn + PostgreSQL, next to a no-op endpoint of the same server.

Figures: requests/s, p50 and p99 latency for GET /api/v1/me/vehicles (bearer tokens of many different
citizens, rotated per request) and for GET /api/v1/health (the no-op baseline: same server, same middleware,
same framework); the ratio of the two throughputs is the figure that travels between machines.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench — dropped and
recreated), BENCH_PERSONS (20000), BENCH_USERS (500), BENCH_SECONDS (15), BENCH_CONNECTIONS ("2,16": one run per value),
BENCH_WORKERS (2 gunicorn workers).
"""
from __future__ import annotations

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
from _support import ROOT, django_setup, ensure_postgres_database, ensure_wrk  # noqa: E402

PERSONS = int(os.environ.get("BENCH_PERSONS", 20000))
USERS = int(os.environ.get("BENCH_USERS", 500))
SECONDS = int(os.environ.get("BENCH_SECONDS", 15))
CONNECTIONS = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "2,16").split(",")]
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
PORT = int(os.environ.get("BENCH_PORT", 8766))


def prepare(url: str) -> list[str]:
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
    from jiaoguan.registry.models import Person

    owners = Person.objects.filter(vehicles__isnull=False, account__isnull=True).distinct().order_by("pk")[:USERS]
    tokens = []
    for person in owners:
        user = User.objects.create_user(
            username=f"bench{person.pk}", password=None, role=Role.CITIZEN, phone=person.phone, person=person,
            real_name_verified_at=clock.now(),
        )
        bindings_sync_own(user=user)
        tokens.append(token_issue(user=user, label="bench"))
    print(f"{len(tokens)} citizens with bearer tokens", flush=True)
    return tokens


def wrk_script(tokens: list[str]) -> str:
    lines = ",\n".join(f'"{t}"' for t in tokens)
    body = f"""
local tokens = {{
{lines}
}}
local i = 0
request = function()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("GET", nil, {{["Authorization"] = "Bearer " .. t, ["Accept-Language"] = "zh-hans"}})
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
    url = ensure_postgres_database()
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
        check = urllib.request.Request(base + "/api/v1/me/vehicles", headers={"Authorization": f"Bearer {tokens[0]}"})
        sample = urllib.request.urlopen(check, timeout=5).read().decode()
        print(f"sample /me/vehicles response: {sample[:160]}…", flush=True)
        run_wrk(wrk, base + "/api/v1/health", script, 4)  # warm-up both paths
        run_wrk(wrk, base + "/api/v1/me/vehicles", script, 4)
        results = []
        for connections in CONNECTIONS:
            noop = run_wrk(wrk, base + "/api/v1/health", script, connections)
            mine = run_wrk(wrk, base + "/api/v1/me/vehicles", script, connections)
            results.append((connections, noop, mine))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print(f"\ngunicorn {WORKERS} workers, PostgreSQL, wrk 1 thread {SECONDS}s per run, "
          f"{len(tokens)} distinct citizens, {PERSONS} persons in the registry")
    print(f"{'endpoint':<24}{'conns':>6}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for connections, noop, mine in results:
        for name, r in (("no-op /api/v1/health", noop), ("GET /api/v1/me/vehicles", mine)):
            print(f"{name:<24}{connections:>6}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{r['errors']:>10}")
        print(f"ratio me/vehicles ÷ no-op throughput at {connections} connections: {mine['rps'] / noop['rps']:.2f}")
    if any(m["errors"] for _, _, m in results):
        sys.exit("non-2xx responses from /me/vehicles")


if __name__ == "__main__":
    main()
