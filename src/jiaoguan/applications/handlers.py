"""Outbox handlers of the applications app: the post tells us how the result's shipment is doing."""
from jiaoguan.applications import services
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
