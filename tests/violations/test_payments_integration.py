"""With the real payments app: the decision's fine becomes a payable item; revoking cancels it."""
import pytest

from jiaoguan.violations import services
from tests.violations.conftest import APPROVER, camera
from tests.violations.test_handling import citizen_with_car

payments_selectors = pytest.importorskip("jiaoguan.payments.selectors")
pytestmark = pytest.mark.django_db


def test_decision_creates_the_payable_and_revoke_cancels_it(device):
    user, car = citizen_with_car()
    v = camera(car, device, code="1352")
    d = services.violation_handle_online(user=user, violation_id=v.pk)
    item = payments_selectors.payable_for_source(source_type="violations.decision", source_id=str(d.pk))
    assert item is not None
    assert (item.amount_fen, item.payer_person_id, item.late_fee, item.decision_date) == (
        20000, user.person_id, True, d.decision_date)
    assert item.status == "unpaid"
    services.violation_revoke(violation=v, actor=APPROVER, reason="设备故障 camera fault")
    item.refresh_from_db()
    assert item.status == "cancelled"
    assert services.points_in_cycle(licence=d.licence) == 0


def test_a_warning_creates_no_payable(device, settings):
    from jiaoguan.violations.models import ViolationCode

    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}
    user, car = citizen_with_car()
    v = camera(car, device, code="1019")  # warning only, 1 point
    assert ViolationCode.objects.get(code="1019").fine_fen == 0
    d = services.violation_handle_online(user=user, violation_id=v.pk)
    assert d.fine_fen == 0 and d.points == 1
    assert payments_selectors.payable_for_source(source_type="violations.decision", source_id=str(d.pk)) is None


def test_paying_the_fine_marks_the_violation_paid(device, settings):
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.models import OutboxEvent
    from jiaoguan.core.outbox import event_deliver
    from jiaoguan.payments import services as payments
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade
    from jiaoguan.violations.models import Violation

    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False
    user, car = citizen_with_car()
    v = camera(car, device, code="1357")
    d = services.violation_handle_online(user=user, violation_id=v.pk)
    item = payments_selectors.payable_for_source(source_type="violations.decision", source_id=str(d.pk))
    payer = Actor.of(user)
    order = payments.order_create(payer_person_id=user.person_id, item_ids=[item.pk], actor=payer)
    payments.order_pay(order=order, actor=payer)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    simulator.sim_trade_confirm(token=trade.token)
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "paid")
    payments.callback_receive(channel="sim", body=body, headers=headers)
    mine = OutboxEvent.objects.filter(topic="payments.item_settled",
                                      handler="jiaoguan.violations.handlers:on_item_settled")
    assert mine.count() == 1
    for e in mine:
        event_deliver(e.pk)
    assert Violation.objects.get(pk=v.pk).status == "paid"
