"""Writes of the postal app: creating and booking shipments, their status transitions, carrier callbacks and the
booking retry sweep.

Every status change goes through ``_shipment_move`` (checks the table in rules.py, stamps the time, records the
timeline, audits, emits "postal.shipment_changed"). Locking: the Shipment row, always, before anything else of it.
This app notifies nobody: the app that asked for the shipment reacts to the outbox event.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, Unauthenticated, not_found
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.masking import mask_address, mask_name, mask_phone
from jiaoguan.core.outbox import event_emit
from jiaoguan.postal import rules
from jiaoguan.postal.carriers import CarrierEvent, carrier_get, max_skew_seconds
from jiaoguan.postal.models import CallbackNonce, Shipment, ShipmentEvent
from jiaoguan.postal.tracking import validate_tracking_number

log = logging.getLogger(__name__)

TOPIC = "postal.shipment_changed"
NAME_MAX = 50
ADDRESS_MIN, ADDRESS_MAX = 8, 200
ITEM_MAX = 100
_SPACES = re.compile(r"\s+")


def rebook_minutes() -> int:
    """Minutes before a booking the carrier has not accepted is tried again (doubling after each failure)."""
    return int(settings.JIAOGUAN_POSTAL_REBOOK_MINUTES)


def booking_max_attempts() -> int:
    return int(settings.JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS)


def booking_backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed booking: N, 2N, 4N … minutes, at most a day."""
    return dt.timedelta(minutes=min(rebook_minutes() * 2 ** max(attempts - 1, 0), 24 * 60))


# --- the one transition function --------------------------------------------------------------------------------

def _payload(shipment: Shipment) -> dict:
    return {"shipment_id": shipment.pk, "tracking_number": shipment.tracking_number or "",
            "status": shipment.status, "source_type": shipment.source_type, "source_id": shipment.source_id}


def _shipment_move(shipment: Shipment, new: str, *, actor: Actor, at: dt.datetime | None = None, reason: str = "",
                   extra: dict | None = None, event: CarrierEvent | None = None) -> None:
    """Move a locked shipment to ``new``: stamp ``<new>_at``, record the timeline, audit, emit the event."""
    old = shipment.status
    if not rules.MACHINE.allows(old, new):
        raise Conflict("postal.shipment_status", f"邮件当前状态不允许此操作（{old} → {new}）",
                       f"The shipment cannot go from {old} to {new}")
    now = clock.now()
    at = at or now
    changes = dict(extra or {})
    changes["status"] = new
    changes["updated_at"] = now
    if new != rules.CREATED:
        changes[f"{new}_at"] = at
    if new != rules.CREATED:
        changes.setdefault("next_booking_at", None)  # the sweep only looks at shipments waiting for a booking
    for k, v in changes.items():
        setattr(shipment, k, v)
    shipment.save(update_fields=list(changes))
    ShipmentEvent.objects.create(
        shipment=shipment, status=new, occurred_at=at, recorded_at=now, changed=True,
        source=ShipmentEvent.Source.CARRIER if event else ShipmentEvent.Source.US,
        carrier_event_id=event.event_id if event else "", location=event.location if event else "",
        note=(event.note if event else reason)[:200])
    audit_record(actor=actor, action=f"shipment.{new}", obj=shipment, old={"status": old},
                 new={"status": new, "tracking_number": shipment.tracking_number or "",
                      **({"carrier_event": event.event_id} if event else {}),
                      **({"last_error": changes["last_error"]} if changes.get("last_error") else {})},
                 reason=reason)
    event_emit(topic=TOPIC, payload=_payload(shipment))


# --- creating and booking -----------------------------------------------------------------------------------------

def _text(value: object, *, field: str, zh: str, en: str, max_len: int, min_len: int = 1) -> str:
    text = _SPACES.sub(" ", str(value or "")).strip()
    if not text:
        raise InvalidInput("postal.required", f"请填写{zh}", f"Enter the {en}", field=field)
    if len(text) < min_len:
        raise InvalidInput("postal.too_short", f"{zh}太短，至少{min_len}个字", f"The {en} is too short (at least "
                           f"{min_len} characters)", field=field)
    if len(text) > max_len:
        raise InvalidInput("postal.too_long", f"{zh}太长，最多{max_len}个字", f"The {en} is too long (at most "
                           f"{max_len} characters)", field=field)
    return text


