"""Fixtures for the payments tests: payers, payable items, outbox listeners."""
from __future__ import annotations

import itertools

import pytest

from jiaoguan.core import outbox
from jiaoguan.core.audit import Actor
from jiaoguan.payments import services
from tests.factories import make_person

_src = itertools.count(1)
CLERK = Actor(id=7, label="clerk 7", role="clerk")
CITIZEN = Actor(id=8, label="citizen", role="citizen")
TOPICS = ("payments.item_settled", "payments.item_refunded")


def on_payment_event(payload: dict) -> None:
    """A subscriber, so the services write outbox rows in these tests."""


HANDLER = f"{__name__}:on_payment_event"


@pytest.fixture
def listener(monkeypatch):
    for topic in TOPICS:
        monkeypatch.setitem(outbox._subscribers, topic, [*outbox.subscribers(topic), HANDLER])


def make_item(*, person_id: int, amount_fen: int = 20000, late_fee: bool = False, decision_date=None,
              source_type: str = "violations.decision", source_id: str | None = None):
    return services.payable_create(kind="fine", source_type=source_type, source_id=source_id or f"D{next(_src)}",
                                   payer_person_id=person_id, amount_fen=amount_fen,
                                   description_zh="闯红灯罚款", description_en="Fine for running a red light",
                                   decision_date=decision_date, late_fee=late_fee)


@pytest.fixture
def payer():
    return make_person()


@pytest.fixture
def quiet_channel(settings):
    """The simulator builds callbacks but does not send them: tests deliver them late, twice, out of order."""
    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False
