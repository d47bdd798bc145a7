"""Payable items, orders, settlement by callback, cancelling, refunds, reconciliation (single session)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.core import clock
from jiaoguan.core.audit import audit_verify
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry, OutboxEvent, SignedRequestNonce
from jiaoguan.payments import selectors, services, simulator
from jiaoguan.payments.channels import CALLBACK_REPLAYS, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from jiaoguan.payments.models import (
    Order,
    PayableItem,
    Payment,
    Refund,
    SimRefund,
    SimTrade,
)
from jiaoguan.payments.rules import late_fee_fen
from tests.factories import make_person
from tests.payments.conftest import CITIZEN, CLERK, HANDLER, make_item

pytestmark = pytest.mark.django_db


def events(topic):
    return [e.payload for e in OutboxEvent.objects.filter(topic=topic, handler=HANDLER).order_by("pk")]


def start(payer, *items):
    order = services.order_create(payer_person_id=payer.pk, item_ids=[i.pk for i in items], actor=CITIZEN)
    url = services.order_pay(order=order, actor=CITIZEN)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    assert url == f"/pay/sim/{trade.token}/"
    return Order.objects.get(pk=order.pk), trade


def signed(body: bytes, *, at: int | None = None, key: bytes = b"dev-sim-channel-key") -> dict[str, str]:
    """Headers of a callback signed with the simulator's key, timestamped ``at`` (default: now)."""
    timestamp = str(int(clock.now().timestamp()) if at is None else at)
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(key=key, timestamp=timestamp, body=body)}


def deliver(trade, event, **kw):
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, event, **kw)
    return services.callback_receive(channel="sim", body=body, headers=headers)


# --- payable items -------------------------------------------------------------------------------------------------

def test_payable_create_is_idempotent_per_source(payer):
    a = make_item(person_id=payer.pk, source_id="D100", amount_fen=20000)
    b = make_item(person_id=payer.pk, source_id="D100", amount_fen=99999)
    assert a.pk == b.pk and b.amount_fen == 20000
    assert a.status == "unpaid" and a.reference and selectors.payable_for_source(
        source_type="violations.decision", source_id="D100").pk == a.pk
    assert AuditEntry.objects.filter(action="payable.create").count() == 1


def test_payable_create_refuses_bad_amounts(payer):
    with pytest.raises(InvalidInput) as exc:
        make_item(person_id=payer.pk, amount_fen=-1)
    assert exc.value.field == "amount_fen"
    with pytest.raises(InvalidInput):
        make_item(person_id=payer.pk, late_fee=True, decision_date=None)
    assert PayableItem.objects.count() == 0


def test_amount_due_applies_the_late_fee_only_when_asked(payer):
    decided = dt.date(2026, 1, 1)
    with_fee = make_item(person_id=payer.pk, amount_fen=20000, late_fee=True, decision_date=decided)
    without = make_item(person_id=payer.pk, amount_fen=20000, decision_date=decided)
    assert selectors.payable_amount_due(item=with_fee, on=dt.date(2026, 1, 16)) == (20000, 0, 20000)
    assert selectors.payable_amount_due(item=with_fee, on=dt.date(2026, 1, 17)) == (20000, 600, 20600)
    assert selectors.payable_amount_due(item=with_fee, on=dt.date(2026, 6, 1)) == (20000, 20000, 40000)
    assert selectors.payable_amount_due(item=without, on=dt.date(2026, 6, 1)) == (20000, 0, 20000)


# --- orders --------------------------------------------------------------------------------------------------------

def test_order_totals_include_todays_late_fee(payer, clock):
    clock.freeze(dt.datetime(2026, 1, 20, 10, 0))
    late = make_item(person_id=payer.pk, amount_fen=20000, late_fee=True, decision_date=dt.date(2026, 1, 1))
    fee = make_item(person_id=payer.pk, amount_fen=1000)
    order = services.order_create(payer_person_id=payer.pk, item_ids=[late.pk, fee.pk], actor=CITIZEN)
    assert (order.principal_fen, order.late_fee_fen, order.total_fen) == (21000, 2400, 23400)  # 4 days × 3%
    assert order.reference.startswith("440392")
    assert set(PayableItem.objects.values_list("status", flat=True)) == {"paying"}
    assert order.expires_at == clock.now() + dt.timedelta(minutes=30)


