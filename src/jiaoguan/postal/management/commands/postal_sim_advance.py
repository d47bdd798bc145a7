"""Drive a parcel of the postal simulator (development): it sends the signed callbacks for every step.

    manage.py postal_sim_advance EA123456785CN --to delivered
    manage.py postal_sim_advance EA123456785CN --to returned
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.errors import DomainError
from jiaoguan.postal import rules
from jiaoguan.postal.simulator import simulator_advance


class Command(BaseCommand):
    help = "Move a simulated parcel forward and send its signed status callbacks"

    def add_arguments(self, parser):
        parser.add_argument("tracking_number")
        parser.add_argument("--to", required=True, choices=rules.CARRIER_STATUSES)

    def handle(self, *args, **options):
        try:
            callbacks = simulator_advance(options["tracking_number"], to=options["to"])
        except DomainError as exc:
            raise CommandError(exc.en) from exc
        self.stdout.write(f"{len(callbacks)} callback(s) sent for {options['tracking_number']} → {options['to']}")
