"""Payments' events mark a decision's violation paid; other sources are ignored."""
import pytest

from jiaoguan.core.models import AuditEntry
from jiaoguan.core.outbox import subscribers
from jiaoguan.violations import handlers, services
from jiaoguan.violations.models import Violation
from tests.violations.conftest import camera
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


def test_subscribed():
    assert "jiaoguan.violations.handlers:on_item_settled" in subscribers("payments.item_settled")
    assert "jiaoguan.violations.handlers:on_item_refunded" in subscribers("payments.item_refunded")


def test_settled_marks_paid_once(device, payments):
    user, car = citizen_with_car()
    v = camera(car, device, code="1352")
    d = services.violation_handle_online(user=user, violation_id=v.pk)
    payload = {"item_id": 1, "source_type": "violations.decision", "source_id": str(d.pk), "amount_fen": 20000}
    handlers.on_item_settled({**payload, "source_type": "bookings.fee"})
    assert Violation.objects.get(pk=v.pk).status == "handled"
    handlers.on_item_settled(payload)
    handlers.on_item_settled(payload)  # delivered twice: still paid once
    assert Violation.objects.get(pk=v.pk).status == "paid"
    assert AuditEntry.objects.filter(action="violation.paid", object_id=str(v.pk)).count() == 1
    handlers.on_item_refunded({**payload, "amount_fen": 20000})
    assert AuditEntry.objects.filter(action="decision.refunded", object_id=str(d.pk)).count() == 1
