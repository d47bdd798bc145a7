"""manage.py import_registry <persons|licences|vehicles|policies> <file.csv> [--encoding ENC] [--dry-run]

Loads a city's registry records from CSV (format: docs/registry-import.md). Bad rows are listed with their line
numbers and reasons; good rows are loaded; rerunning the same file changes nothing."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.registry.imports import KINDS, registry_import


class Command(BaseCommand):
    help = "从CSV导入登记档案。Import registry records from a CSV file (docs/registry-import.md)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS, help="what the file holds (import persons first)")
        parser.add_argument("file", help="path of the CSV file")
        parser.add_argument("--encoding", default=None,
                            help="file encoding (default UTF-8 with or without BOM; e.g. gb18030 for Excel files)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--actor", default="import", help="who runs the import, for the audit log")
        parser.add_argument("--fail-on-error", action="store_true", help="exit with status 1 if any row is rejected")
        parser.add_argument("--max-errors", type=int, default=200, help="list at most this many errors (default 200)")

    def handle(self, *args, kind: str, file: str, encoding: str | None, dry_run: bool, actor: str,
               fail_on_error: bool, max_errors: int, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 cannot read {file}: {exc.strerror}") from None
        try:
            report = registry_import(kind=kind, data=data, actor=Actor.system(f"import:{actor}"), encoding=encoding,
                                     dry_run=dry_run, source=path.name)
        except DomainError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from None
        for note in report.notes:
            self.stdout.write(note)
        for error in report.errors[:max_errors]:
            self.stdout.write(self.style.WARNING(str(error)))
        if len(report.errors) > max_errors:
            self.stdout.write(f"… 另有{len(report.errors) - max_errors}条错误 {len(report.errors) - max_errors} more errors")
        if report.file_error:
            raise CommandError(f"文件无法导入 the file was not imported. {report.summary()}")
        style = self.style.SUCCESS if not report.errors else self.style.WARNING
        self.stdout.write(style(report.summary()))
        if fail_on_error and report.errors:
            raise CommandError("有被拒绝的行 some rows were rejected")
