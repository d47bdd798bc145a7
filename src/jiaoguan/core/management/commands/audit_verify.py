from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import audit_health, audit_verify


class Command(BaseCommand):
    help = ("Verify the audit log: every entry's digest, every seal exactly once, the hash chain, the Merkle tree "
            "and every signed tree head; name the first broken row. 校验审计日志。")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if not report.ok:
            where = f"row {report.first_broken_id}" if report.first_broken_id is not None else "the end of the log"
            raise CommandError(
                f"audit chain broken at {where}: {report.problem} "
                f"(审计链在第 {report.first_broken_id} 行断裂; {report.checked} rows verified before it)")
        self.stdout.write(self.style.SUCCESS(
            f"audit chain intact: {report.checked} rows ({report.sealed} sealed, {report.unsealed} waiting for the "
            f"sealer), {report.heads} signed heads 审计链完整"))
        health = audit_health()
        if not health.ok:
            self.stderr.write(self.style.WARNING(
                f"alarm: {health.unsealed} rows unsealed, the oldest for {health.oldest_unsealed_seconds:.0f} s "
                f"(more than {health.threshold_seconds} s) 审计日志封存滞后"))
