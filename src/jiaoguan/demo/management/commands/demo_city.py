"""manage.py demo_city [--persons N] [--workers W] [--seed S] [--if-empty] [--details FILE] [--url URL]: build
the synthetic Shenzhen (registry.demo), the demo accounts (identity.demo), bookings, applications and violations; then print
the demo logins and what each can try (demo.summary) — also when the city already exists.

Failure and interruption: **resume, not one transaction.** The registry is written in one transaction of its own
(``generate_city``), and every later step is idempotent (each app's ``demo`` module adds only what is missing).
The later steps are not wrapped in one outer transaction on purpose: their services emit outbox events and queue
eager Celery tasks on commit (messages, payment-simulator callbacks, notices), which one outer transaction would
hold back until the very end, so later steps would not see what earlier handlers write and the city would differ
from one built by real use; material uploads and evidence photos are files, which a rollback would not remove;
and one transaction of minutes would lock SQLite for as long. Instead each run is recorded
(``DemoCityRun``: the last step finished, completed or not): ``--if-empty`` builds an empty registry, resumes an
unfinished demo city (the registry is not generated again; each step adds what is missing), and skips only a city
that completed — or a registry that is not the demo city's.
"""
from __future__ import annotations

import sys
import traceback
from contextlib import nullcontext

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from jiaoguan.applications.demo import demo_applications
from jiaoguan.core import clock
from jiaoguan.core.identifiers import format_plate
from jiaoguan.counters.demo import demo_counters
from jiaoguan.demo.models import DemoCityRun
from jiaoguan.demo.summary import summary_lines
from jiaoguan.eastern.demo import demo_eastern
from jiaoguan.exams.demo import demo_exams
from jiaoguan.identity.demo import create_demo_accounts
from jiaoguan.inspections.demo import demo_inspections
from jiaoguan.plates.demo import demo_plates
from jiaoguan.registry.demo import SHOWCASE, DemoCity, generate_city
from jiaoguan.registry.models import Person
from jiaoguan.registry.selectors import person_by_id_number, registry_is_empty
from jiaoguan.violations.demo import demo_violations

STEPS = ("registry", "accounts", "bookings", "applications", "violations")


