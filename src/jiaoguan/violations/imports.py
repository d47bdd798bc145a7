"""Staff bulk import of a day's on-site records from CSV: each bad row is reported, the rest are loaded.

Columns (UTF-8, header row required): plate, plate_type, code, place, occurred_at (ISO 8601, e.g.
2026-11-20T08:30:00+08:00; without a zone it is Beijing time), optional accident (0/1).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.identity.roles import require
from jiaoguan.violations import services
from jiaoguan.violations.models import Violation

COLUMNS = ("plate", "plate_type", "code", "place", "occurred_at")
MAX_ROWS = 20000


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    zh: str
    en: str
    fields: dict = field(default_factory=dict)


@dataclass
class ImportReport:
    loaded: int = 0
    errors: list[RowError] = field(default_factory=list)


def _when(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput("violations.csv_time", "违法时间格式不正确（例如 2026-11-20T08:30:00+08:00）",
                           "The time is malformed (e.g. 2026-11-20T08:30:00+08:00)", field="occurred_at") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def violations_import_csv(*, content: bytes | str, actor: Actor) -> ImportReport:
    require(actor, "violation.record")
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("violations.csv_encoding", "文件须为 UTF-8 编码", "The file must be UTF-8",
                               field="file") from None
    reader = csv.DictReader(io.StringIO(content))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput("violations.csv_columns", f"缺少列：{', '.join(missing)}",
                           f"Missing columns: {', '.join(missing)}", field="file")
    report = ImportReport()
    for n, row in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            report.errors.append(RowError(n, "violations.csv_too_many", f"超过{MAX_ROWS}行，其余未导入",
                                          f"More than {MAX_ROWS} rows: the rest were not loaded"))
            break
        try:
            with transaction.atomic():
                services.violation_record(
                    plate=row["plate"] or "", plate_type=(row["plate_type"] or "").strip(), code=row["code"] or "",
                    place=row["place"] or "", occurred_at=_when(row["occurred_at"]),
                    source=Violation.Source.ON_SITE, actor=actor,
                    accident=(row.get("accident") or "").strip() in ("1", "true", "是"))
            report.loaded += 1
        except DomainError as exc:
            report.errors.append(RowError(n, exc.code, exc.zh, exc.en, dict(exc.fields)))
    audit_record(actor=actor, action="violation.import", object_type="violations.violation", object_id="csv",
                 new={"loaded": report.loaded, "errors": len(report.errors)})
    return report
