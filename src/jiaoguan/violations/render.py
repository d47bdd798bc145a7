"""What a citizen's violation looks like on the wire (the list's ViolationOut). The API's endpoints and the "my
records" read model (jiaoguan.records) render through it, so both give the same document."""
from __future__ import annotations

from jiaoguan.core import clock
from jiaoguan.violations import rules
from jiaoguan.violations.models import Violation


def violation_out(v: Violation) -> dict:
    """One violation as the citizen's list shows it (the API's ViolationOut)."""
    out = {
        "id": v.pk, "plate": v.plate, "plate_type": v.plate_type, "code": v.code.code,
        "description_zh": v.code.description_zh, "description_en": v.code.description_en,
        "points": v.points, "fine_fen": v.fine_fen, "place": v.place, "occurred_at": clock.isoformat(v.occurred_at),
        "source": v.source, "status": v.status, "status_label": v.get_status_display(), "waiver_rule": v.waiver_rule,
        "photos": [e.file.url for e in v.evidence.all()],
    }
    if v.waiver_rule:
        zh, en = rules.WAIVER_LABELS.get(v.waiver_rule, (v.waiver_rule, v.waiver_rule))
        out["waiver"] = {"rule": v.waiver_rule, "zh": zh, "en": en}
    return out