class _Out:
    """Where the build details go: the command's stdout, or a file (``--details``)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text if text.endswith("\n") else text + "\n")
        if hasattr(self.stream, "flush"):
            self.stream.flush()


# From this many persons demo_city refreshes PostgreSQL's statistics itself after the registry is loaded
ANALYZE_FROM = 10_000


class Command(BaseCommand):
    help = ("生成演示城市（深圳，粤B）并列出演示账户。Generate the demo city (persons, licences, vehicles, bookings, "
            "applications, violations) and list the demo logins; --if-empty resumes an unfinished one.")

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=2000, help="number of persons (default 2000)")
        parser.add_argument("--workers", type=int, default=1,
                            help="processes writing the registry (PostgreSQL, empty registry; for a Shenzhen-size "
                                 "city: --persons 3780000 --workers 2). With more than one the registry is no longer "
                                 "written all-or-nothing: after a failure, start again on an empty database")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed gives the same city")
        parser.add_argument("--if-empty", action="store_true",
                            help="build only when the registry is empty; resume an unfinished demo city; else skip")
        parser.add_argument("--details", default="",
                            help="append the build details (progress, showcase people, device keys shown once) to "
                                 "this file instead of printing them; the logins summary is printed either way")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the address the summary names")

    def handle(self, *args, persons: int, seed: int, if_empty: bool, details: str = "", url: str = "",
               workers: int = 1, **options):
        if settings.PRODUCTION:
            raise CommandError("演示城市不能在生产环境生成 The demo city (with its known passwords) is refused in production")
        if persons < 0:
            raise CommandError("--persons must be 0 or more")
        if workers < 1:
            raise CommandError("--workers must be 1 or more")
        self.workers = workers
        out = self.stdout
        url = url or "http://127.0.0.1:8000"
        latest = DemoCityRun.objects.order_by("-pk").first()
        resume = None
        if if_empty and not registry_is_empty():
            if latest is not None and latest.completed_at is not None:
                out.write(f"演示城市已生成，跳过。The demo city is already loaded "
                          f"({timezone.localdate(latest.completed_at):%Y-%m-%d}): skipped.")
                self.summary(summary_lines(base_url=url))
                return
            if _showcase_person("citizen") is None:
                out.write("登记档案已有数据（不是演示城市），跳过。The registry already has persons (not the demo city's): "
                          "demo city skipped.")
                return
            resume = latest or DemoCityRun.objects.create(seed=seed, persons=persons, started_at=clock.now())
            out.write(f"继续生成未完成的演示城市 Resuming the unfinished demo city (stopped after: "
                      f"{resume.step or 'registry'}); each step adds only what is missing.")
        run = resume or DemoCityRun.objects.create(seed=seed, persons=persons, started_at=clock.now())
        verbose = options.get("verbosity", 1) >= 1
        opened = open(details, "a", encoding="utf-8") if details else nullcontext(out)  # noqa: SIM115
        with opened as stream:
            detail = _Out(stream)
            if details:
                detail.write(f"\n=== demo_city {timezone.localtime(clock.now()):%Y-%m-%d %H:%M:%S%z} run {run.pk} "
                             f"({'resumed' if resume else 'new'}) ===")
            try:
                self.build(run, detail, resume=resume is not None, persons=persons, seed=seed, verbose=verbose)
            except BaseException as exc:  # a failure or Ctrl-C: say where it stopped; the next run resumes
                run.error = f"{type(exc).__name__}: {exc}"[:2000]
                try:
                    run.save(update_fields=["error"])
                except Exception:  # the database itself failed: the run stays unfinished, which is what counts
                    pass
                detail.write(f"演示城市未完成 The demo city stopped after the step “{run.step or 'start'}”:\n"
                             + traceback.format_exc())
                hint = (f"演示城市未完成（{run.error}），再次运行 make run 会从中断处继续。The demo city is not finished "
                        f"(stopped after “{run.step or 'start'}”); run `make run` (demo_city --if-empty) again to "
                        f"resume it.")
                if not isinstance(exc, Exception):  # Ctrl-C: stop as interrupted
                    sys.stderr.write(hint + "\n")
                    raise
                sys.stderr.write(traceback.format_exc())
                raise CommandError(hint) from exc
        run.completed_at = clock.now()
        run.error = ""
        run.save(update_fields=["completed_at", "error"])
        out.write(self.style.SUCCESS(
            f"演示城市{'已补全' if resume else '已生成'} The demo city is {'complete again' if resume else 'ready'}"
            + (f" (details: {details})" if details else "")))
        self.summary(summary_lines(base_url=url))

    def summary(self, lines: list[str]) -> None:
        self.stdout.write("")
        for line in lines:
            self.stdout.write(line)

    # -- the steps --------------------------------------------------------------------------------------------

    def build(self, run, w: _Out, *, resume: bool, persons: int, seed: int, verbose: bool) -> None:
        done = set(STEPS[:STEPS.index(run.step) + 1]) if resume and run.step in STEPS else set()

        def finished(step: str) -> None:
            run.step = step
            run.save(update_fields=["step"])

        city = self.registry(w, resume=resume, persons=persons, seed=seed, verbose=verbose)
        finished("registry")
        if "accounts" not in done:
            w.write("演示账户 Demo logins:")
            for role, login, password, note in create_demo_accounts(city=city):
                w.write(f"  {role:<10} {login:<16} {password:<16} {note}")
            finished("accounts")
        if "bookings" not in done:
            self.bookings(city, w)
            finished("bookings")
        if "applications" not in done:
            self.applications(w)
            finished("applications")
        if "violations" not in done:
            self.violations(w)
            finished("violations")

    def registry(self, w: _Out, *, resume: bool, persons: int, seed: int, verbose: bool):
        """A new city (one transaction: all or nothing), or, when resuming, the showcase people found again (any
        that are missing are added; the random population is not generated twice)."""
        if resume:
            found = {spec.key: _showcase_person(spec.key) for spec in SHOWCASE}
            if all(found.values()):
                return DemoCity(seed=seed, today=clock.today(), showcase=found)
            return generate_city(persons=0, seed=seed)
        w.write(f"生成演示城市 Generating the demo city: {persons:,} persons, seed {seed}")
        if getattr(self, "workers", 1) > 1 and connection.vendor != "postgresql":
            w.write("--workers 仅适用于 PostgreSQL，现以单进程生成。--workers applies to PostgreSQL only: one process.")
        city = generate_city(persons=persons, seed=seed, stdout=w if verbose else None,
                             workers=getattr(self, "workers", 1))
        if connection.vendor == "postgresql" and persons >= ANALYZE_FROM:
            # A bulk load leaves the planner's statistics at zero rows until autovacuum comes round (minutes at
            # Shenzhen size): the first requests would be planned as over empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        w.write(f"完成 Done in {city.seconds:.1f} s ({city.persons_per_second:,.0f} persons/s): "
                f"{city.persons:,} persons, {city.licences:,} licences, {city.vehicles:,} vehicles, "
                f"{city.policies:,} policies")
        w.write("特殊情形 Edge cases: " + ", ".join(f"{k} {v:,}" for k, v in city.edge_cases.items()))
        w.write("演示人员（可用姓名和身份证号码注册）Showcase people (register with the name and ID number; SMS codes go "
                "to var/sms-outbox.log):")
        for row in city.showcase_rows():
            plates = " ".join(format_plate(p) for p in row["plates"]) or "-"
            w.write(f"  [{row['key']}] {row['name']}  身份证 {row['id_number']}  手机 {row['phone']}  "
                    f"准驾 {row['licence'] or '-'}  车辆 {plates}")
            w.write(f"      {row['zh']} / {row['en']}")
        return city

    def bookings(self, city, w: _Out) -> None:
        """Exam venues and sessions (permits for the learners), inspection stations, counter slots, eastern booking
        days with their checkpoints, and the 粤B plate pool: the services of issue 4 ready to try."""
        now = clock.now()
        learners = [city.showcase["learner"]] if "learner" in city.showcase else []
        learners += list(Person.objects.filter(licence__isnull=True).exclude(
            pk__in=[p.pk for p in learners]).order_by("pk")[:40])
        exams = demo_exams(persons=learners, now=now)
        stations = demo_inspections(now=now)
        counters = self.counters(now)
        east = demo_eastern(now=now)
        plates = demo_plates()
        w.write(f"预约与选号 Bookings and plates: {exams['venues']} exam venues, {exams['sessions']} sessions, "
                f"{exams['permits']} learner's permits; {stations.stations} inspection stations "
                f"({stations.slots_created} slots); {counters}; eastern areas {', '.join(east.areas)}; "
                f"粤B pool {plates.available:,} numbers available")
        for area, key_id, secret in east.checkpoints:
            w.write(f"  东部卡口 Eastern checkpoint {area}: key {key_id} secret {secret} (shown once)")

    def counters(self, now) -> str:
        return str(demo_counters(now=now))

    def applications(self, w: _Out) -> None:
        """A demo hospital with health checks, an enterprise login with a truck, and one application of each
        service for the staff queues (needs the demo accounts)."""
        made = demo_applications(now=clock.now())
        w.write(f"办事申请 Applications: {made}")
        if made.hospital_secret:
            w.write(f"  演示医院 Demo hospital: key {made.hospital_key_id} secret {made.hospital_secret} (shown once)")

    def violations(self, w: _Out) -> None:
        """Camera-recorded violations of the demo citizen: one to handle online, one over the online limits, one
        for the first-violation waiver, one handled 25 days ago whose fine accrues a late fee."""
        w.write(f"交通违法 Violations: {demo_violations(now=clock.now())}")


def _showcase_person(key: str):
    spec = next(s for s in SHOWCASE if s.key == key)
    return person_by_id_number(id_number=spec.id_number)
