from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.core.audit import audit_seal, audit_seal_all
from jiaoguan.core.scheduler import stop_on_signals


class Command(BaseCommand):
    help = ("Seal the audit log's committed entries (what the periodic job core.audit_seal does); --loop keeps "
            "sealing every --interval seconds. 封存审计日志。")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep sealing until stopped (SIGTERM/Ctrl-C)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between runs with --loop")
        parser.add_argument("--head", action="store_true", help="write a signed tree head now (if anything is new)")

    def handle(self, *args: Any, loop: bool = False, interval: float = 1.0, head: bool = False,
               **options: Any) -> None:
        if not loop:
            sealed = audit_seal_all(head=True if head else None)
            self.stdout.write(f"sealed {sealed} audit entries 已封存")
            return
        stop = stop_on_signals()
        while not stop.is_set():
            result = audit_seal()
            if result.sealed == 0 or result.busy:
                stop.wait(interval)
