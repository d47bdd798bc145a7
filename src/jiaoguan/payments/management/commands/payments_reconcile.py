"""Daily reconciliation (对账): our ledger against each channel's settlement file for one day.

    manage.py payments_reconcile [--date YYYY-MM-DD] [--channel sim]

Without --date it reconciles yesterday (Asia/Shanghai). Prints the totals and every difference; exits with
status 1 when there are differences, so a scheduler or CI notices.
"""
from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core import clock
from jiaoguan.core.money import format_yuan
from jiaoguan.payments.channels import channel_names
from jiaoguan.payments.services import reconciliation_run


class Command(BaseCommand):
    help = "Reconcile the payment ledger against the channels' settlement files for one day"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--channel", action="append", help="channel name (default: every enabled channel)")

    def handle(self, *args, **options):
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD") from None
        else:
            day = clock.today() - dt.timedelta(days=1)
        channels = options["channel"] or channel_names()
        unknown = set(channels) - set(channel_names())
        if unknown:
            raise CommandError(f"unknown channel(s): {', '.join(sorted(unknown))}")
        total_differences = 0
        for channel in channels:
            report = reconciliation_run(day=day, channel=channel)
            self.stdout.write(f"{day} {channel}: ledger {report.ledger_count} entries {format_yuan(report.ledger_total_fen)}"
                              f" · channel {report.channel_count} entries {format_yuan(report.channel_total_fen)}"
                              f" · {len(report.differences)} differences")
            for d in report.differences:
                self.stdout.write(f"  {d['problem']}: {d['kind']} {d['out_no']} ledger={d.get('ledger_fen')}"
                                  f" channel={d.get('channel_fen')}")
            total_differences += len(report.differences)
        if total_differences:
            raise SystemExit(1)
