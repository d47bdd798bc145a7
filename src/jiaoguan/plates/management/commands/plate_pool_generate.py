"""manage.py plate_pool_generate 粤B 02 "A####" [--office-code 440300 --office-name …]

Adds every valid GA 36 number of a series to an issuing office's pool (idempotent). Kinds: 02 ordinary small
car, 52 new-energy small, 51 new-energy large. Series: literal characters, # a digit, @ a letter (no I/O), * either.
"""
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.plates import services
from jiaoguan.plates.models import Office


class Command(BaseCommand):
    help = "Generate plate numbers of a series into an issuing office's pool (idempotent)"

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="office prefix, e.g. 粤B")
        parser.add_argument("kind", choices=["02", "52", "51"])
        parser.add_argument("series", help='e.g. "A####", "D0####", "#####D"')
        parser.add_argument("--office-code", default="440300")
        parser.add_argument("--office-name", default="深圳市公安局交通警察局车辆管理所")

    def handle(self, *args, **opts):
        actor = Actor.system("manage.py plate_pool_generate")
        try:
            office = Office.objects.filter(prefix=opts["prefix"]).first() or services.office_create(
                code=opts["office_code"], name=opts["office_name"], prefix=opts["prefix"], actor=actor)
            report = services.plate_pool_generate(office=office, kind=opts["kind"], series=opts["series"],
                                                  actor=actor)
        except DomainError as exc:
            raise CommandError(exc.en) from None
        self.stdout.write(f"{office.prefix} {report.series}: {report.valid} valid numbers, {report.added} added "
                          f"({report.withheld} withheld, {report.in_use} already on vehicles)")
