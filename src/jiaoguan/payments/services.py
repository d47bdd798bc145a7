"""Writes of the payments app: payable items, orders, settlement (exactly once), refunds, reconciliation.

Locking order, everywhere: an Order row first, then its items (in primary-key order). Settlement, closing an
order and cancelling an item being paid all lock the order first, so they serialise and never deadlock.
Amounts are computed after the lock, never from an earlier read.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading

from django.conf import settings
from django.db import IntegrityError, transaction

from jiaoguan.core import clock, locks, signing
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, not_found
from jiaoguan.core.outbox import event_emit, records_changed
from jiaoguan.payments import rules
from jiaoguan.payments.channels import CALLBACK_REPLAYS, ChannelTrade, channel_get, default_channel
from jiaoguan.payments.models import (
    Order,
    OrderLine,
    PayableItem,
    Payment,
    ReconciliationReport,
    Refund,
)
from jiaoguan.payments.reference import (
    KIND_ITEM,
    KIND_ORDER,
    reference_make,
    reference_parse,
)
from jiaoguan.payments.selectors import late_fee_rules, payable_amount_due

log = logging.getLogger(__name__)

MAX_ITEMS_PER_ORDER = 20
S = PayableItem.Status
OS = Order.Status
RS = Refund.Status


def _channel_actor(channel: str) -> Actor:
    return Actor.system(f"channel:{channel}")


# --- payable item transitions (one function each; the machine is rules.ITEM_MACHINE) -----------------------------

def _item_move(item: PayableItem, new: str, *, actor: Actor, reason: str = "", extra: dict | None = None) -> None:
    old = item.status
    if not rules.ITEM_MACHINE.allows(old, new):
        raise Conflict("payments.item_status", f"该款项当前状态不允许此操作（{old}）",
                       f"The item cannot go from {old} to {new}")
    item.status = new
    item.updated_at = clock.now()
    fields = ["status", "updated_at", *(extra or {}).keys()]
    for k, v in (extra or {}).items():
        setattr(item, k, v)
    item.save(update_fields=fields)
    if S.UNPAID in (old, new):  # the payer's "payments due" (jiaoguan.records) counts the unpaid items only, so a
        records_changed(person_ids=[item.payer_person_id])  # settlement (paying -> paid) or refund changes nothing
    audit_record(actor=actor, action=f"payable.{new}", obj=item, old={"status": old},
                 new={"status": new, **{k: (v.pk if hasattr(v, "pk") else v) for k, v in (extra or {}).items()}},
                 reason=reason, subject_person_id=item.payer_person_id)


def item_mark_paying(item: PayableItem, *, order: Order, actor: Actor) -> None:
    _item_move(item, S.PAYING, actor=actor, extra={"order": order})


def item_release(item: PayableItem, *, actor: Actor, reason: str) -> None:
    """paying -> unpaid: its order was closed unpaid."""
    _item_move(item, S.UNPAID, actor=actor, reason=reason, extra={"order": None})


def item_mark_paid(item: PayableItem, *, line: OrderLine, actor: Actor) -> None:
    _item_move(item, S.PAID, actor=actor, extra={"paid_principal_fen": line.principal_fen,
                                                 "paid_late_fee_fen": line.late_fee_fen,
                                                 "settled_at": clock.now()})
    event_emit(topic="payments.item_settled", payload={"item_id": item.pk, "source_type": item.source_type,
                                                       "source_id": item.source_id, "amount_fen": line.amount_fen})


def item_mark_cancelled(item: PayableItem, *, actor: Actor, reason: str) -> None:
    _item_move(item, S.CANCELLED, actor=actor, reason=reason)


def item_mark_refunded(item: PayableItem, *, actor: Actor, reason: str) -> None:
    _item_move(item, S.REFUNDED, actor=actor, reason=reason)
    event_emit(topic="payments.item_refunded", payload={"item_id": item.pk, "source_type": item.source_type,
                                                        "source_id": item.source_id,
                                                        "amount_fen": item.paid_total_fen})


# --- order transitions ---------------------------------------------------------------------------------------------

def _order_move(order: Order, new: str, *, actor: Actor, reason: str = "", extra: dict | None = None) -> None:
    old = order.status
    if not rules.ORDER_MACHINE.allows(old, new):
        raise Conflict("payments.order_status", f"订单当前状态不允许此操作（{old}）",
                       f"The order cannot go from {old} to {new}")
    order.status = new
    for k, v in (extra or {}).items():
        setattr(order, k, v)
    order.save(update_fields=["status", *(extra or {}).keys()])
    audit_record(actor=actor, action=f"order.{new}", obj=order, old={"status": old},
                 new={"status": new, **(extra or {})}, reason=reason, subject_person_id=order.payer_person_id)


# --- payable items -------------------------------------------------------------------------------------------------

def payable_create(*, kind: str, source_type: str, source_id: str, payer_person_id: int, amount_fen: int,
                   description_zh: str, description_en: str, decision_date: dt.date | None = None,
                   late_fee: bool = False) -> PayableItem:
    """A payable item for a decision or fee; idempotent per (source_type, source_id): a repeat returns the
    existing item unchanged."""
    source_id = str(source_id)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise InvalidInput("payments.amount_invalid", "金额必须是不小于零的整数（分）",
                           "The amount must be a non-negative whole number of fen", field="amount_fen")
    if late_fee and decision_date is None:
        raise InvalidInput("payments.decision_date_required", "计算滞纳金需要决定日期",
                           "A late fee needs the decision date", field="decision_date")
    existing = PayableItem.objects.filter(source_type=source_type, source_id=source_id).first()
    if existing is not None:
        return existing
    now = clock.now()
    try:
        with transaction.atomic():
            item = PayableItem.objects.create(
                kind=kind, source_type=source_type, source_id=source_id, payer_person_id=payer_person_id,
                amount_fen=amount_fen, description_zh=description_zh[:200], description_en=description_en[:200],
                decision_date=decision_date, late_fee=late_fee, created_at=now, updated_at=now)
            item.reference = reference_make(kind=KIND_ITEM, sequence=item.pk)
            item.save(update_fields=["reference"])
            records_changed(person_ids=[payer_person_id])
            audit_record(actor=Actor.system("payments"), action="payable.create", obj=item,
                         new={"kind": kind, "source": f"{source_type}:{source_id}", "amount_fen": amount_fen,
                              "reference": item.reference}, subject_person_id=payer_person_id)
    except IntegrityError:  # created at the same moment by another session
        existing = PayableItem.objects.filter(source_type=source_type, source_id=source_id).first()
        if existing is None:
            raise
        return existing
    return item


def payable_lock(*, source_type: str, source_id: str) -> None:
    """Lock what is owed for a source (its order, then the item: the order of every payments path) inside the
    caller's transaction, before the caller writes its first audit row; a later ``payable_cancel`` of the same
    source then takes the same locks again without waiting (lock order: docs/architecture.md)."""
    for _ in range(5):
        peek = PayableItem.objects.filter(source_type=source_type, source_id=str(source_id)).first()
        if peek is None:
            return
        if peek.order_id:
            locks.lock_rows(Order, [peek.order_id])
        item = locks.lock_row(PayableItem, peek.pk)
        if item is None or item.order_id == peek.order_id:
            return
    raise Conflict("payments.busy", "款项正在处理，请稍后再试", "The item is busy; try again")


def payable_cancel(*, source_type: str, source_id: str, actor: Actor, reason: str) -> PayableItem:
    """Cancel what is owed for a source (its decision was revoked). Unpaid: cancelled. Being paid: the channel
    trade is closed and the item cancelled — unless the payer got there first, in which case the payment is
    settled and refunded. Paid: refunded through the channel. Already cancelled or refunded: returned as is."""
    source_id = str(source_id)
    for _ in range(5):
        with transaction.atomic():
            peek = PayableItem.objects.filter(source_type=source_type, source_id=source_id).first()
            if peek is None:
                raise not_found("缴款记录", "payable item")
            order = Order.objects.select_for_update().get(pk=peek.order_id) if peek.order_id else None
            item = PayableItem.objects.select_for_update().get(pk=peek.pk)
            if item.order_id != (order.pk if order else None):
                continue  # it moved between orders while we were locking: look again
            if item.status == S.UNPAID:
                item_mark_cancelled(item, actor=actor, reason=reason)
            elif item.status == S.PAYING:
                assert order is not None
                outcome = _order_close_locked(order, actor=actor, reason=reason, cancel_item=item)
                if outcome == "paid":
                    item.refresh_from_db()
                    _refund_item_locked(item, actor=actor, reason=reason)
            elif item.status == S.PAID:
                _refund_item_locked(item, actor=actor, reason=reason)
            item.refresh_from_db()
            return item
    raise Conflict("payments.busy", "款项正在处理，请稍后再试", "The item is busy; try again")


# --- orders --------------------------------------------------------------------------------------------------------

def _order_expiry(now: dt.datetime) -> dt.datetime:
    """Orders live a configurable number of minutes, but never past local midnight: the late fee in the
    order's total was computed for today."""
    minutes = int(settings.JIAOGUAN_PAY_ORDER_MINUTES)
    midnight = clock.local_midnight(clock.localdate(now) + dt.timedelta(days=1))
    return min(now + dt.timedelta(minutes=minutes), midnight)


