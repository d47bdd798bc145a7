"""A local payment provider for development and tests, with its own ledger (SimTrade, SimRefund).

It behaves like a real one: the merchant (us) creates a trade and redirects the payer to its pay page
(/pay/sim/<token>/), where the payer confirms or cancels; the outcome reaches us later as a signed
asynchronous callback (HMAC-SHA256 with the channel key, see channels.sign) to /api/v1/payments/callback/sim,
delivered by a Celery task after commit (eager without a broker). Refunds are accepted at once and completed
asynchronously, again with a callback. Closing a trade that the payer has just paid answers "paid", as real
providers do. ``sim_settlement_lines(day)`` is its daily settlement file.

It stands apart from the payments app, as a provider would: the app reaches it only through its channel
interface (``SimulatorChannel`` below, named in JIAOGUAN_PAY_CHANNEL_ADAPTERS), and its pay page is a portal page
(``portal/payments/views.py``) found here by URL name. Its Celery tasks (callbacks, refunds) are defined here.

Settings: JIAOGUAN_PAY_SIM_KEY (signing key), JIAOGUAN_PAY_SIM_NOTIFY_URL (deliver callbacks over HTTP to this
URL; empty = in-process, straight to the same service the endpoint calls), JIAOGUAN_PAY_SIM_AUTO_NOTIFY
(False: callbacks are only built by ``sim_callback``, so tests can deliver them late, twice or out of order).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import urllib.request

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, InvalidInput, NotFound
from jiaoguan.core.i18n import bi
from jiaoguan.payments.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackEvent,
    ChannelTrade,
    SettlementLine,
    sign,
    verify_signed_callback,
)
from jiaoguan.payments.models import SimRefund, SimTrade
from jiaoguan.payments.services import callback_receive

log = logging.getLogger(__name__)


def sim_key() -> bytes:
    return str(settings.JIAOGUAN_PAY_SIM_KEY).encode("utf-8")


def _unknown() -> NotFound:
    return NotFound("payments.sim_trade_unknown", "交易不存在", "No such trade")


def sim_pay_url(token: str) -> str:
    return reverse("payments:sim_pay", args=[token])


def sim_trade_create(*, out_trade_no: str, amount_fen: int, subject: str) -> str:
    """Create (or, for the same order and amount, return) a waiting trade; returns its token."""
    if amount_fen <= 0:
        raise InvalidInput("payments.sim_amount", "金额必须大于零", "The amount must be positive", field="amount_fen")
    with transaction.atomic():
        trade = SimTrade.objects.select_for_update().filter(out_trade_no=out_trade_no).first()
        if trade is not None:
            if trade.amount_fen != amount_fen or trade.status != SimTrade.Status.WAITING:
                raise Conflict("payments.sim_trade_exists", "交易已存在", "The trade already exists")
            return trade.token
        trade = SimTrade.objects.create(token=secrets.token_urlsafe(24), out_trade_no=out_trade_no,
                                        amount_fen=amount_fen, subject=subject[:200], created_at=clock.now())
        return trade.token


def sim_trade_by_token(token: str) -> SimTrade:
    trade = SimTrade.objects.filter(token=token).first()
    if trade is None:
        raise _unknown()
    return trade


def _as_channel_trade(trade: SimTrade | None) -> ChannelTrade:
    if trade is None:
        return ChannelTrade(status="unknown")
    return ChannelTrade(status=trade.status, trade_no=trade.trade_no, amount_fen=trade.amount_fen,
                        paid_at=trade.paid_at)


def sim_trade_confirm(*, token: str) -> SimTrade:
    """The payer pays on the simulator's page. Paying twice is harmless; a closed trade cannot be paid."""
    with transaction.atomic():
        trade = SimTrade.objects.select_for_update().filter(token=token).first()
        if trade is None:
            raise _unknown()
        if trade.status == SimTrade.Status.PAID:
            return trade
        if trade.status == SimTrade.Status.CLOSED:
            raise Conflict("payments.sim_trade_closed", "该交易已关闭，不能支付", "This trade is closed and cannot be paid")
        trade.status = SimTrade.Status.PAID
        trade.paid_at = clock.now()
        trade.trade_no = f"SIM{clock.localdate(trade.paid_at):%Y%m%d}{trade.pk:010d}"
        trade.save(update_fields=["status", "paid_at", "trade_no"])
        _notify_after_commit(trade, "paid")
        return trade


