import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import audit_heads, audit_public_keys, head_as_dict


class Command(BaseCommand):
    help = ("Print the audit log's signed tree heads, one JSON object per line (the public keys first), for an "
            "outside party to keep: later consistency proofs show history was not rewritten. 导出审计日志签名树头。")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", help="only heads made at or after this date or ISO date-time (UTC if no zone)")

    def handle(self, *args: Any, since: str | None = None, **options: Any) -> None:
        start = None
        if since:
            try:
                start = dt.datetime.fromisoformat(since)
            except ValueError:
                raise CommandError(f"--since {since!r} is not a date or ISO date-time (日期格式错误)") from None
            if start.tzinfo is None:
                start = start.replace(tzinfo=dt.UTC)
        for key in audit_public_keys():
            self.stdout.write(json.dumps({"public_key": key}, sort_keys=True))
        for head in audit_heads(since=start):
            self.stdout.write(json.dumps(head_as_dict(head), sort_keys=True))
