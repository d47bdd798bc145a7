"""manage.py demo_logins [--url URL]: print the demo logins and what each can try, read from the database (the
same summary that ``demo_city`` prints at the end of every ``make run``)."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from jiaoguan.demo.summary import summary_lines


class Command(BaseCommand):
    help = "列出演示账户和可以试用的功能。Print the demo logins and what each can try."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the address the summary names")

    def handle(self, *args, url: str, **options):
        for line in summary_lines(base_url=url):
            self.stdout.write(line)
