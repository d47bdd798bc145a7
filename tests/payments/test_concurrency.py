"""Money paths under real parallel connections (PostgreSQL): settlement exactly once, paying while the item is
being cancelled never loses money, one item in one order."""
from __future__ import annotations

import time

import pytest

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.payments import services, simulator
from jiaoguan.payments.models import (
    Order,
    PayableItem,
    Payment,
    Refund,
    SimRefund,
    SimTrade,
)
from tests.concurrency import in_threads
from tests.factories import make_person
from tests.payments.conftest import CITIZEN, CLERK, HANDLER, make_item

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]




def start(payer, *items):
    order = services.order_create(payer_person_id=payer.pk, item_ids=[i.pk for i in items], actor=CITIZEN)
    services.order_pay(order=order, actor=CITIZEN)
    return Order.objects.get(pk=order.pk), SimTrade.objects.get(out_trade_no=order.reference)


def test_the_same_callback_twenty_times_at_once_settles_once(quiet_channel, listener):
    payer = make_person()
    a, b = make_item(person_id=payer.pk, amount_fen=20000), make_item(person_id=payer.pk, amount_fen=700)
    order, trade = start(payer, a, b)
    trade = simulator.sim_trade_confirm(token=trade.token)
    body, headers = simulator.sim_callback(trade, "paid")
    results = in_threads(20, lambda i: services.callback_receive(channel="sim", body=body, headers=headers))
    assert sorted(results) == ["duplicate"] * 19 + ["settled"], results
    assert Payment.objects.filter(order=order).count() == 1
    assert AuditEntry.objects.filter(action="payment.settle").count() == 1
    assert OutboxEvent.objects.filter(topic="payments.item_settled", handler=HANDLER).count() == 2
    assert set(PayableItem.objects.values_list("status", flat=True)) == {"paid"}
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert audit_verify().ok


def test_paying_while_the_item_is_being_cancelled_never_loses_money():
    """Thread 0 pays on the simulator's page (its callback follows in-process after commit); thread 1 revokes
    the decision. Either the payment wins and is refunded, or the cancel wins and the trade cannot be paid."""
    outcomes = set()
    for round_ in range(8):
        payer = make_person()
        item = make_item(person_id=payer.pk, amount_fen=20000)
        order, trade = start(payer, item)

        def act(i: int, round_=round_, trade=trade, item=item):
            if i == 0:
                if round_ % 2:  # every other round the payer is a moment late, so both outcomes are exercised
                    time.sleep(0.2)
                return simulator.sim_trade_confirm(token=trade.token)
            return services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK,
                                           reason="违法记录撤销 revoked")

        results = in_threads(2, act)
        assert not isinstance(results[1], Exception), results
        item.refresh_from_db()
        order.refresh_from_db()
        trade.refresh_from_db()
        taken = trade.amount_fen if trade.status == "paid" else 0
        returned = sum(SimRefund.objects.filter(trade=trade, status="succeeded").values_list("amount_fen", flat=True))
        kept = item.paid_total_fen if item.status == "paid" else 0
        assert taken == returned + kept, (trade.status, item.status, order.status)
        assert kept == 0 and item.status in ("cancelled", "refunded")
        if trade.status == "paid":
            outcomes.add("paid then refunded")
            assert item.status == "refunded" and order.status == "paid"
            assert Payment.objects.get(order=order).amount_fen == 20000
            assert Refund.objects.get(item=item).status == "succeeded"
        else:
            outcomes.add("cancelled")
            assert isinstance(results[0], Conflict)
            assert item.status == "cancelled" and order.status == "closed"
            assert not Payment.objects.filter(order=order).exists()
    assert outcomes == {"paid then refunded", "cancelled"}
    assert audit_verify().ok


def test_one_item_goes_into_one_order():
    payer = make_person()
    items = [make_item(person_id=payer.pk) for _ in range(3)]
    results = in_threads(4, lambda i: services.order_create(payer_person_id=payer.pk,
                                                            item_ids=[x.pk for x in items], actor=CITIZEN))
    assert sum(isinstance(r, Order) for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Order))
    assert Order.objects.count() == 1
    assert set(PayableItem.objects.values_list("order_id", flat=True)) == {Order.objects.get().pk}


def test_the_same_idempotency_key_at_once_makes_one_order():
    from jiaoguan.core.idempotency import idempotent

    payer = make_person()
    item = make_item(person_id=payer.pk)

    def create(i: int):
        def run():
            order = services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)
            return 201, {"reference": order.reference}
        return idempotent(scope="user:1:payments.order", key="same-key-123", fingerprint=str(item.pk), run=run)

    results = in_threads(4, create)
    assert all(r == results[0] for r in results), results
    assert Order.objects.count() == 1


def test_the_same_payable_created_at_once_is_one_item():
    payer = make_person()
    results = in_threads(4, lambda i: make_item(person_id=payer.pk, source_id="D-SAME", amount_fen=20000))
    assert all(isinstance(r, PayableItem) for r in results), results
    assert len({r.pk for r in results}) == 1 and PayableItem.objects.count() == 1


def test_twenty_callbacks_racing_for_one_order_settle_it_once_whichever_path_they_take(quiet_channel, listener):
    """The plain-read answer to a repeat (issue 12) beside the locked path: 20 deliveries race for one order —
    ten copies of one signed delivery (they meet on the replay cache) and ten re-signed ones (distinct replay
    keys: they meet on the order's lock, or find the settlement already committed by the plain read). Exactly one
    settles; every other one answers "duplicate"; then every repeat is answered without a write."""
    payer = make_person()
    item = make_item(person_id=payer.pk, amount_fen=20000)
    order, trade = start(payer, item)
    trade = simulator.sim_trade_confirm(token=trade.token)
    copies = [simulator.sim_callback(trade, "paid")] * 10 + [simulator.sim_callback(trade, "paid") for _ in range(10)]
    results = in_threads(20, lambda i: services.callback_receive(channel="sim", body=copies[i][0],
                                                                 headers=copies[i][1]))
    assert sorted(map(str, results)) == ["duplicate"] * 19 + ["settled"], results
    assert Payment.objects.filter(order=order).count() == 1
    assert AuditEntry.objects.filter(action="payment.settle").count() == 1
    assert OutboxEvent.objects.filter(topic="payments.item_settled", handler=HANDLER).count() == 1
    assert Order.objects.get(pk=order.pk).status == "paid"
    audits = AuditEntry.objects.count()
    again = in_threads(20, lambda i: services.callback_receive(channel="sim", body=copies[i][0],
                                                               headers=copies[i][1]))
    assert again == ["duplicate"] * 20 and AuditEntry.objects.count() == audits
    assert audit_verify().ok
