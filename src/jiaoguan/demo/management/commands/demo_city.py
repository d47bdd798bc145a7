"""manage.py demo_city [--persons N] [--seed S] [--if-empty]: build the synthetic Shenzhen (registry.demo) and
the demo accounts (identity.demo); print the
showcase people (names and ID numbers to register with) and the demo logins."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.identifiers import format_plate
from jiaoguan.identity.demo import create_demo_accounts
from jiaoguan.registry.demo import generate_city
from jiaoguan.registry.selectors import registry_is_empty


class Command(BaseCommand):
    help = "生成演示城市（深圳，粤B）的人员、驾驶证、车辆和保单。Generate the demo city: persons, licences, vehicles, policies."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=2000, help="number of persons (default 2000)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed gives the same city")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when persons already exist")

    def handle(self, *args, persons: int, seed: int, if_empty: bool, **options):
        if settings.PRODUCTION:
            raise CommandError("演示城市不能在生产环境生成 The demo city (with its known passwords) is refused in production")
        if persons < 0:
            raise CommandError("--persons must be 0 or more")
        if if_empty and not registry_is_empty():
            self.stdout.write("登记档案已有数据，跳过演示城市。The registry already has persons: demo city skipped.")
            return
        verbose = options.get("verbosity", 1) >= 1
        self.stdout.write(f"生成演示城市 Generating the demo city: {persons:,} persons, seed {seed}")
        city = generate_city(persons=persons, seed=seed, stdout=self.stdout if verbose else None)
        w = self.stdout.write
        w(self.style.SUCCESS(
            f"完成 Done in {city.seconds:.1f} s ({city.persons_per_second:,.0f} persons/s): "
            f"{city.persons:,} persons, {city.licences:,} licences, {city.vehicles:,} vehicles, "
            f"{city.policies:,} policies"))
        w("特殊情形 Edge cases: " + ", ".join(f"{k} {v:,}" for k, v in city.edge_cases.items()))
        w("")
        w("演示人员（可用姓名和身份证号码注册）Showcase people (register with the name and ID number; SMS codes go to "
          "var/sms-outbox.log):")
        for row in city.showcase_rows():
            plates = " ".join(format_plate(p) for p in row["plates"]) or "-"
            w(f"  [{row['key']}] {row['name']}  身份证 {row['id_number']}  手机 {row['phone']}  "
              f"准驾 {row['licence'] or '-'}  车辆 {plates}")
            w(f"      {row['zh']} / {row['en']}")
        self.bookings(city, w)
        accounts = create_demo_accounts(city=city)
        self.applications(w)
        w("")
        w("演示账户 Demo logins:")
        for role, login, password, note in accounts:
            w(f"  {role:<10} {login:<16} {password:<16} {note}")

    def bookings(self, city, w) -> None:
        """Exam venues and sessions (permits for the learners), inspection stations, counter slots, eastern booking
        days with their checkpoints, and the 粤B plate pool: the services of issue 4 ready to try."""
        from jiaoguan.core import clock
        from jiaoguan.eastern.demo import demo_eastern
        from jiaoguan.exams.demo import demo_exams
        from jiaoguan.inspections.demo import demo_inspections
        from jiaoguan.plates.demo import demo_plates
        from jiaoguan.registry.models import Person

        now = clock.now()
        learners = [city.showcase["learner"]] if "learner" in city.showcase else []
        learners += list(Person.objects.filter(licence__isnull=True).exclude(
            pk__in=[p.pk for p in learners]).order_by("pk")[:40])
        exams = demo_exams(persons=learners, now=now)
        stations = demo_inspections(now=now)
        counters = self.counters(now)
        east = demo_eastern(now=now)
        plates = demo_plates()
        w("")
        w(f"预约与选号 Bookings and plates: {exams['venues']} exam venues, {exams['sessions']} sessions, "
          f"{exams['permits']} learner's permits; {stations.stations} inspection stations "
          f"({stations.slots_created} slots); {counters}; eastern areas {', '.join(east.areas)}; "
          f"粤B pool {plates.available:,} numbers available")
        for area, key_id, secret in east.checkpoints:
            w(f"  东部卡口 Eastern checkpoint {area}: key {key_id} secret {secret} (shown once)")

    def counters(self, now) -> str:
        try:
            from jiaoguan.counters.demo import demo_counters
        except ImportError:
            return "no counter offices"
        return str(demo_counters(now=now))

    def applications(self, w) -> None:
        """A demo hospital with health checks, an enterprise login with a truck, and one application of each
        service for the staff queues (needs the demo accounts)."""
        from jiaoguan.applications.demo import demo_applications
        from jiaoguan.core import clock

        made = demo_applications(now=clock.now())
        w(f"办事申请 Applications: {made}")
        if made.hospital_secret:
            w(f"  演示医院 Demo hospital: key {made.hospital_key_id} secret {made.hospital_secret} (shown once)")