def order_create(*, payer_person_id: int, item_ids: list[int], actor: Actor) -> Order:
    """An order paying ``item_ids`` (all unpaid, all the payer's). Items are locked, then checked, then their
    amounts (late fee as of today) fixed into the order's lines."""
    ids = sorted({int(i) for i in item_ids})
    if not ids:
        raise InvalidInput("payments.no_items", "请选择要缴纳的款项", "Choose at least one item to pay", field="item_ids")
    if len(ids) > MAX_ITEMS_PER_ORDER:
        raise InvalidInput("payments.too_many_items", f"一次最多缴纳{MAX_ITEMS_PER_ORDER}笔",
                           f"At most {MAX_ITEMS_PER_ORDER} items per order", field="item_ids")
    with transaction.atomic():
        items = list(PayableItem.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(items) != len(ids) or any(i.payer_person_id != payer_person_id for i in items):
            raise not_found("缴款记录", "payable item")
        for item in items:
            if item.status != S.UNPAID:
                raise Conflict("payments.item_not_payable", f"款项 {item.reference} 当前不可缴纳",
                               f"Item {item.reference} cannot be paid now", field="item_ids")
        now = clock.now()
        today = clock.localdate(now)
        order = Order.objects.create(payer_person_id=payer_person_id, created_at=now, expires_at=_order_expiry(now))
        order.reference = reference_make(kind=KIND_ORDER, sequence=order.pk)
        lines = []
        for item in items:
            principal, fee, total = payable_amount_due(item=item, on=today)
            lines.append(OrderLine(order=order, item=item, principal_fen=principal, late_fee_fen=fee, amount_fen=total))
        OrderLine.objects.bulk_create(lines)
        order.principal_fen = sum(line.principal_fen for line in lines)
        order.late_fee_fen = sum(line.late_fee_fen for line in lines)
        order.total_fen = order.principal_fen + order.late_fee_fen
        if order.total_fen <= 0:
            raise InvalidInput("payments.nothing_to_pay", "应缴金额为零，无需缴费", "There is nothing to pay",
                               field="item_ids")
        order.save(update_fields=["reference", "principal_fen", "late_fee_fen", "total_fen"])
        audit_record(actor=actor, action="order.create", obj=order, subject_person_id=payer_person_id,
                     new={"reference": order.reference, "items": ids, "total_fen": order.total_fen,
                          "late_fee_fen": order.late_fee_fen})
        for item in items:
            item_mark_paying(item, order=order, actor=actor)
        return order


def order_pay(*, order: Order, actor: Actor, channel: str | None = None) -> str:
    """Start paying an order at a channel; returns the URL of the channel's pay page (the same one again for
    an order already being paid)."""
    channel = channel or default_channel()
    adapter = channel_get(channel)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == OS.PAYING and order.channel == channel:
            token, url = adapter.start(out_trade_no=order.out_trade_no, amount_fen=order.total_fen,
                                       subject=_subject(order))
            return url
        if order.status != OS.OPEN:
            raise Conflict("payments.order_not_open", "订单已支付或已关闭", "The order is already paid or closed")
        if order.expires_at <= clock.now():
            raise Conflict("payments.order_expired", "订单已过期，请重新下单", "The order has expired; create a new one")
        token, url = adapter.start(out_trade_no=order.out_trade_no, amount_fen=order.total_fen, subject=_subject(order))
        _order_move(order, OS.PAYING, actor=actor, extra={"channel": channel, "channel_token": token})
        return url


def _subject(order: Order) -> str:
    first = order.lines.select_related("item").order_by("pk").first()
    count = order.lines.count()
    text = first.item.description_zh if first else "交通违法罚款"
    return text if count == 1 else f"{text} 等{count}笔"


def _order_close_locked(order: Order, *, actor: Actor, reason: str, cancel_item: PayableItem | None = None) -> str:
    """Close a locked open/paying order. Asks the channel first: if the payer has already paid, the order is
    settled instead and "paid" returned; otherwise the items go back to unpaid (``cancel_item`` to cancelled)
    and "closed" is returned."""
    if order.status == OS.PAYING:
        trade = channel_get(order.channel).close(out_trade_no=order.out_trade_no)
        if trade.status == "paid":
            _settle_locked(order, trade=trade, channel=order.channel, source="close")
            return "paid"
    if order.status not in (OS.OPEN, OS.PAYING):
        return order.status
    items = _locked_items(order)  # order, then its items: the lock order of every payments path
    _order_move(order, OS.CLOSED, actor=actor, reason=reason, extra={"closed_at": clock.now(),
                                                                     "close_reason": reason[:200]})
    for item in items:
        if item.order_id != order.pk or item.status != S.PAYING:
            continue
        if cancel_item is not None and item.pk == cancel_item.pk:
            item_mark_cancelled(item, actor=actor, reason=reason)
        else:
            item_release(item, actor=actor, reason=reason)
    return "closed"


def _locked_items(order: Order, lines: list[OrderLine] | None = None) -> list[PayableItem]:
    if lines is None:
        ids = list(order.lines.values_list("item_id", flat=True))
    else:
        ids = [line.item_id for line in lines]
    return list(PayableItem.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def order_close(*, order: Order, actor: Actor, reason: str) -> Order:
    """The payer gives up, or the order expired: close it (or settle it, if the channel says it was paid)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        _order_close_locked(order, actor=actor, reason=reason)
        order.refresh_from_db()
        return order


def orders_expire(*, limit: int = 200) -> int:
    """Close orders past their expiry time (the periodic task)."""
    closed = 0
    ids = list(Order.objects.filter(status__in=[OS.OPEN, OS.PAYING], expires_at__lte=clock.now())
               .values_list("pk", flat=True)[:limit])
    for order_id in ids:
        try:
            order = order_close(order=Order(pk=order_id), actor=Actor.system("payments.expiry"), reason="订单超时 expired")
        except Exception:  # one failing order (channel down) must not stop the sweep
            log.exception("could not expire order %s", order_id)
            continue
        closed += order.status == OS.CLOSED
    return closed


# --- settlement (exactly once) -------------------------------------------------------------------------------------

def _settle_locked(order: Order, *, trade: ChannelTrade, channel: str, source: str) -> str:
    """Record the channel's payment of a locked order. Returns "settled", "duplicate" or "refunding" (paid after
    the order was closed: the whole amount goes back)."""
    if Payment.objects.filter(order=order).exists():
        return "duplicate"
    if trade.amount_fen != order.total_fen:
        raise Conflict("payments.amount_mismatch", "支付金额与订单金额不符", "The paid amount differs from the order total")
    order_lines = list(order.lines.all())  # read once: the items to lock and the amounts they were paid
    items = _locked_items(order, order_lines)  # order, then its items: the lock order of every payments path
    actor = _channel_actor(channel)
    now = clock.now()
    trade_no = trade.trade_no or f"{channel}-{order.pk}"
    try:
        with transaction.atomic():  # a savepoint: a clash is refused below, not a broken transaction
            payment = Payment.objects.create(order=order, channel=channel, trade_no=trade_no,
                                             amount_fen=trade.amount_fen, channel_paid_at=trade.paid_at or now,
                                             settled_at=now, source=source)
    except IntegrityError:
        # The channel's serial number already settled another order: never settle twice on one trade. A clear
        # 409 (a real channel stops retrying); the reconciliation against the channel's statement shows it.
        log.warning("payments: %s trade %s reused for order %s; refused", channel, trade_no, order.reference)
        raise Conflict("payments.trade_reused", "该支付流水号已用于其他订单",
                       "This payment's trade number already settled another order", status=409) from None
    audit_record(actor=actor, action="payment.settle", obj=payment, subject_person_id=order.payer_person_id,
                 new={"order": order.reference, "trade_no": payment.trade_no, "amount_fen": payment.amount_fen,
                      "source": source})
    if order.status == OS.CLOSED:
        # The payer paid a trade we had already closed (a provider race): keep the money on record, send it back.
        _refund_submit(_refund_new(order=order, item=None, amount_fen=payment.amount_fen, channel=channel,
                                   reason="订单关闭后到账，原路退回 paid after the order was closed", actor=actor))
        return "refunding"
    _order_move(order, OS.PAID, actor=actor, extra={"paid_at": now})
    lines = {line.item_id: line for line in order_lines}
    for item in items:
        line = lines[item.pk]
        if item.status == S.PAYING and item.order_id == order.pk:
            item_mark_paid(item, line=line, actor=actor)
        else:  # no longer owed through this order (cancelled meanwhile): refund its share
            _refund_submit(_refund_new(order=order, item=item,
                                       amount_fen=line.amount_fen, channel=channel, actor=actor,
                                       reason="款项已撤销，原路退回 item cancelled before payment"))
    return "settled"


def callback_receive(*, channel: str, body: bytes, headers) -> str:
    """A channel's asynchronous callback: verified (forged, altered, stale or from the future → 403, nothing
    written), then applied idempotently. Late, repeated and out-of-order callbacks ("closed" after "paid") are
    harmless. Each delivery's replay key (its signature) is remembered in the transaction that applies it: a
    delivery seen before is never applied again and answers "duplicate" (a channel that resends after losing our
    answer stops retrying; a replayed "closed" cannot close an order that is being paid again).

    The common repeat — a "paid" for an order this trade already settled, a "refunded" for a refund already
    done — is answered "duplicate" from one plain SELECT before any lock, write or transaction (the answer the
    locked path gives it too: a settlement or a completed refund is final); a settlement this process has already
    seen committed is answered from memory, without the database. Everything else takes the locked
    path, where the authoritative check is made under the order's lock (docs/performance.md §3)."""
    adapter = channel_get(channel)
    event = adapter.verify_callback(body=body, headers=headers)
    if event.event == "paid" and _settled_with(reference_parse(event.out_trade_no, kind=KIND_ORDER).code,
                                               channel=channel, trade_no=event.trade_no):
        return "duplicate"
    if event.event == "refunded" and Refund.objects.filter(
            refund_no=event.out_refund_no, channel=channel, status=RS.SUCCEEDED).exists():
        return "duplicate"
    with transaction.atomic():
        if event.replay_key and not CALLBACK_REPLAYS.nonce_store.remember(
                scheme=CALLBACK_REPLAYS, key_id=channel, owner=None, nonce=event.replay_key[:64]):
            # a concurrent identical delivery waits on the store's unique index until the first one commits
            return "duplicate"
        if event.event == "refunded":
            return refund_complete(channel=channel, out_refund_no=event.out_refund_no, refund_no=event.refund_no)
        ref = reference_parse(event.out_trade_no, kind=KIND_ORDER)
        order = Order.objects.select_for_update().filter(reference=ref.code).first()
        if order is None:
            raise not_found("订单", "order")
        if event.event == "paid":
            trade = ChannelTrade(status="paid", trade_no=event.trade_no, amount_fen=event.amount_fen,
                                 paid_at=event.paid_at)
            return _settle_locked(order, trade=trade, channel=channel, source="callback")
        # "closed": the payer gave up at the channel. Ignored once paid or closed (out of order / repeated).
        if order.status in (OS.OPEN, OS.PAYING):
            return _order_close_locked(order, actor=_channel_actor(channel), reason="支付渠道关闭 closed at the channel")
        return "ignored"