def _validated(**raw) -> dict:
    checks = {
        "recipient_name": lambda v: _text(v, field="recipient_name", zh="收件人姓名", en="recipient's name",
                                          max_len=NAME_MAX),
        "recipient_phone": lambda v: validate_phone(str(v or ""), field="recipient_phone"),
        "address": lambda v: _text(v, field="address", zh="收件地址", en="delivery address", max_len=ADDRESS_MAX,
                                   min_len=ADDRESS_MIN),
        "item_zh": lambda v: _text(v, field="item_zh", zh="邮寄物品名称", en="item name (Chinese)", max_len=ITEM_MAX),
        "item_en": lambda v: _text(v, field="item_en", zh="邮寄物品英文名称", en="item name (English)", max_len=ITEM_MAX),
        "source_type": lambda v: _text(v, field="source_type", zh="来源类型", en="source type", max_len=60),
        "source_id": lambda v: _text(v, field="source_id", zh="来源编号", en="source id", max_len=64),
    }
    clean: dict[str, str] = {}
    errors: dict[str, tuple[str, str]] = {}
    first: InvalidInput | None = None
    for name, check in checks.items():
        try:
            clean[name] = check(raw[name])
        except InvalidInput as exc:
            first = first or exc
            errors.update(exc.fields)
    if len(errors) == 1 and first is not None:  # (it is: an error comes with its exception)
        raise first
    if errors:
        raise InvalidInput("postal.invalid", "邮寄信息有误，请检查", "Some delivery details are not valid", fields=errors)
    return clean


def _new_reference() -> str:
    return f"JGP{clock.today():%y%m%d}{secrets.token_hex(5).upper()}"


def shipment_create(*, recipient_name: str, recipient_phone: str, address: str, item_zh: str, item_en: str,
                    source_type: str, source_id: str, actor: Actor) -> Shipment:
    """Send an item by post for a source record (e.g. an approved application). Idempotent per
    (source_type, source_id): a repeat returns the existing shipment unchanged. Books it with the configured
    carrier at once; if the carrier does not accept it, it stays "created" and the sweep tries again with
    backoff, ending "failed" (visible, with the last error) after JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS."""
    data = _validated(recipient_name=recipient_name, recipient_phone=recipient_phone, address=address,
                      item_zh=item_zh, item_en=item_en, source_type=source_type, source_id=source_id)
    existing = Shipment.objects.filter(source_type=data["source_type"], source_id=data["source_id"]).first()
    if existing is not None:
        return existing
    # refuses a missing or unknown carrier, or the simulator in production, before anything is written
    carrier = carrier_get().name
    now = clock.now()
    try:
        with transaction.atomic():
            shipment = Shipment.objects.create(reference=_new_reference(), carrier=carrier, created_at=now,
                                               updated_at=now, next_booking_at=now + booking_backoff(1), **data)
            ShipmentEvent.objects.create(shipment=shipment, status=rules.CREATED, occurred_at=now, recorded_at=now,
                                         source=ShipmentEvent.Source.US)
            audit_record(actor=actor, action="shipment.create", obj=shipment,
                         new={"reference": shipment.reference, "carrier": carrier,
                              "source": f"{data['source_type']}:{data['source_id']}",
                              "recipient_name": mask_name(data["recipient_name"]),
                              "recipient_phone": mask_phone(data["recipient_phone"]),
                              "address": mask_address(data["address"]), "item": data["item_zh"]})
    except IntegrityError:  # created at the same moment by another session
        existing = Shipment.objects.filter(source_type=data["source_type"], source_id=data["source_id"]).first()
        if existing is None:
            raise
        return existing
    return _book(shipment.pk, actor=actor)


def _locked(shipment_id: int) -> Shipment:
    """The shipment's row, locked (core.locks); DoesNotExist if there is no such shipment."""
    shipment = locks.lock_row(Shipment, shipment_id)
    if shipment is None:
        raise Shipment.DoesNotExist(f"no shipment {shipment_id}")
    return shipment


def _first(rows: list[Shipment]) -> Shipment | None:
    return rows[0] if rows else None


def _book(shipment_id: int, *, actor: Actor) -> Shipment:
    """One booking attempt for a shipment still "created". The carrier is asked first whether it already has
    our reference (an earlier answer may have been lost), then asked to book it (idempotent per reference)."""
    with transaction.atomic():
        # not core.locks: shipment_create books inside its caller's transaction, which may already hold the audit
        # head (an application's approval posting the result), and core.locks refuses any lock after that. The row
        # is then one this transaction inserted, so the lock waits for no one; from the sweep or a retry it is a
        # plain one-row lock, taken first.
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if shipment.status != rules.CREATED:
            return shipment
        status = rules.ACCEPTED
        try:
            with transaction.atomic():
                adapter = carrier_get(shipment.carrier)
                parcel = adapter.query(reference=shipment.reference) if shipment.booking_attempts else None
                if parcel is not None:
                    number, status = parcel.tracking_number, parcel.status
                else:
                    name, phone, address = shipment.recipient_name, shipment.recipient_phone, shipment.address
                    # NOT NULL columns (core's EncryptedField reads as str | None whatever its null=)
                    assert name is not None and phone is not None and address is not None
                    number = adapter.book(reference=shipment.reference, recipient_name=name,
                                          recipient_phone=phone, address=address,
                                          item_zh=shipment.item_zh, item_en=shipment.item_en)
                number = validate_tracking_number(number)
                if Shipment.objects.filter(tracking_number=number).exclude(pk=shipment.pk).exists():
                    raise Conflict("postal.tracking_taken", "承运方返回的邮件号已被使用",
                                   "The carrier returned a tracking number already in use")
        except Exception as exc:  # noqa: BLE001 - any carrier failure is retried, then ends in a visible failed state
            _booking_failed(shipment, exc, actor=actor)
            return shipment
        if not rules.carrier_event_moves(rules.CREATED, status):
            status = rules.ACCEPTED
        _shipment_move(shipment, status, actor=actor, reason="承运方已接单 booked with the carrier",
                       extra={"tracking_number": number, "booking_attempts": shipment.booking_attempts + 1,
                              "last_error": ""})
        return shipment


