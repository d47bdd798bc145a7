"""An application's fee under real parallel connections (PostgreSQL): the citizen pays at the very moment the sweep
closes the application for not paying. Whatever the order, no money is kept for an application that lapsed, and
an application that goes to staff has its fee."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from jiaoguan.applications import services
from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.models import OutboxEvent
from jiaoguan.core.outbox import event_deliver
from jiaoguan.payments import selectors as payments_selectors
from jiaoguan.payments import services as payments
from jiaoguan.payments import simulator
from jiaoguan.payments.models import Order, SimRefund, SimTrade
from tests.applications.services.support import PNG, citizen, hospital_check, submit
from tests.concurrency import in_threads
from tests.factories import make_licence

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_paying_while_the_sweep_lapses_the_application_never_keeps_money_for_nothing(clock):
    outcomes = set()
    for round_ in range(8):
        clock.freeze(dt.datetime(2026, 11, 23, 10, 0))  # Monday: the fee is due by Thursday night
        user = citizen(licence=False)
        make_licence(person=user.person, first_issue=dt.date(2020, 1, 5), valid_until=dt.date(2029, 1, 5))
        hospital_check(user.person)
        app = submit(user, "licence_renewal", {"kind": "replace_lost", "address": "深圳市南山区科苑路15号 测试"},
                     {"photo": PNG})
        item = payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=str(app.pk))
        clock.freeze(dt.datetime(2026, 11, 27, 0, 5))  # Friday 00:05: past the deadline, the citizen pays anyway
        payer = Actor.of(user)
        order = payments.order_create(payer_person_id=user.person_id, item_ids=[item.pk], actor=payer)
        payments.order_pay(order=order, actor=payer)
        trade = SimTrade.objects.get(out_trade_no=order.reference)

        def act(i: int, round_=round_, trade=trade):
            if i == 0:
                if round_ % 2:  # every other round the payer is a moment late, so both orders are exercised
                    time.sleep(0.2)
                return simulator.sim_trade_confirm(token=trade.token)  # its callback follows after commit
            return services.applications_lapse_unpaid()

        results = in_threads(2, act)
        assert not isinstance(results[1], Exception), results
        for event in OutboxEvent.objects.filter(topic="payments.item_settled", delivered_at__isnull=True,
                                                handler="jiaoguan.applications.handlers:on_fee_settled"):
            event_deliver(event.pk)  # the handler, if the worker had not run it yet
        app.refresh_from_db()
        item.refresh_from_db()
        trade.refresh_from_db()
        order = Order.objects.get(pk=order.pk)
        taken = trade.amount_fen if trade.status == "paid" else 0
        returned = sum(SimRefund.objects.filter(trade=trade, status="succeeded").values_list("amount_fen", flat=True))
        kept = item.paid_total_fen if item.status == "paid" else 0
        assert taken == returned + kept, (app.status, trade.status, item.status, order.status)
        assert app.status in ("submitted", "lapsed"), app.status
        if app.status == "submitted":
            outcomes.add("paid in time")
            assert kept == 1000 and results[1] == 0
        else:
            assert kept == 0 and item.status in ("cancelled", "refunded")
            outcomes.add("lapsed, refunded" if item.status == "refunded" else "lapsed, never paid")
    assert outcomes & {"lapsed, refunded", "lapsed, never paid"}, outcomes
    assert audit_verify().ok