def test_an_order_does_not_outlive_the_day_its_late_fee_was_computed_for(payer, clock):
    from django.utils import timezone

    clock.freeze(timezone.make_aware(dt.datetime(2026, 1, 20, 23, 50)))
    item = make_item(person_id=payer.pk, amount_fen=20000, late_fee=True, decision_date=dt.date(2026, 1, 1))
    order = services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)
    assert order.expires_at == timezone.make_aware(dt.datetime(2026, 1, 21, 0, 0))


def test_channels_know_an_order_by_its_reference(payer):
    order = services.order_create(payer_person_id=payer.pk, item_ids=[make_item(person_id=payer.pk).pk],
                                  actor=CITIZEN)
    assert order.reference and order.out_trade_no == order.reference
    assert Order.objects.get(pk=order.pk).out_trade_no == order.reference


def test_an_item_cannot_be_in_two_orders(payer):
    item = make_item(person_id=payer.pk)
    services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)
    with pytest.raises(Conflict):
        services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)
    assert Order.objects.count() == 1


def test_someone_elses_item_is_not_found(payer):
    other = make_person()
    item = make_item(person_id=other.pk)
    with pytest.raises(NotFound):
        services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)
    with pytest.raises(InvalidInput):
        services.order_create(payer_person_id=payer.pk, item_ids=[], actor=CITIZEN)
    assert Order.objects.count() == 0


def test_closing_an_order_releases_its_items(payer):
    item = make_item(person_id=payer.pk)
    order, trade = start(payer, item)
    services.order_close(order=order, actor=CITIZEN, reason="changed my mind")
    item.refresh_from_db()
    trade.refresh_from_db()
    assert (item.status, item.order_id, trade.status) == ("unpaid", None, "closed")
    with pytest.raises(Conflict):  # the provider refuses to take money for a closed trade
        simulator.sim_trade_confirm(token=trade.token)
    services.order_create(payer_person_id=payer.pk, item_ids=[item.pk], actor=CITIZEN)  # payable again


def test_expired_orders_are_closed_by_the_sweep(payer, clock):
    clock.freeze(dt.datetime(2026, 2, 3, 10, 0))
    item = make_item(person_id=payer.pk)
    order, _ = start(payer, item)
    clock.advance(dt.timedelta(minutes=31))
    with pytest.raises(Conflict):
        services.order_pay(order=Order.objects.create(payer_person_id=payer.pk, created_at=clock.now(),
                                                      expires_at=clock.now()), actor=CITIZEN)
    assert services.orders_expire() >= 1
    order.refresh_from_db()
    assert order.status == "closed"
    assert PayableItem.objects.get(pk=item.pk).status == "unpaid"


# --- settlement ----------------------------------------------------------------------------------------------------

def test_paid_on_the_simulator_settles_once(payer, listener, django_capture_on_commit_callbacks):
    a, b = make_item(person_id=payer.pk, amount_fen=20000), make_item(person_id=payer.pk, amount_fen=5000)
    order, trade = start(payer, a, b)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.sim_trade_confirm(token=trade.token)  # the callback goes out after commit
    order.refresh_from_db()
    assert order.status == "paid"
    payment = Payment.objects.get(order=order)
    assert payment.amount_fen == 25000 and payment.trade_no.startswith("SIM") and payment.source == "callback"
    assert set(PayableItem.objects.values_list("status", flat=True)) == {"paid"}
    settled = events("payments.item_settled")
    assert sorted(e["amount_fen"] for e in settled) == [5000, 20000]
    assert {e["source_id"] for e in settled} == {a.source_id, b.source_id}
    # the same callback again, and a stale "closed" after "paid": nothing changes
    assert deliver(trade, "paid") == "duplicate"
    assert deliver(trade, "closed") == "ignored"
    assert Payment.objects.count() == 1 and len(events("payments.item_settled")) == 2
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert audit_verify().ok


