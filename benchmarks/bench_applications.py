"""The applications engine at scale: the staff work queues and the overdue sweep with 100,000 applications.

1. Bulk load: APPLICATIONS applications over every service of the catalogue (applications/catalogue/*.toml), with
   a realistic mix of states (waiting for acceptance, under review, reviewed, sent back, approved — some approved
   first and waiting for post-review —, rejected, refused, withdrawn), submission times over 60 days, due dates from
   10 days ago to 10 days ahead (so a share is overdue and not yet escalated), claims held by the measured clerk, the
   measured approver and others, and acceptances by several clerks (separation of duties filters the approver's
   queue). Written with bulk_create in batches (the same code on SQLite and PostgreSQL), then ANALYZE.
2. Queue listings: for the measured clerk and approver, every queue of ``applications.selectors.queue``: the first
   page (50 rows, materialised with the console's joins) and the queue's count, SAMPLES times each — p50/p99 —
   first at BASELINE applications (a tenth), then at APPLICATIONS, in the same run (the ratio shows how it scales).
   A trivial indexed query (one application by primary key) is timed beside them as the floor.
3. Over HTTP (gunicorn, a staff session logged in through the console's own login form): GET
   /console/applications/?queue=… (the whole page: the listing, 7 queue counts, the template) HTTP_REQUESTS times
   per queue, beside the staff start page /console/ (same session, middleware and base template) as the baseline —
   at both sizes.
4. The overdue sweep (``applications_escalate_overdue``) over all of them: time and applications escalated, then a
   second run (idempotent: 0 escalated) timed as well.

    .venv/bin/python benchmarks/bench_applications.py                      # PostgreSQL, 100,000 applications
    .venv/bin/python benchmarks/bench_applications.py --database sqlite    # smoke run (3,000)

PostgreSQL: BENCH_APPLICATIONS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/jiaoguan_bench_applications,
dropped and recreated). SQLite: a throw-away file; the figures of a smoke run say nothing about production.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, django_setup, ensure_postgres_database  # noqa: E402

DEFAULT_PG = os.environ.get("BENCH_APPLICATIONS_DATABASE_URL",
                            "postgres://postgres@127.0.0.1:5432/jiaoguan_bench_applications")
FULL = {"applications": 100_000, "baseline": 10_000, "samples": 200, "http": 100}
SMOKE = {"applications": 3_000, "baseline": 300, "samples": 20, "http": 20}
PASSWORD = "Bench-secure-2024"
CITIZENS = 2_000
PAGE = 50


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", default=None,
                   help="a postgres:// URL (dropped and recreated) or 'sqlite' for the smoke run; default: "
                        "BENCH_APPLICATIONS_DATABASE_URL, unless DATABASE_URL is set and not PostgreSQL (then sqlite)")
    p.add_argument("--applications", type=int, help=f"applications in all ({FULL['applications']:,} / "
                                                     f"{SMOKE['applications']:,})")
    p.add_argument("--baseline", type=int, help="applications at the baseline measurement (a tenth)")
    p.add_argument("--samples", type=int, help=f"timed calls per queue and size ({FULL['samples']} / "
                                               f"{SMOKE['samples']})")
    p.add_argument("--http", type=int, help=f"HTTP requests per page and size ({FULL['http']} / {SMOKE['http']})")
    p.add_argument("--no-http", action="store_true", help="skip the gunicorn part")
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    p.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8771")))
    args = p.parse_args()
    if args.database is None:
        env_url = os.environ.get("DATABASE_URL", "")
        args.database = "sqlite" if env_url and not env_url.startswith("postgres") else DEFAULT_PG
    sizes = SMOKE if args.database == "sqlite" else FULL
    for key in ("applications", "baseline", "samples", "http"):
        if getattr(args, key) is None:
            setattr(args, key, sizes[key])
    args.baseline = min(args.baseline, args.applications)
    return args


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):>9.2f}{pct(values, 99):>9.2f}"


# --- data ---------------------------------------------------------------------------------------------------------

def people() -> dict:
    from jiaoguan.identity.models import User

    def staff(username: str, role: str, name: str):
        return User.objects.create_user(username=username, role=role, display_name=name, password=PASSWORD)

    made = {
        "clerk": staff("benchclerk", "clerk", "测量窗口民警"),
        "approver": staff("benchappr", "approver", "测量审批民警"),
        "clerks": [staff(f"benchclerk{i}", "clerk", f"窗口民警{i}") for i in range(5)],
        "approvers": [staff(f"benchappr{i}", "approver", f"审批民警{i}") for i in range(2)],
    }
    from jiaoguan.core import clock

    joined = clock.now()
    User.objects.bulk_create([User(username=f"benchcit{i:05d}", role="citizen", password="!", date_joined=joined)
                              for i in range(CITIZENS)], batch_size=1000)
    made["citizens"] = list(User.objects.filter(username__startswith="benchcit").values_list("pk", flat=True))
    return made


def load(start: int, count: int, who: dict, rng: random.Random) -> float:
    """Applications start … start+count-1 (bulk_create, 5,000 a batch). Returns the seconds it took."""
    from jiaoguan.applications import rules
    from jiaoguan.applications.catalogue import catalogue
    from jiaoguan.applications.models import Application
    from jiaoguan.core import clock

    services = sorted(catalogue().services.values(), key=lambda s: s.code)
    now = clock.now()
    clerk, approver = who["clerk"].pk, who["approver"].pk
    acceptors = [u.pk for u in who["clerks"]] + [u.pk for u in who["approvers"]] + [approver]
    holders = [u.pk for u in who["clerks"]] + [u.pk for u in who["approvers"]]
    started = time.monotonic()
    batch: list[Application] = []
    for n in range(start, start + count):
        service = services[n % len(services)]
        has_review = service.action("review") is not None
        first = service.workflow.approve_first is not None
        roll = rng.random()
        status = ("submitted" if roll < 0.25 else "under_review" if roll < 0.45 else
                  ("reviewed" if has_review else "under_review") if roll < 0.55 else "returned" if roll < 0.60 else
                  "approved" if roll < 0.80 else "rejected" if roll < 0.85 else "refused" if roll < 0.90 else
                  "withdrawn")
        submitted_at = now - dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
        a = Application(service_code=service.code, service_version=service.version, service_digest=service.digest,
                        applicant_id=who["citizens"][n % len(who["citizens"])], status=status,
                        reference=f"B{n:015d}", form_data={"plate": f"粤B{n % 100000:05d}"},
                        created_at=submitted_at - dt.timedelta(minutes=5), updated_at=submitted_at,
                        submitted_at=submitted_at)
        accepted = status in ("under_review", "reviewed", "approved", "rejected") or (
            status == "returned" and rng.random() < 0.5)
        if accepted:
            a.accepted_at = min(submitted_at + dt.timedelta(hours=2), now)
            a.accepted_by_id = acceptors[n % len(acceptors)]
            a.due_at = rules.end_of_day((now + dt.timedelta(days=rng.randint(-10, 10))).date())
        if status == "reviewed":
            a.reviewed_by_id = holders[n % len(holders)]
        if status == "returned":
            a.returned_from = "under_review" if accepted else "submitted"
            a.paused_workdays = rng.randint(1, 3) if accepted else None
            a.due_at = a.due_at if accepted else None
        if status in ("approved", "rejected", "refused"):
            a.decided_at = min(submitted_at + dt.timedelta(days=rng.randint(0, 6)), now)
            if status != "refused":
                a.approved_by_id = holders[(n + 1) % len(holders)]
            a.post_review_pending = status == "approved" and first and rng.random() < 0.3
        if status in ("submitted", "under_review", "reviewed") or a.post_review_pending:
            claim = rng.random()
            if claim < 0.04:
                a.claimed_by_id = clerk
            elif claim < 0.08:
                a.claimed_by_id = approver
            elif claim < 0.15:
                a.claimed_by_id = holders[n % len(holders)]
            if a.claimed_by_id:
                a.claimed_at = now
        batch.append(a)
        if len(batch) == 5000:
            Application.objects.bulk_create(batch)
            batch = []
    if batch:
        Application.objects.bulk_create(batch)
    analyze()
    return time.monotonic() - started


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


# --- 2. queue listings through the selectors ---------------------------------------------------------------------

def time_selectors(who: dict, samples: int) -> dict:
    from jiaoguan.applications import selectors
    from jiaoguan.applications.models import Application

    out: dict = {}
    floor_pk = Application.objects.order_by("pk").values_list("pk", flat=True).first()
    lat = []
    for _ in range(samples):
        t0 = time.perf_counter()
        Application.objects.filter(pk=floor_pk).first()
        lat.append((time.perf_counter() - t0) * 1000)
    out["floor"] = lat
    related = ("claimed_by", "applicant__person", "enterprise")  # the console's joins
    for role in ("clerk", "approver"):
        user = who[role]
        for name in selectors.QUEUES:
            listing, counting, deep, rows, total = [], [], [], 0, 0
            after, walked = "", 0  # the cursor of the 10th page, found once, outside the timing
            while walked < 9:
                found = selectors.queue_page(user=user, name=name, after=after, limit=PAGE)
                if not found.next_after:
                    break
                after, walked = found.next_after, walked + 1
            for _ in range(samples):
                t0 = time.perf_counter()
                page = selectors.queue_page(user=user, name=name, limit=PAGE, related=related).items
                t1 = time.perf_counter()
                total = selectors.queue_count(user=user, name=name)
                t2 = time.perf_counter()
                selectors.queue_page(user=user, name=name, after=after, limit=PAGE, related=related)
                t3 = time.perf_counter()
                listing.append((t1 - t0) * 1000)
                counting.append((t2 - t1) * 1000)
                deep.append((t3 - t2) * 1000)
                rows = len(page)
            out[(role, name)] = (listing, counting, deep, rows, total, walked + 1)
        whole = []
        for _ in range(samples):  # what the console's approval tab asks: its first page and all seven counts
            t0 = time.perf_counter()
            selectors.queue_page(user=user, name=_default(role), limit=PAGE, related=related)
            selectors.queue_counts(user=user)
            whole.append((time.perf_counter() - t0) * 1000)
        out[(role, "whole")] = whole
    return out


def _default(role: str) -> str:
    return "approval" if role == "approver" else "acceptance"


# --- 3. over HTTP ------------------------------------------------------------------------------------------------

class Session:
    """One keep-alive connection with the console's cookies (logged in through the login form)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = {**(headers or {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def log_in(self, username: str) -> None:
        status, page = self.request("GET", "/console/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            sys.exit(f"console login page: HTTP {status}")
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1).decode(), "username": username,
                                       "password": PASSWORD, "next": ""}).encode()
        status, _ = self.request("POST", "/console/login/", body,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            sys.exit(f"console login as {username}: HTTP {status}")


def time_http(port: int, who: dict, requests: int) -> dict:
    from jiaoguan.applications import selectors

    out: dict = {}
    for role in ("clerk", "approver"):
        s = Session(port)
        s.log_in(who[role].username)
        for path in ["/console/"] + [f"/console/applications/?queue={q}" for q in selectors.QUEUES]:
            s.request("GET", path)  # warm
            lat, bad = [], 0
            for _ in range(requests):
                t0 = time.perf_counter()
                status, _ = s.request("GET", path)
                lat.append((time.perf_counter() - t0) * 1000)
                bad += status != 200
            out[(role, path)] = (lat, bad)
        s.conn.close()
    return out


def wait_up(port: int) -> None:
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not come up")


# --- 4. the overdue sweep -------------------------------------------------------------------------------------------

def sweep() -> tuple[int, float, int, float, int]:
    from jiaoguan.applications.models import STAFF_STATES, Application
    from jiaoguan.applications.services import applications_escalate_overdue
    from jiaoguan.core import clock

    expected = Application.objects.filter(status__in=STAFF_STATES, due_at__lt=clock.now(),
                                          overdue_at__isnull=True).count()
    t0 = time.perf_counter()
    first = applications_escalate_overdue()
    t1 = time.perf_counter()
    second = applications_escalate_overdue()
    t2 = time.perf_counter()
    return first, t1 - t0, second, t2 - t1, expected


# --- report ----------------------------------------------------------------------------------------------------------

def report_selectors(size: int, figures: dict) -> None:
    from jiaoguan.applications import selectors

    print(f"\nqueue listings at {size:,} applications (selectors.queue_page: first page of {PAGE} and a keyset page "
          f"further on; selectors.queue_count, capped at {selectors.COUNT_CAP:,})")
    print(f"{'who / queue':<26}{'rows':>6}{'count':>7}{'first p50':>10}{'p99':>9}{'count p50':>10}{'p99':>9}"
          f"{'page':>6}{'p50':>9}{'p99':>9}")
    print(f"{'floor: 1 row by pk':<26}{1:>6}{'':>7} {fmt(figures['floor'])}")
    for role in ("clerk", "approver"):
        for name in selectors.QUEUES:
            listing, counting, deep, rows, total, page_no = figures[(role, name)]
            print(f"{role + ' / ' + name:<26}{rows:>6}{selectors.count_label(total):>7} {fmt(listing)} {fmt(counting)}"
                  f"{page_no:>6}{fmt(deep)}")
        print(f"{role + ': ' + _default(role) + ' page + 7 counts':<39} {fmt(figures[(role, 'whole')])}")


def report_http(size: int, figures: dict) -> None:
    print(f"\nconsole pages over HTTP at {size:,} applications (one keep-alive client, ms)")
    print(f"{'who / page':<48}{'p50':>9}{'p99':>9}{'non-200':>9}")
    for (role, path), (lat, bad) in figures.items():
        print(f"{role + ' ' + path:<48}{fmt(lat)}{bad:>9}")


def main() -> None:
    args = parse_args()
    var = tempfile.mkdtemp(prefix="jiaoguan-bench-applications-")
    os.environ["JIAOGUAN_VAR_DIR"] = var
    if args.database == "sqlite":
        url = f"sqlite:///{var}/bench.sqlite3"
        engine = "SQLite (smoke run)"
    else:
        url = ensure_postgres_database(args.database)
        engine = "PostgreSQL"
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from jiaoguan.applications.catalogue import catalogue

    codes = sorted(catalogue().services)
    print(f"{engine}: {len(codes)} services ({', '.join(codes)})", flush=True)
    rng = random.Random(5)
    who = people()

    server = None
    failures: list[str] = []
    try:
        if not args.no_http:
            env = {**os.environ, "DATABASE_URL": url, "JIAOGUAN_DEBUG": "0", "PYTHONPATH": str(ROOT / "src")}
            server = subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "jiaoguan.wsgi", "--pythonpath", str(ROOT / "src"),
                 "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}", "--log-level", "warning"],
                env=env, cwd=ROOT, start_new_session=True)
            wait_up(args.port)
        results = []
        loaded = 0
        for size in (args.baseline, args.applications):
            secs = load(loaded, size - loaded, who, rng)
            print(f"loaded {size - loaded:,} applications (now {size:,}) in {secs:.1f}s", flush=True)
            loaded = size
            sel = time_selectors(who, args.samples)
            web = time_http(args.port, who, args.http) if server else {}
            results.append((size, sel, web))
            if any(bad for _lat, bad in web.values()):
                failures.append(f"non-200 console pages at {size:,}")
        first, first_s, second, second_s, expected = sweep()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        shutil.rmtree(var, ignore_errors=True)

    print(f"\n=== applications: {engine}, {len(codes)} services, {CITIZENS:,} applicants; measured staff: one clerk, "
          f"one approver ===")
    for size, sel, web in results:
        report_selectors(size, sel)
        if web:
            report_http(size, web)
    (small, sel_small, _web_small), (big, sel_big, web_big) = results[0], results[-1]
    from jiaoguan.applications import selectors

    worst = max(selectors.QUEUES, key=lambda q: statistics.median(sel_big[("approver", q)][0]))
    ratio = statistics.median(sel_big[("approver", worst)][0]) / statistics.median(sel_small[("approver", worst)][0])
    print(f"\nslowest approver listing at {big:,}: {worst}; ×{ratio:.1f} its time at {small:,} "
          f"({big / small:.0f}× the applications)")
    if web_big:
        page = statistics.median(web_big[("approver", "/console/applications/?queue=approval")][0])
        floor = statistics.median(web_big[("approver", "/console/")][0])
        print(f"approval queue page ÷ staff start page (p50) at {big:,}: {page / floor:.1f}")
    print(f"\noverdue sweep over {big:,} applications: {first:,} escalated (expected {expected:,}) in {first_s:.2f}s "
          f"({first / first_s if first_s else 0:,.0f}/s); second run: {second} escalated in {second_s * 1000:.0f} ms")
    if first != expected:
        failures.append(f"sweep escalated {first} of {expected}")
    if second != 0:
        failures.append(f"second sweep escalated {second} (not idempotent)")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
