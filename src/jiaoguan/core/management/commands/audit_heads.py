import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import audit_check_saved_head, audit_heads, audit_public_keys, head_as_dict


class Command(BaseCommand):
    help = ("Print the audit log's signed tree heads, one JSON object per line (the public keys first), for an "
            "outside party to keep: later consistency proofs show history was not rewritten; --check FILE checks heads saved "
            "earlier against today's log. 导出/核对审计日志签名树头。")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", help="only heads made at or after this date or ISO date-time (UTC if no zone)")
        parser.add_argument("--check", metavar="FILE", help="check heads saved earlier (this command's output)")

    def handle(self, *args: Any, since: str | None = None, check: str | None = None, **options: Any) -> None:
        if check:
            self._check(check)
            return
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

    def _check(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                saved = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc} (无法读取)") from None
        heads = [h for h in saved if "tree_size" in h]
        problems = [(h.get("tree_size"), p) for h in heads if (p := audit_check_saved_head(h))]
        for size, problem in problems:
            self.stderr.write(f"size {size}: {problem}")
        if problems:
            raise CommandError(f"{len(problems)} of {len(heads)} saved heads do not hold (审计日志与保存的树头不一致)")
        self.stdout.write(self.style.SUCCESS(
            f"{len(heads)} saved heads hold: today's log extends each of them (审计日志与保存的树头一致)"))