def test_closed_at_the_channel_then_a_late_paid(payer, quiet_channel):
    """Out of order and late: the payer's cancel arrives, then a "paid" for the same trade (a provider race).
    The money is recorded and sent back in full; the items stay payable."""
    item = make_item(person_id=payer.pk, amount_fen=20000)
    order, trade = start(payer, item)
    assert deliver(trade, "closed") == "closed"
    assert PayableItem.objects.get(pk=item.pk).status == "unpaid"
    SimTrade.objects.filter(pk=trade.pk).update(status="paid", trade_no="SIMLATE1", paid_at=trade.created_at)
    assert deliver(trade, "paid") == "refunding"
    order.refresh_from_db()
    refund = Refund.objects.get(order=order)
    assert order.status == "closed" and Payment.objects.get(order=order).amount_fen == 20000
    assert refund.item_id is None and refund.amount_fen == 20000 and refund.status == "processing"
    assert PayableItem.objects.get(pk=item.pk).status == "unpaid"


def test_forged_and_altered_callbacks_are_refused(payer, quiet_channel):
    item = make_item(person_id=payer.pk)
    order, trade = start(payer, item)
    simulator.sim_trade_confirm(token=trade.token)
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "paid", key=b"not-the-channel-key")
    before = AuditEntry.objects.count()
    with pytest.raises(Forbidden):
        services.callback_receive(channel="sim", body=body, headers=headers)
    body, headers = simulator.sim_callback(trade, "paid")
    altered = body.replace(b'"amount_fen":20000', b'"amount_fen":1')
    with pytest.raises(Forbidden):
        services.callback_receive(channel="sim", body=altered, headers=headers)
    with pytest.raises(Forbidden):
        services.callback_receive(channel="sim", body=body, headers={TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]})
    assert Payment.objects.count() == 0 and AuditEntry.objects.count() == before
    assert Order.objects.get(pk=order.pk).status == "paying"


def test_a_signed_callback_with_the_wrong_amount_is_refused(payer, quiet_channel):
    item = make_item(person_id=payer.pk, amount_fen=20000)
    order, _trade = start(payer, item)
    payload = {"notify_id": "n1", "event": "paid", "out_trade_no": order.reference, "trade_no": "SIMX",
               "amount_fen": 100, "paid_at": "2026-01-01T10:00:00+08:00"}
    body = json.dumps(payload).encode()
    headers = signed(body)
    with pytest.raises(Conflict):
        services.callback_receive(channel="sim", body=body, headers=headers)
    assert Payment.objects.count() == 0


def test_a_signed_callback_for_a_reference_with_a_bad_check_digit_is_refused(payer):
    payload = {"notify_id": "n1", "event": "paid", "out_trade_no": "440392000000000199", "amount_fen": 100}
    body = json.dumps(payload).encode()
    headers = signed(body)
    with pytest.raises(InvalidInput):
        services.callback_receive(channel="sim", body=body, headers=headers)


# --- cancelling and refunds ----------------------------------------------------------------------------------------

def test_cancel_unpaid(payer, listener):
    item = make_item(person_id=payer.pk)
    done = services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK, reason="撤销")
    assert done.status == "cancelled"
    again = services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK, reason="x")
    assert again.status == "cancelled" and events("payments.item_refunded") == []
    with pytest.raises(NotFound):
        services.payable_cancel(source_type="violations.decision", source_id="nope", actor=CLERK, reason="x")


def test_cancel_while_being_paid_closes_the_trade(payer):
    item, sibling = make_item(person_id=payer.pk), make_item(person_id=payer.pk)
    order, trade = start(payer, item, sibling)
    services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK, reason="revoked")
    order.refresh_from_db()
    trade.refresh_from_db()
    assert order.status == "closed" and trade.status == "closed"
    assert PayableItem.objects.get(pk=item.pk).status == "cancelled"
    assert PayableItem.objects.get(pk=sibling.pk).status == "unpaid"
    with pytest.raises(Conflict):
        simulator.sim_trade_confirm(token=trade.token)


def test_cancel_when_the_payer_got_there_first_settles_then_refunds(payer, quiet_channel, listener):
    item = make_item(person_id=payer.pk, amount_fen=20000)
    order, trade = start(payer, item)
    simulator.sim_trade_confirm(token=trade.token)  # paid at the channel; its callback has not arrived yet
    done = services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK,
                                   reason="revoked")
    assert done.status == "refunded"
    assert Payment.objects.get(order=order).source == "close"
    refund = Refund.objects.get(item=item)
    assert (refund.amount_fen, refund.status) == (20000, "processing")
    assert SimRefund.objects.get(out_refund_no=refund.refund_no).amount_fen == 20000
    assert [e["amount_fen"] for e in events("payments.item_refunded")] == [20000]
    assert deliver(trade, "paid") == "duplicate"  # the late callback changes nothing


