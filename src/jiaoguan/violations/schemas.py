"""The violations app's output schemas shared by its API and the "my records" read model (jiaoguan.records)."""
from __future__ import annotations

from jiaoguan.core.api_schema import DateTimeText, Label, Out, absent


class WaiverOut(Out):
    rule: str
    zh: str
    en: str


class ViolationOut(Out):
    id: int
    plate: str
    plate_type: str
    code: str
    description_zh: str
    description_en: str
    points: int
    fine_fen: int
    place: str
    occurred_at: DateTimeText
    source: str
    status: str
    status_label: Label
    waiver_rule: str
    photos: list[str]
    waiver: WaiverOut = absent()
