"""Fixtures for the postal tests: shipments, an outbox listener, a quiet simulator, callback helpers."""
from __future__ import annotations

import itertools

import pytest
from django.test import Client

from jiaoguan.core import outbox
from jiaoguan.core.audit import Actor
from jiaoguan.core.models import OutboxEvent
from jiaoguan.postal import services
from jiaoguan.postal.models import SimParcel
from jiaoguan.postal.services import TOPIC
from tests.api.helpers import post

_src = itertools.count(1)
CLERK = Actor(id=7, label="clerk 7", role="clerk")
NAME, PHONE, ADDRESS = "张晓明", "13912345678", "广东省深圳市福田区福华三路88号时代财富大厦12楼"


def on_shipment_changed(payload: dict) -> None:
    """A subscriber, so the services write outbox rows in these tests."""


HANDLER = f"{__name__}:on_shipment_changed"


@pytest.fixture
def listener(monkeypatch):
    monkeypatch.setitem(outbox._subscribers, TOPIC, [*outbox.subscribers(TOPIC), HANDLER])


def emitted() -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(topic=TOPIC, handler=HANDLER).order_by("pk")]


@pytest.fixture
def quiet(settings):
    """The simulator builds its callbacks but does not send them: tests deliver them late, twice, out of order."""
    settings.JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY = False


def make_shipment(*, source_id: str | None = None, source_type: str = "applications.application", **overrides):
    data = {"recipient_name": NAME, "recipient_phone": PHONE, "address": ADDRESS, "item_zh": "机动车驾驶证",
            "item_en": "Driving licence", "source_type": source_type,
            "source_id": f"A{next(_src)}" if source_id is None else source_id, "actor": CLERK}
    data.update(overrides)
    return services.shipment_create(**data)


def parcel_of(shipment) -> SimParcel:
    return SimParcel.objects.get(reference=shipment.reference)


def deliver(body: bytes, headers: dict, carrier: str = "sim"):
    """POST a callback to our endpoint as a carrier would."""
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k.lower() != "content-type"}
    return post(Client(), f"postal/callbacks/{carrier}", body, **extra)