def test_refund_of_a_paid_item_through_the_channel(payer, listener, django_capture_on_commit_callbacks, clock):
    clock.freeze(dt.datetime(2026, 1, 25, 9, 0))
    item = make_item(person_id=payer.pk, amount_fen=20000, late_fee=True, decision_date=dt.date(2026, 1, 1))
    _order, trade = start(payer, item)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.sim_trade_confirm(token=trade.token)
    item.refresh_from_db()
    assert (item.status, item.paid_principal_fen, item.paid_late_fee_fen) == ("paid", 20000, 5400)
    with django_capture_on_commit_callbacks(execute=True):  # the simulator refunds asynchronously, then calls back
        services.payable_cancel(source_type=item.source_type, source_id=item.source_id, actor=CLERK,
                                reason="申诉成立 dispute upheld")
    refund = Refund.objects.get(item=item)
    assert (refund.amount_fen, refund.status) == (25400, "succeeded")
    assert PayableItem.objects.get(pk=item.pk).status == "refunded"
    assert events("payments.item_refunded") == [{"item_id": item.pk, "source_type": item.source_type,
                                                 "source_id": item.source_id, "amount_fen": 25400}]
    actions = list(AuditEntry.objects.filter(object_type="payments.refund").values_list("action", flat=True))
    assert actions == ["refund.requested", "refund.processing", "refund.succeeded"]
    assert services.refund_create(item=item, actor=CLERK, reason="again").pk == refund.pk  # once only
    assert audit_verify().ok


def test_a_failed_refund_is_visible_and_retried(payer, monkeypatch, quiet_channel):
    item = make_item(person_id=payer.pk)
    _order, trade = start(payer, item)
    simulator.sim_trade_confirm(token=trade.token)
    deliver(trade, "paid")

    def down(**kw):
        raise ConnectionError("channel unreachable")

    monkeypatch.setattr(simulator, "sim_refund_create", down)
    refund = services.refund_create(item=PayableItem.objects.get(pk=item.pk), actor=CLERK, reason="revoked")
    assert (refund.status, refund.attempts) == ("failed", 1) and "unreachable" in refund.last_error
    assert services.refunds_retry_due() == 0  # still down
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("failed", 2)
    assert services.refunds_retry_due(max_attempts=2) == 0 and Refund.objects.get(pk=refund.pk).attempts == 2
    monkeypatch.undo()
    assert services.refunds_retry_due() == 1
    refund.refresh_from_db()
    assert refund.status == "processing" and refund.attempts == 3 and refund.channel_refund_no
    assert services.refund_retry(refund=refund, actor=CLERK).status == "processing"  # nothing to retry


def test_refund_of_an_unpaid_item_is_refused(payer):
    item = make_item(person_id=payer.pk)
    with pytest.raises(Conflict):
        services.refund_create(item=item, actor=CLERK, reason="x")
    assert Refund.objects.count() == 0


# --- reconciliation ------------------------------------------------------------------------------------------------

def test_order_reconcile_settles_a_lost_callback(payer, quiet_channel):
    item = make_item(person_id=payer.pk)
    order, trade = start(payer, item)
    assert services.order_reconcile(order=order, actor=CLERK) == "in_sync"
    simulator.sim_trade_confirm(token=trade.token)  # paid, but the callback never came
    assert services.order_reconcile(order=order, actor=CLERK) == "settled"
    assert Payment.objects.get(order=order).source == "query"
    assert services.order_reconcile(order=order, actor=CLERK) == "in_sync"


def test_order_reconcile_closes_what_the_channel_closed(payer, quiet_channel):
    item = make_item(person_id=payer.pk)
    order, trade = start(payer, item)
    simulator.sim_trade_cancel(token=trade.token)  # the "closed" callback was lost
    assert services.order_reconcile(order=order, actor=CLERK) == "closed"
    assert PayableItem.objects.get(pk=item.pk).status == "unpaid"