def sim_trade_cancel(*, token: str) -> SimTrade:
    """The payer gives up on the simulator's page."""
    with transaction.atomic():
        trade = SimTrade.objects.select_for_update().filter(token=token).first()
        if trade is None:
            raise _unknown()
        if trade.status == SimTrade.Status.WAITING:
            trade.status = SimTrade.Status.CLOSED
            trade.closed_at = clock.now()
            trade.save(update_fields=["status", "closed_at"])
            _notify_after_commit(trade, "closed")
        return trade


def sim_trade_query(*, out_trade_no: str) -> ChannelTrade:
    return _as_channel_trade(SimTrade.objects.filter(out_trade_no=out_trade_no).first())


def sim_trade_close(*, out_trade_no: str) -> ChannelTrade:
    """The merchant closes a trade: a waiting one closes; a paid one stays paid and says so."""
    with transaction.atomic():
        trade = SimTrade.objects.select_for_update().filter(out_trade_no=out_trade_no).first()
        if trade is None:
            return ChannelTrade(status="closed")  # never started at the channel: nothing to close
        if trade.status == SimTrade.Status.WAITING:
            trade.status = SimTrade.Status.CLOSED
            trade.closed_at = clock.now()
            trade.save(update_fields=["status", "closed_at"])
        return _as_channel_trade(trade)


def sim_refund_create(*, out_trade_no: str, out_refund_no: str, amount_fen: int) -> str:
    """Accept a refund of a paid trade (idempotent per out_refund_no); it succeeds asynchronously."""
    with transaction.atomic():
        trade = SimTrade.objects.select_for_update().filter(out_trade_no=out_trade_no).first()
        if trade is None or trade.status != SimTrade.Status.PAID:
            raise Conflict("payments.sim_refund_unpaid", "该交易未支付，不能退款", "The trade is not paid; nothing to refund")
        existing = SimRefund.objects.filter(out_refund_no=out_refund_no).first()
        if existing is not None:
            return existing.refund_no
        refunded = sum(trade.refunds.values_list("amount_fen", flat=True))
        if amount_fen <= 0 or refunded + amount_fen > trade.amount_fen:
            raise Conflict("payments.sim_refund_amount", "退款金额超过可退金额", "The refund exceeds what was paid")
        refund = SimRefund.objects.create(trade=trade, out_refund_no=out_refund_no, amount_fen=amount_fen,
                                          refund_no=f"SIMR{secrets.token_hex(8).upper()}", created_at=clock.now())
        transaction.on_commit(lambda: _refund_process_later(refund.pk))
        return refund.refund_no


def _refund_process_later(refund_id: int) -> None:
    try:
        sim_refund_process.delay(refund_id)
    except Exception:  # broker down: the refund stays processing; sim_refunds_process_pending picks it up
        log.exception("could not queue simulator refund %s", refund_id)


def sim_refund_complete(*, refund_id: int) -> SimRefund | None:
    """The provider finishes a refund and tells the merchant."""
    with transaction.atomic():
        refund = SimRefund.objects.select_for_update().filter(pk=refund_id).select_related("trade").first()
        if refund is None or refund.status != SimRefund.Status.PROCESSING:
            return refund
        refund.status = SimRefund.Status.SUCCEEDED
        refund.succeeded_at = clock.now()
        refund.save(update_fields=["status", "succeeded_at"])
        _notify_after_commit(refund.trade, "refunded", refund=refund)
        return refund