# Trades seen settled, per process: (order reference, channel, trade number). A committed settlement is final (a
# Payment row is never changed or deleted), so a repeat of its callback may be answered without the database at
# all. Only what a read outside any transaction saw (committed) is remembered, and only trades that name their
# number; bounded, the oldest forgotten first.
_SETTLED_SEEN: dict[tuple[str, str, str], None] = {}
_SETTLED_SEEN_MAX = 20_000
_SETTLED_SEEN_LOCK = threading.Lock()


def _settled_with(reference: str, *, channel: str, trade_no: str) -> bool:
    """Whether the order ``reference`` is already settled by this channel trade: from this process's memory, else
    one SELECT (no lock, no transaction). A trade that names no number settled as ``<channel>-<order id>``
    (``_settle_locked``). A True is final; a False (not settled yet, or by another trade) goes the locked way."""
    key = (reference, channel, trade_no)
    if trade_no and key in _SETTLED_SEEN:
        return True
    row = Payment.objects.filter(order__reference=reference).values_list("channel", "trade_no", "order_id").first()
    if row is None:
        return False
    paid_channel, paid_trade_no, order_id = row
    settled = paid_channel == channel and paid_trade_no == (trade_no or f"{channel}-{order_id}")
    if settled and trade_no and not transaction.get_connection().in_atomic_block:
        with _SETTLED_SEEN_LOCK:
            if len(_SETTLED_SEEN) >= _SETTLED_SEEN_MAX:
                del _SETTLED_SEEN[next(iter(_SETTLED_SEEN))]
            _SETTLED_SEEN[key] = None
    return settled