def test_daily_report_lists_the_differences(payer, quiet_channel, clock):
    clock.freeze(dt.datetime(2026, 3, 2, 11, 0))
    day = dt.date(2026, 3, 2)
    paid, lost = make_item(person_id=payer.pk, amount_fen=20000), make_item(person_id=payer.pk, amount_fen=5000)
    o1, t1 = start(payer, paid)
    o2, t2 = start(payer, lost)
    simulator.sim_trade_confirm(token=t1.token)
    simulator.sim_trade_confirm(token=t2.token)
    deliver(t1, "paid")  # t2's callback is lost
    report = services.reconciliation_run(day=day, channel="sim")
    assert (report.ledger_count, report.ledger_total_fen) == (1, 20000)
    assert (report.channel_count, report.channel_total_fen) == (2, 25000)
    assert report.differences == [{"kind": "payment", "out_no": o2.reference, "problem": "missing_in_ledger",
                                   "ledger_fen": None, "channel_fen": 5000, "channel_no": t2.__class__.objects.get(
                                       pk=t2.pk).trade_no}]
    services.order_reconcile(order=o2, actor=CLERK)
    report = services.reconciliation_run(day=day, channel="sim")
    assert report.differences == [] and report.ledger_total_fen == report.channel_total_fen == 25000
    # a ledger entry the channel does not know about, and an amount that differs
    Payment.objects.filter(order=o1).update(amount_fen=19999)
    report = services.reconciliation_run(day=day, channel="sim")
    assert [d["problem"] for d in report.differences] == ["mismatch"]


def test_reconcile_command(payer, quiet_channel, clock, capsys):
    from django.core.management import call_command

    clock.freeze(dt.datetime(2026, 3, 2, 11, 0))
    item = make_item(person_id=payer.pk)
    _order, trade = start(payer, item)
    simulator.sim_trade_confirm(token=trade.token)
    with pytest.raises(SystemExit) as exc:
        call_command("payments_reconcile", "--date", "2026-03-02")
    assert exc.value.code == 1
    assert "missing_in_ledger" in capsys.readouterr().out
    deliver(trade, "paid")
    call_command("payments_reconcile", "--date", "2026-03-02")
    assert "0 differences" in capsys.readouterr().out




@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(min_value=1, max_value=10**7), st.integers(min_value=0, max_value=80),
                          st.booleans()), min_size=1, max_size=5))
def test_order_total_is_the_sum_of_what_each_item_owes_today(payer, clock, lines):
    clock.freeze(dt.datetime(2026, 5, 20, 10, 0))
    today = dt.date(2026, 5, 20)
    items = [make_item(person_id=payer.pk, amount_fen=amount, late_fee=late,
                       decision_date=today - dt.timedelta(days=ago)) for amount, ago, late in lines]
    order = services.order_create(payer_person_id=payer.pk, item_ids=[i.pk for i in items], actor=CITIZEN)
    fees = [late_fee_fen(fine_fen=a, decision_date=today - dt.timedelta(days=ago), on=today) if late else 0
            for a, ago, late in lines]
    assert order.principal_fen == sum(a for a, _, _ in lines)
    assert order.late_fee_fen == sum(fees)
    assert order.total_fen == order.principal_fen + order.late_fee_fen
    assert sorted(order.lines.values_list("amount_fen", flat=True)) == sorted(
        a + f for (a, _, _), f in zip(lines, fees))


def test_a_trade_number_reused_for_another_order_is_a_409_not_a_500(payer, quiet_channel):
    """A signed "paid" callback carrying the serial number of a trade that already settled another order is
    refused with 409 payments.trade_reused (a real channel stops retrying), and nothing of it is written."""
    first, first_trade = start(payer, make_item(person_id=payer.pk, source_id="T1", amount_fen=20000))
    assert deliver(simulator.sim_trade_confirm(token=first_trade.token), "paid") == "settled"
    second, second_trade = start(payer, make_item(person_id=payer.pk, source_id="T2", amount_fen=20000))
    second_trade = simulator.sim_trade_confirm(token=second_trade.token)
    second_trade.trade_no = SimTrade.objects.get(pk=first_trade.pk).trade_no  # the channel reuses a serial number
    second_trade.save(update_fields=["trade_no"])
    audits = AuditEntry.objects.count()
    with pytest.raises(Conflict) as err:
        deliver(second_trade, "paid")
    assert err.value.code == "payments.trade_reused" and err.value.status == 409
    assert Payment.objects.filter(order=second).count() == 0 and AuditEntry.objects.count() == audits
    assert Order.objects.get(pk=second.pk).status != "paid"


