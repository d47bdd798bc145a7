import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.audit import ProofUnavailable, audit_consistency_proof, audit_inclusion_proof


class Command(BaseCommand):
    help = ("Print a proof from the audit log as JSON: --entry ID (inclusion of one entry in a signed head) or "
            "--consistency FIRST [SECOND] (the log of FIRST entries is a prefix of the signed head of SECOND, by "
            "default the latest). 审计日志证明。")

    def add_arguments(self, parser: ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--entry", type=int)
        group.add_argument("--consistency", type=int, nargs="+", metavar="SIZE")
        parser.add_argument("--tree-size", type=int, help="with --entry: against the signed head of this size")

    def handle(self, *args: Any, entry: int | None = None, consistency: list[int] | None = None,
               tree_size: int | None = None, **options: Any) -> None:
        try:
            if entry is not None:
                out = audit_inclusion_proof(entry, tree_size=tree_size).as_dict()
            else:
                assert consistency is not None
                if len(consistency) > 2:
                    raise CommandError("--consistency takes FIRST and at most one SECOND size")
                out = audit_consistency_proof(consistency[0], consistency[1] if len(consistency) > 1 else None)
        except ProofUnavailable as exc:
            raise CommandError(f"{exc} (暂无法给出证明)") from None
        self.stdout.write(json.dumps(out, indent=2, sort_keys=True))