def _booking_failed(shipment: Shipment, exc: Exception, *, actor: Actor) -> None:
    attempts = shipment.booking_attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:300]
    log.warning("postal booking %s failed (attempt %s): %s", shipment.reference, attempts, error)
    if attempts >= booking_max_attempts():
        _shipment_move(shipment, rules.FAILED, actor=actor, reason="多次交寄未被承运方接受 the carrier never accepted it",
                       extra={"booking_attempts": attempts, "last_error": error})
        return
    changes = {"booking_attempts": attempts, "last_error": error,
               "next_booking_at": clock.now() + booking_backoff(attempts), "updated_at": clock.now()}
    for k, v in changes.items():
        setattr(shipment, k, v)
    shipment.save(update_fields=list(changes))
    audit_record(actor=actor, action="shipment.booking_failed", obj=shipment,
                 new={"attempts": attempts, "last_error": error, "next_booking_at": changes["next_booking_at"]})


def shipment_retry(*, shipment: Shipment, actor: Actor) -> Shipment:
    """Staff try a failed booking again (failed → created, attempts reset), at once."""
    with transaction.atomic():
        shipment = _locked(shipment.pk)
        if shipment.status != rules.FAILED:
            raise Conflict("postal.not_failed", "只有交寄失败的邮件可以重新交寄", "Only a failed booking can be retried")
        _shipment_move(shipment, rules.CREATED, actor=actor, reason="重新交寄 booking retried",
                       extra={"booking_attempts": 0, "next_booking_at": clock.now() + booking_backoff(1)})
    return _book(shipment.pk, actor=actor)


def shipments_booking_retry_due(*, limit: int = 100) -> int:
    """The periodic sweep: shipments still not accepted by the carrier whose retry time has come are queried /
    booked again. Returns how many were accepted."""
    ids = list(Shipment.objects.filter(status=rules.CREATED, next_booking_at__lte=clock.now())
               .order_by("next_booking_at", "pk").values_list("pk", flat=True)[:limit])
    accepted = 0
    for shipment_id in ids:
        try:
            shipment = _book(shipment_id, actor=Actor.system("postal.booking_sweep"))
        except Exception:  # one bad row must not stop the sweep
            log.exception("postal booking sweep failed for shipment %s", shipment_id)
            continue
        accepted += shipment.status != rules.CREATED and shipment.status != rules.FAILED
    return accepted


# --- carrier callbacks ----------------------------------------------------------------------------------------------

def callback_receive(*, carrier: str, body: bytes, headers) -> str:
    """A carrier's signed status callback. Unsigned, forged, stale or replayed → 401 and nothing written.
    Applied idempotently: a repeated event id → "duplicate"; an event that would move the status backwards
    (late, out of order) or out of a final state → "recorded" on the timeline only; else "applied"."""
    adapter = carrier_get(carrier)
    event = adapter.verify_callback(body=body, headers=headers)
    now = clock.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                CallbackNonce.objects.create(carrier=carrier, key_id=event.key_id, value=event.nonce, seen_at=now)
        except IntegrityError:
            raise Unauthenticated("postal.callback_replayed", "重复的回调（随机数已使用）",
                                  "Replayed callback: the nonce was already used") from None
        shipment = _first(locks.lock_rows(Shipment.objects.filter(carrier=carrier,
                                                                  tracking_number=event.tracking_number)))
        if shipment is None and event.reference:  # our booking's answer was lost: the carrier still knows it
            shipment = _first(locks.lock_rows(Shipment.objects.filter(carrier=carrier, reference=event.reference,
                                                                      tracking_number__isnull=True)))
        if shipment is None:
            raise not_found("邮件", "shipment")
        if event.event_id and shipment.events.filter(carrier_event_id=event.event_id).exists():
            return "duplicate"
        if not rules.carrier_event_moves(shipment.status, event.status):
            ShipmentEvent.objects.create(shipment=shipment, status=event.status, occurred_at=event.occurred_at,
                                         recorded_at=now, source=ShipmentEvent.Source.CARRIER, changed=False,
                                         carrier_event_id=event.event_id, location=event.location,
                                         note=event.note[:200])
            return "recorded"
        extra = {} if shipment.tracking_number else {"tracking_number": event.tracking_number}
        _shipment_move(shipment, event.status, actor=Actor.system(f"carrier:{carrier}"), at=event.occurred_at,
                       extra=extra, event=event, reason=event.note)
        return "applied"


def callback_nonces_purge() -> int:
    """Forget nonces older than twice the freshness window (a callback that old is refused as stale anyway)."""
    cutoff = clock.now() - dt.timedelta(seconds=2 * max_skew_seconds())
    deleted, _ = CallbackNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
