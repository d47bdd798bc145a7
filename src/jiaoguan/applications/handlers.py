"""Outbox handlers of the applications app: the post tells us how the result's shipment is doing; payments tell us
when an application's fee is paid."""
from jiaoguan.applications import rules, services
from jiaoguan.core.outbox import subscribe

SOURCE_TYPE = "applications.application"


@subscribe("postal.shipment_changed")
def on_shipment_changed(payload: dict) -> None:
    if payload.get("source_type") != SOURCE_TYPE:
        return
    try:
        application_id, shipment_id = int(payload["source_id"]), int(payload["shipment_id"])
    except (KeyError, TypeError, ValueError):
        return
    services.application_delivery_update(application_id=application_id, shipment_id=shipment_id,
                                         status=str(payload.get("status") or ""),
                                         tracking_number=str(payload.get("tracking_number") or ""))


@subscribe("payments.item_settled")
def on_fee_settled(payload: dict) -> None:
    if payload.get("source_type") != services.FEE_SOURCE:
        return
    parsed = rules.fee_source_parse(str(payload.get("source_id") or ""))
    if parsed is not None:
        services.application_fee_paid(application_id=parsed[0], at=parsed[1])