def sim_settlement_lines(*, day: dt.date) -> list[SettlementLine]:
    """The simulator's settlement file for one day (Asia/Shanghai): trades paid and refunds completed."""
    start, end = clock.day_bounds(day)
    lines = [SettlementLine("payment", t.out_trade_no, t.trade_no, t.amount_fen)
             for t in SimTrade.objects.filter(status=SimTrade.Status.PAID, paid_at__gte=start, paid_at__lt=end)
             .order_by("pk")]
    lines += [SettlementLine("refund", r.out_refund_no, r.refund_no, r.amount_fen)
              for r in SimRefund.objects.filter(status=SimRefund.Status.SUCCEEDED, succeeded_at__gte=start,
                                                succeeded_at__lt=end).order_by("pk")]
    return lines


# --- callbacks -----------------------------------------------------------------------------------------------------

def sim_callback(trade: SimTrade, event: str, *, refund: SimRefund | None = None,
                 key: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    """The signed callback the simulator sends for ``event``: (body, headers)."""
    payload = {
        "notify_id": secrets.token_hex(8),
        "event": event,
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "amount_fen": trade.amount_fen,
        "paid_at": clock.isoformat(trade.paid_at),
    }
    if refund is not None:
        payload.update(out_refund_no=refund.out_refund_no, refund_no=refund.refund_no, amount_fen=refund.amount_fen)
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(clock.now().timestamp()))
    return body, {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(key=key or sim_key(), timestamp=timestamp,
                                                                        body=body)}


def _notify_after_commit(trade: SimTrade, event: str, *, refund: SimRefund | None = None) -> None:
    if not settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY:
        return
    body, headers = sim_callback(trade, event, refund=refund)

    def send() -> None:
        try:
            sim_notify.delay(body.decode("utf-8"), headers)
        except Exception:  # a provider retries; here reconciliation (order_reconcile) catches up
            log.exception("could not queue simulator callback")

    transaction.on_commit(send)


def sim_deliver(body: bytes, headers: dict[str, str]) -> None:
    """Deliver one callback: over HTTP when JIAOGUAN_PAY_SIM_NOTIFY_URL is set, else in-process."""
    url = settings.JIAOGUAN_PAY_SIM_NOTIFY_URL
    if url:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return
    callback_receive(channel="sim", body=body, headers=headers)


# --- its Celery tasks (names unchanged since they lived in payments/tasks.py) ---------------------------------------

@shared_task(name="payments.sim_notify", ignore_result=True, autoretry_for=(OSError,), retry_backoff=5,
             max_retries=5)
def sim_notify(body: str, headers: dict) -> None:
    sim_deliver(body.encode("utf-8"), headers)


@shared_task(name="payments.sim_refund_process", ignore_result=True)
def sim_refund_process(refund_id: int) -> None:
    sim_refund_complete(refund_id=refund_id)


# --- its adapter: the app's side of the "sim" channel ----------------------------------------------------------------

class SimulatorChannel:
    """Adapter for the local simulator. It calls the simulator's functions where a real adapter would make
    HTTPS requests; callbacks come back over HTTP (or in-process) to /api/v1/payments/callback/sim."""

    name = "sim"
    label = bi("模拟支付", "Simulator")

    def start(self, *, out_trade_no: str, amount_fen: int, subject: str) -> tuple[str, str]:
        token = sim_trade_create(out_trade_no=out_trade_no, amount_fen=amount_fen, subject=subject)
        return token, sim_pay_url(token)

    def query(self, *, out_trade_no: str) -> ChannelTrade:
        return sim_trade_query(out_trade_no=out_trade_no)

    def close(self, *, out_trade_no: str) -> ChannelTrade:
        return sim_trade_close(out_trade_no=out_trade_no)

    def refund(self, *, out_trade_no: str, out_refund_no: str, amount_fen: int) -> str:
        return sim_refund_create(out_trade_no=out_trade_no, out_refund_no=out_refund_no, amount_fen=amount_fen)

    def verify_callback(self, *, body: bytes, headers) -> CallbackEvent:
        return verify_signed_callback(body=body, headers=headers, key=sim_key())

    def settlement_file(self, *, day: dt.date) -> list[SettlementLine]:
        return sim_settlement_lines(day=day)
