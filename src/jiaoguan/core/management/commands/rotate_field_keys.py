from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from jiaoguan.core import crypto
from jiaoguan.core.fields import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every personal field not yet under the active key (the first of JIAOGUAN_FIELD_KEYS)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        active = crypto.active_key_id()
        total = 0
        for model, field in encrypted_fields():
            assert model._meta.pk is not None and field.column is not None
            table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
            assert pk is not None
            last = None
            while True:
                with connection.cursor() as cur:
                    qn = connection.ops.quote_name
                    where = f"WHERE {qn(pk)} > %s " if last is not None else ""
                    cur.execute(
                        f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} {where}ORDER BY {qn(pk)} LIMIT %s",
                        ([last] if last is not None else []) + [batch],
                    )
                    rows = cur.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                stale = [(pk_value, token) for pk_value, token in rows if token and crypto.key_id_of(token) != active]
                with transaction.atomic():
                    for pk_value, token in stale:
                        # update() passes the plaintext through the field, which encrypts it with the active key
                        model._base_manager.filter(pk=pk_value).update(**{field.name: crypto.decrypt(token)})
                total += len(stale)
            self.stdout.write(f"{model._meta.label}.{field.name}: done")
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {total} values under key {active}"))
