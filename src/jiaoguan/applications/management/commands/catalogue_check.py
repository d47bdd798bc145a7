"""Validate the service catalogue and print what it declares (exit status 1 with every problem if inconsistent)."""
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.applications.catalogue import CatalogueError, catalogue_load


class Command(BaseCommand):
    help = "Load and validate the service catalogue (applications/catalogue/*.toml); list the services."

    def add_arguments(self, parser):
        parser.add_argument("directories", nargs="*", help="catalogue directories (default: the app's catalogue/)")

    def handle(self, *args, directories=(), **options):
        try:
            cat = catalogue_load(*directories)
        except CatalogueError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(f"the catalogue is inconsistent: {len(exc.problems)} problem(s)") from None
        for s in sorted(cat.services.values(), key=lambda s: s.code):
            flags = [f for f, on in (("unlisted", not s.listed),
                                     ("auto-approve", s.workflow.auto_approve is not None),
                                     ("approve-first", s.workflow.approve_first is not None)) if on]
            outputs = ", ".join(o.name for o in s.outputs) or "-"
            extra = "; " + ", ".join(flags) if flags else ""
            self.stdout.write(f"{s.code:<24} v{s.version:<10} {s.name.zh} / {s.name.en}  "
                              f"[{s.category.code}; {s.time_limit_days} working days; fee {s.fee_fen} fen; "
                              f"actions {', '.join(s.workflow.actions)}; outputs {outputs}{extra}]")
        self.stdout.write(self.style.SUCCESS(f"catalogue OK: {len(cat.services)} service(s)"))