def callback_replays_purge() -> int:
    """Forget replay keys older than twice the freshness window: a delivery that old is refused as stale anyway."""
    return signing.nonces_purge(scheme=CALLBACK_REPLAYS)


def order_reconcile(*, order: Order, actor: Actor) -> str:
    """Compare one order with the channel (order query) and repair our side: a trade paid at the channel but
    not here is settled; a trade closed there is closed here. Returns what was done."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.channel:
            return "not_started"
        trade = channel_get(order.channel).query(out_trade_no=order.out_trade_no)
        if trade.status == "paid":
            outcome = _settle_locked(order, trade=trade, channel=order.channel, source="query")
            return "in_sync" if outcome == "duplicate" else outcome
        if trade.status in ("closed", "unknown") and order.status == OS.PAYING:
            return _order_close_locked(order, actor=actor, reason="对账：渠道未支付 reconciled: not paid at the channel")
        return "in_sync"


# --- refunds -------------------------------------------------------------------------------------------------------

def _refund_new(*, order: Order, item: PayableItem | None, amount_fen: int, channel: str, reason: str,
                actor: Actor) -> Refund:
    refund = Refund.objects.create(refund_no=f"RF{clock.today():%Y%m%d}{secrets.token_hex(6).upper()}", order=order,
                                   item=item, amount_fen=amount_fen, reason=reason[:200], channel=channel,
                                   created_at=clock.now())
    audit_record(actor=actor, action="refund.requested", obj=refund, subject_person_id=order.payer_person_id,
                 new={"order": order.reference, "item": item.pk if item else None, "amount_fen": amount_fen},
                 reason=reason)
    return refund


def _refund_move(refund: Refund, new: str, *, actor: Actor, extra: dict | None = None, reason: str = "") -> None:
    old = refund.status
    if not rules.REFUND_MACHINE.allows(old, new):
        raise Conflict("payments.refund_status", "退款当前状态不允许此操作", f"The refund cannot go from {old} to {new}")
    refund.status = new
    for k, v in (extra or {}).items():
        setattr(refund, k, v)
    refund.save(update_fields=["status", *(extra or {}).keys()])
    audit_record(actor=actor, action=f"refund.{new}", obj=refund, old={"status": old},
                 new={"status": new, **{k: v for k, v in (extra or {}).items() if k != "completed_at"}},
                 reason=reason, subject_person_id=refund.order.payer_person_id)


def _refund_submit(refund: Refund) -> Refund:
    """Hand a requested (or failed) refund to its channel. A channel error leaves it "failed", visible and
    retried by refund_retry; the money owed is never forgotten."""
    actor = _channel_actor(refund.channel)
    try:
        with transaction.atomic():
            number = channel_get(refund.channel).refund(out_trade_no=refund.order.out_trade_no,
                                                        out_refund_no=refund.refund_no, amount_fen=refund.amount_fen)
    except Exception as exc:  # noqa: BLE001 - any channel failure ends in a visible failed state
        failure = {"attempts": refund.attempts + 1, "last_error": f"{type(exc).__name__}: {exc}"[:300]}
        if refund.status == RS.FAILED:  # a retry that failed again: same state, one more attempt on record
            Refund.objects.filter(pk=refund.pk).update(**failure)
            for k, v in failure.items():
                setattr(refund, k, v)
            audit_record(actor=actor, action="refund.retry_failed", obj=refund, new=failure,
                         subject_person_id=refund.order.payer_person_id)
        else:
            _refund_move(refund, RS.FAILED, actor=actor, extra=failure)
        return refund
    _refund_move(refund, RS.PROCESSING, actor=actor, extra={"attempts": refund.attempts + 1,
                                                            "channel_refund_no": number, "last_error": ""})
    return refund


def _refund_item_locked(item: PayableItem, *, actor: Actor, reason: str) -> Refund:
    assert item.order_id is not None  # a paid item was paid through an order (callers hold it locked)
    order = Order.objects.get(pk=item.order_id)
    refund = _refund_new(order=order, item=item, amount_fen=item.paid_total_fen,
                         channel=Payment.objects.get(order=order).channel, reason=reason, actor=actor)
    item_mark_refunded(item, actor=actor, reason=reason)
    return _refund_submit(refund)


def refund_create(*, item: PayableItem, actor: Actor, reason: str) -> Refund:
    """Refund a paid item in full (principal and late fee) through the channel that took the money."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=item.order_id) if item.order_id else None
        item = PayableItem.objects.select_for_update().get(pk=item.pk)
        if item.status == S.REFUNDED:
            return item.refund
        if item.status != S.PAID or order is None:
            raise Conflict("payments.item_not_paid", "该款项未缴纳，无需退款", "The item is not paid; nothing to refund")
        return _refund_item_locked(item, actor=actor, reason=reason)


