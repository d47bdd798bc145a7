from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; name the first broken row. 校验审计日志哈希链。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} rows 审计链完整"))
            return
        raise CommandError(
            f"audit chain broken at row {report.first_broken_id}: {report.problem} "
            f"(审计链在第 {report.first_broken_id} 行断裂; {report.checked} rows verified before it)"
        )
