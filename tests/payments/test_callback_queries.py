"""How much a payment callback costs: a repeat of a settled order's callback is answered from one plain SELECT
(no lock, no replay-cache row, no audit row, no transaction) — or from the process's memory once it has seen that
settlement committed; the first settlement takes a fixed number of queries. Counted through the HTTP endpoint,
middleware included (docs/performance.md §3)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiaoguan.core.models import AuditEntry, SignedRequestNonce
from jiaoguan.payments import services, simulator
from jiaoguan.payments.channels import CALLBACK_REPLAYS
from jiaoguan.payments.models import Order, Payment, Refund, SimRefund, SimTrade
from tests.payments.conftest import CITIZEN, CLERK, make_item

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/callback/sim"
# The pinned budgets. Raise them only with a reason in docs/performance.md §3.
DUPLICATE_QUERIES = 1
# A first settlement of a two-item order, the audit log's own statements and savepoints aside (core.audit is
# counted by its tests; its cost per row is changing): the plain read, the replay key, the order's lock, the
# authoritative Payment check, the lines, the items' lock, the Payment row, the order, each item and its event.
FIRST_SETTLEMENT_QUERIES = 12
SETTLEMENT_AUDIT_ROWS = 4  # payment.settle, order.paid, payable.paid × 2


def own_statements(queries) -> list[str]:
    sqls = [q["sql"] for q in queries]
    return [sql for sql in sqls if "core_audit" not in sql and not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def paid_callback(payer, *amounts):
    items = [make_item(person_id=payer.pk, amount_fen=a) for a in amounts]
    order = services.order_create(payer_person_id=payer.pk, item_ids=[i.pk for i in items], actor=CITIZEN)
    services.order_pay(order=order, actor=CITIZEN)
    trade = simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=order.reference).token)
    return Order.objects.get(pk=order.pk), trade


def post(client, body, headers):
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def test_first_settlement_and_its_repeats_cost_a_fixed_number_of_queries(client, payer, quiet_channel):
    order, trade = paid_callback(payer, 20000, 700)
    body, headers = simulator.sim_callback(trade, "paid")
    audits_before = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as first:
        answer = post(client, body, headers)
    assert answer.status_code == 200 and answer.json() == {"result": "settled"}
    statements = own_statements(first)
    print(f"first settlement: {len(first)} queries, {len(statements)} outside the audit log")
    assert len(statements) <= FIRST_SETTLEMENT_QUERIES, "\n".join(sql[:150] for sql in statements)
    assert AuditEntry.objects.count() - audits_before == SETTLEMENT_AUDIT_ROWS
    nonces, audits = SignedRequestNonce.objects.count(), AuditEntry.objects.count()
    # the same delivery again (a replay), and a fresh delivery of the same "paid" (the channel re-signs a retry)
    again = simulator.sim_callback(trade, "paid")
    for repeat_body, repeat_headers in ((body, headers), again):
        with CaptureQueriesContext(connection) as repeat:
            answer = post(client, repeat_body, repeat_headers)
        assert answer.status_code == 200 and answer.json() == {"result": "duplicate"}
        assert len(repeat) <= DUPLICATE_QUERIES, [q["sql"] for q in repeat]
        assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in repeat), [q["sql"] for q in repeat]
    assert SignedRequestNonce.objects.count() == nonces and AuditEntry.objects.count() == audits
    assert Payment.objects.filter(order=order).count() == 1


def test_a_settled_order_paid_again_by_another_trade_still_takes_the_locked_path(payer, quiet_channel):
    """The plain read answers only "settled by this very trade"; anything else is decided under the lock, and
    the delivery is remembered there (the replay cache of issue 10)."""
    order, trade = paid_callback(payer, 20000)
    body, headers = simulator.sim_callback(trade, "paid")
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "settled"
    SimTrade.objects.filter(pk=trade.pk).update(trade_no="SIMOTHER0001")
    trade.refresh_from_db()
    other_body, other_headers = simulator.sim_callback(trade, "paid")
    nonces = SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name).count()
    assert services.callback_receive(channel="sim", body=other_body, headers=other_headers) == "duplicate"
    assert SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name).count() == nonces + 1
    assert Payment.objects.get(order=order).trade_no != "SIMOTHER0001"


def test_a_completed_refund_reported_again_is_one_select(payer, quiet_channel, settings):
    order, trade = paid_callback(payer, 20000)
    body, headers = simulator.sim_callback(trade, "paid")
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "settled"
    item = order.lines.get().item
    refund = services.refund_create(item=item, actor=CLERK, reason="revoked")
    assert refund.status == "processing"
    done = simulator.sim_refund_complete(refund_id=SimRefund.objects.get(out_refund_no=refund.refund_no).pk)
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "refunded", refund=done)
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "refunded"
    with CaptureQueriesContext(connection) as repeat:
        assert services.callback_receive(channel="sim", body=body, headers=headers) == "duplicate"
    assert len(repeat) == 1, [q["sql"] for q in repeat]
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_settlement_seen_committed_is_answered_from_memory_afterwards(payer, quiet_channel, monkeypatch):
    """Outside any transaction (as a request runs), the first repeat reads the settlement (one SELECT) and the
    process remembers it; later repeats of that trade touch no database at all. Another trade's callback for the
    same order is not answered from memory."""
    monkeypatch.setattr(services, "_SETTLED_SEEN", {})
    order, trade = paid_callback(payer, 20000)
    body, headers = simulator.sim_callback(trade, "paid")
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "settled"
    with CaptureQueriesContext(connection) as first_repeat:
        assert services.callback_receive(channel="sim", body=body, headers=headers) == "duplicate"
    assert len(first_repeat) == 1
    with CaptureQueriesContext(connection) as later:
        for _ in range(3):
            assert services.callback_receive(channel="sim", body=body, headers=headers) == "duplicate"
    assert len(later) == 0, [q["sql"] for q in later]
    SimTrade.objects.filter(pk=trade.pk).update(trade_no="SIMOTHER0002")
    trade.refresh_from_db()
    other_body, other_headers = simulator.sim_callback(trade, "paid")
    with CaptureQueriesContext(connection) as other:
        assert services.callback_receive(channel="sim", body=other_body, headers=other_headers) == "duplicate"
    assert len(other) > 1  # the locked path, as before
    assert Payment.objects.filter(order=order).count() == 1