def refund_retry(*, refund: Refund, actor: Actor) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        if refund.status != RS.FAILED:
            return refund
        return _refund_submit(refund)



def refunds_retry_due(*, max_attempts: int | None = None, limit: int = 100) -> int:
    """The periodic sweep: hand failed refunds to their channel again until they are accepted; after
    ``max_attempts`` (JIAOGUAN_PAY_REFUND_MAX_ATTEMPTS) they stay failed for staff to see."""
    max_attempts = max_attempts or int(settings.JIAOGUAN_PAY_REFUND_MAX_ATTEMPTS)
    ids = list(Refund.objects.filter(status=RS.FAILED, attempts__lt=max_attempts).order_by("pk")
               .values_list("pk", flat=True)[:limit])
    accepted = 0
    for refund_id in ids:
        refund = refund_retry(refund=Refund(pk=refund_id), actor=Actor.system("payments.refund_sweep"))
        accepted += refund.status != RS.FAILED
    return accepted


def refund_complete(*, channel: str, out_refund_no: str, refund_no: str) -> str:
    """The channel reports a refund done (callback or query): processing -> succeeded, once."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("order").filter(
            refund_no=out_refund_no, channel=channel).first()
        if refund is None:
            raise not_found("退款", "refund")
        if refund.status == RS.SUCCEEDED:
            return "duplicate"
        if refund.status == RS.REQUESTED or refund.status == RS.FAILED:
            # the channel accepted it although our submit did not see the answer: it is processing there
            _refund_move(refund, RS.PROCESSING, actor=_channel_actor(channel), extra={"channel_refund_no": refund_no})
        _refund_move(refund, RS.SUCCEEDED, actor=_channel_actor(channel), extra={"completed_at": clock.now()})
        event_emit(topic="payments.refund_succeeded", payload={"refund_id": refund.pk,
                                                              "payer_person_id": refund.order.payer_person_id})
        return "refunded"


# --- the late fee starts -------------------------------------------------------------------------------------------

def late_fee_notices_send(*, on: dt.date | None = None, chunk: int = 200) -> int:
    """The periodic job of the day a late fee starts: every unpaid item whose late fee is charged on ``on``
    (today, the local date) and whose payer has not been told yet is marked told and gets one
    ``payments.late_fee_started`` event (the notice is sent by its handler after commit). Once per item however
    often it runs; an item being paid is left for a later run (its order has fixed the amount). Returns how many
    items were marked."""
    on = on or clock.today()
    grace, _percent = late_fee_rules()
    # rules.late_days > 0 exactly when decision_date < on - grace (checked again below with the rule itself)
    due = (PayableItem.objects.filter(status=S.UNPAID, late_fee=True, late_fee_notice_at__isnull=True,
                                      decision_date__lt=on - dt.timedelta(days=grace))
           .order_by("pk").values_list("pk", flat=True))
    marked, after = 0, 0
    while True:
        ids = list(due.filter(pk__gt=after)[:chunk])
        if not ids:
            return marked
        after = ids[-1]
        for item_id in ids:
            with transaction.atomic():  # one item locked at a time, nothing else: no lock-order cycle
                item = (PayableItem.objects.select_for_update(skip_locked=True)
                        .filter(pk=item_id, status=S.UNPAID, late_fee_notice_at__isnull=True).first())
                if item is None or item.decision_date is None or rules.late_days(
                        decision_date=item.decision_date, on=on, grace_days=grace) <= 0:
                    continue
                item.late_fee_notice_at = clock.now()
                item.save(update_fields=["late_fee_notice_at"])
                event_emit(topic="payments.late_fee_started", payload={"item_id": item.pk, "on": on.isoformat()})
                marked += 1


# --- daily reconciliation ------------------------------------------------------------------------------------------

def reconciliation_run(*, day: dt.date, channel: str) -> ReconciliationReport:
    """The day's ledger (payments settled and refunds completed, by the channel's time) against the channel's
    settlement file; every difference listed. Re-running a day replaces its report."""
    adapter = channel_get(channel)
    lines = adapter.settlement_file(day=day)
    theirs = {(line.kind, line.out_no): line for line in lines}
    ours: dict[tuple[str, str], tuple[str, int]] = {}
    start, end = clock.day_bounds(day)
    paid = Payment.objects.filter(channel=channel, channel_paid_at__gte=start, channel_paid_at__lt=end)
    for p in paid.select_related("order"):
        ours[("payment", p.order.out_trade_no)] = (p.trade_no, p.amount_fen)
    for r in Refund.objects.filter(channel=channel, status=RS.SUCCEEDED, completed_at__gte=start, completed_at__lt=end):
        ours[("refund", r.refund_no)] = (r.channel_refund_no, r.amount_fen)
    differences = []
    for key in sorted(set(ours) | set(theirs)):
        kind, out_no = key
        mine, line = ours.get(key), theirs.get(key)
        if line is None:
            assert mine is not None  # the key is ours or theirs
            differences.append({"kind": kind, "out_no": out_no, "problem": "missing_at_channel",
                                "ledger_fen": mine[1], "channel_fen": None})
        elif mine is None:
            differences.append({"kind": kind, "out_no": out_no, "problem": "missing_in_ledger",
                                "ledger_fen": None, "channel_fen": line.amount_fen, "channel_no": line.channel_no})
        elif mine[1] != line.amount_fen or mine[0] != line.channel_no:
            differences.append({"kind": kind, "out_no": out_no, "problem": "mismatch", "ledger_fen": mine[1],
                                "channel_fen": line.amount_fen, "ledger_no": mine[0], "channel_no": line.channel_no})

    def net(entries) -> int:
        return sum(a if k == "payment" else -a for k, a in entries)

    with transaction.atomic():
        report, _ = ReconciliationReport.objects.update_or_create(
            day=day, channel=channel,
            defaults={"ledger_count": len(ours), "ledger_total_fen": net((k[0], v[1]) for k, v in ours.items()),
                      "channel_count": len(lines), "channel_total_fen": net((x.kind, x.amount_fen) for x in lines),
                      "differences": differences, "created_at": clock.now()})
        audit_record(actor=Actor.system("payments.reconciliation"), action="reconciliation.run", obj=report,
                     new={"day": day.isoformat(), "channel": channel, "differences": len(differences)})
    return report