# --- stale, future and replayed callbacks (issue 10 item 6) ----------------------------------------------------------

def _paid_body(order, trade_no="SIMSTALE"):
    return json.dumps({"notify_id": "n-stale", "event": "paid", "out_trade_no": order.reference,
                       "trade_no": trade_no, "amount_fen": 20000, "paid_at": "2026-01-01T10:00:00+08:00"}).encode()


@pytest.mark.parametrize("at", [978307200, 0, 4102444800])  # 2001-01-01, 1970, 2100
def test_a_correctly_signed_callback_from_2001_or_the_future_is_refused(payer, quiet_channel, at):
    """The probe: a callback signed in 2001 settled an order. Signed or not, a timestamp outside the window is
    refused with 403 payments.callback_stale, and nothing is written (not even a replay-cache row)."""
    order, _trade = start(payer, make_item(person_id=payer.pk, amount_fen=20000))
    audits = AuditEntry.objects.count()
    with pytest.raises(Forbidden) as err:
        services.callback_receive(channel="sim", body=_paid_body(order), headers=signed(_paid_body(order), at=at))
    assert err.value.code == "payments.callback_stale"
    assert Payment.objects.count() == 0 and AuditEntry.objects.count() == audits
    assert not SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name).exists()
    assert Order.objects.get(pk=order.pk).status == "paying"


@given(offset=st.integers(min_value=-10_000, max_value=10_000))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_freshness_window_is_the_same_either_way(offset, settings):
    """A valid signature is accepted exactly when |timestamp − now| ≤ JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS."""
    from jiaoguan.payments.channels import verify_signed_callback
    settings.JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS = 300
    body = b'{"notify_id":"n","event":"closed","out_trade_no":"x"}'
    at = int(clock.now().timestamp()) + offset
    try:
        verify_signed_callback(body=body, headers=signed(body, at=at), key=b"dev-sim-channel-key")
        accepted = True
    except Forbidden as exc:
        assert exc.code == "payments.callback_stale"
        accepted = False
    # one second of slack for the clock moving between signing and checking
    if abs(offset) <= 299:
        assert accepted
    elif abs(offset) > 301:
        assert not accepted


def test_a_replayed_delivery_is_never_applied_twice(payer, quiet_channel):
    """The replay cache: the same signed delivery again is recognised before anything is looked at; it answers
    "duplicate" (so a channel that lost our answer stops retrying) and writes nothing."""
    order, trade = start(payer, make_item(person_id=payer.pk, amount_fen=20000))
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "closed")
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "closed"
    assert SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name, key_id="sim").count() == 1
    audits = AuditEntry.objects.count()
    assert services.callback_receive(channel="sim", body=body, headers=headers) == "duplicate"
    assert AuditEntry.objects.count() == audits


def test_a_refused_delivery_leaves_no_replay_key(payer, quiet_channel):
    """The key is remembered in the transaction that applies the callback: one that fails (an unknown order) can be
    delivered again once the cause is fixed."""
    body = json.dumps({"notify_id": "n1", "event": "paid", "out_trade_no": "440392000000000199",
                       "amount_fen": 100}).encode()
    with pytest.raises(InvalidInput):
        services.callback_receive(channel="sim", body=body, headers=signed(body))
    assert not SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name).exists()


def test_old_replay_keys_are_purged(payer, quiet_channel, settings):
    settings.JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS = 300
    order, trade = start(payer, make_item(person_id=payer.pk, amount_fen=20000))
    trade = simulator.sim_trade_confirm(token=trade.token)
    assert deliver(trade, "paid") == "settled"
    assert services.callback_replays_purge() == 0
    SignedRequestNonce.objects.filter(scheme=CALLBACK_REPLAYS.name).update(
        seen_at=clock.now() - dt.timedelta(seconds=601))
    assert services.callback_replays_purge() == 1
