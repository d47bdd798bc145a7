"""manage.py records_rebuild [--user ID ...] [--check]

Rebuilds the "my records" read model (jiaoguan.records) from the records: every account whose records were ever
read, or only the accounts named. ``--check`` writes nothing: it lists the stored parts that differ from a fresh
build (there should be none: every change reaches the read model through the outbox) and exits with status 1 if
any does."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.records import services


class Command(BaseCommand):
    help = "重建“我的记录”读模型。Rebuild the 'my records' read model from the records."

    def add_arguments(self, parser):
        parser.add_argument("--user", type=int, action="append", default=[], help="only this account id (repeatable)")
        parser.add_argument("--check", action="store_true",
                            help="write nothing; list parts that differ from a fresh build, exit 1 if any")
        parser.add_argument("--batch", type=int, default=500, help="accounts per round (default 500)")

    def handle(self, *args, user: list[int], check: bool, batch: int, **options):
        if check:
            differing = 0
            for user_id in self._ids(user, batch):
                for name in services.records_differ(user_id=user_id):
                    differing += 1
                    self.stdout.write(f"账户 account {user_id}: {name} 与档案不一致 differs from the records")
            if differing:
                raise CommandError(f"{differing} 个部分不一致 parts differ; run records_rebuild to rebuild them")
            self.stdout.write(self.style.SUCCESS("读模型与档案一致 The read model matches the records"))
            return
        if user:
            done = services.records_refresh(user_ids=user, materialised_only=False)
        else:
            done = services.records_rebuild_all(batch=batch)
        self.stdout.write(self.style.SUCCESS(f"已重建 {done} 个账户 Rebuilt {done} accounts"))

    @staticmethod
    def _ids(user: list[int], batch: int):
        if user:
            yield from sorted(set(user))
            return
        last = 0
        while ids := services.materialised_ids(after=last, batch=batch):
            yield from ids
            last = ids[-1]
