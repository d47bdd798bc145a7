"""Outbox handlers of the violations app: payments tell us when a decision's fine is paid or refunded."""
import datetime as dt

from jiaoguan.core.audit import Actor
from jiaoguan.core.outbox import subscribe
from jiaoguan.violations import services


def _decision_id(payload: dict) -> int | None:
    if payload.get("source_type") != services.SOURCE_TYPE:
        return None
    try:
        return int(payload["source_id"])
    except (KeyError, TypeError, ValueError):
        return None


@subscribe("payments.item_settled")
def on_item_settled(payload: dict) -> None:
    decision_id = _decision_id(payload)
    if decision_id is not None:
        services.decision_settled(decision_id=decision_id)


@subscribe("payments.item_refunded")
def on_item_refunded(payload: dict) -> None:
    decision_id = _decision_id(payload)
    if decision_id is not None:
        services.decision_refunded(decision_id=decision_id, amount_fen=int(payload.get("amount_fen") or 0))


@subscribe("registry.licence_points_imported")
def on_licence_points_imported(payload: dict) -> None:
    """Points that came with the registry (CSV import, the demo city) become opening balances of the ledger."""
    source = str(payload.get("source") or "registry")
    openings = [services.Opening(licence_id=int(pk), points=int(points), cycle_start=dt.date.fromisoformat(start))
                for pk, points, start in payload.get("licences") or []]
    services.points_openings_record(openings=openings, source=source, actor=Actor.system(source))
