"""Postal carriers behind one interface.

A carrier books an item (returns its tracking number), answers a query for one of our bookings, and sends
signed status callbacks to ``POST /api/v1/postal/callbacks/<carrier>``. ``carrier_get(name)`` returns the
adapter. Adapters are named in JIAOGUAN_POSTAL_CARRIER_ADAPTERS (name → class) and instantiated at start-up, so
this app never imports one: the local simulator (``simulator.py``, its adapter ``SimulatorCarrier`` included) is
the "sim" carrier, used in development and tests, and speaks the same protocol a real carrier adapter would
(signed callbacks included). A real carrier (EMS, SF) is one more adapter class with the same methods, and one
more line in that setting.

The callback protocol (shared by the simulator, which signs, and the adapter, which verifies):

    POST /api/v1/postal/callbacks/sim
    Content-Type: application/json
    X-Carrier-Key:       the key id (so keys can be rotated: old and new both verify for a while)
    X-Carrier-Timestamp: Unix seconds when signed; refused if more than JIAOGUAN_POSTAL_CALLBACK_MAX_SKEW_SECONDS away
    X-Carrier-Nonce:     8–64 ASCII characters, unique per callback; a repeat is refused (replay)
    X-Carrier-Signature: hex HMAC-SHA256(secret, f"{timestamp}\\n{nonce}\\n" + raw body)

    {"event_id": "…", "reference": "<our booking reference>", "tracking_number": "EA123456785CN",
     "status": "accepted" | "in_transit" | "out_for_delivery" | "delivered" | "returned",
     "occurred_at": "2026-10-01T09:30:00+08:00", "location": "深圳市福田区", "note": "…"}

Refusals are 401 (unsigned, unknown key, bad signature, stale, replayed) and change nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from jiaoguan.core import clock
from jiaoguan.core.adapters import Adapters
from jiaoguan.core.errors import Conflict, DomainError, InvalidInput, NotFound, Refusal, Unauthenticated
from jiaoguan.core.i18n import Bi
from jiaoguan.postal import rules
from jiaoguan.postal.tracking import is_tracking_number

KEY_HEADER = "X-Carrier-Key"
TIMESTAMP_HEADER = "X-Carrier-Timestamp"
NONCE_HEADER = "X-Carrier-Nonce"
SIGNATURE_HEADER = "X-Carrier-Signature"

@dataclass(frozen=True)
class CarrierParcel:
    """The carrier's view of one of our bookings."""

    reference: str
    tracking_number: str
    status: str


@dataclass(frozen=True)
class CarrierEvent:
    """A verified callback."""

    key_id: str
    nonce: str
    event_id: str
    reference: str
    tracking_number: str
    status: str
    occurred_at: dt.datetime
    location: str = ""
    note: str = ""


class CarrierError(DomainError):
    """The carrier could not be reached or refused the booking: nothing is committed, the sweep tries again."""

    status = 502


class Carrier(Protocol):
    name: str
    label: Bi | str

    def book(self, *, reference: str, recipient_name: str, recipient_phone: str, address: str, item_zh: str,
             item_en: str) -> str:
        """Book a pick-up/posting; returns the tracking number. Idempotent per ``reference``: booking the same
        reference again returns the same number (so a retry after a lost answer never posts twice)."""

    def query(self, *, reference: str) -> CarrierParcel | None:
        """Our booking as the carrier knows it, or None if it never arrived."""

    def verify_callback(self, *, body: bytes, headers) -> CarrierEvent:
        """Check the signature and freshness and parse the body; raises Unauthenticated or InvalidInput.
        The nonce is returned for the caller to store in the transaction that applies the event."""


# --- signing ---------------------------------------------------------------------------------------------------

def sign(*, secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}\n{nonce}\n".encode("ascii") + body,
                    hashlib.sha256).hexdigest()


def signed_headers(*, key_id: str, secret: str, body: bytes, nonce: str, timestamp: int | None = None) -> dict:
    ts = str(int(clock.now().timestamp()) if timestamp is None else timestamp)
    return {"Content-Type": "application/json", KEY_HEADER: key_id, TIMESTAMP_HEADER: ts, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: sign(secret=secret, timestamp=ts, nonce=nonce, body=body)}


def _refuse(code: str, zh: str, en: str) -> Unauthenticated:
    return Unauthenticated(f"postal.callback_{code}", zh, en)


def _bad(field: str = "body") -> InvalidInput:
    return InvalidInput("postal.callback_invalid", "回调内容格式不正确", "The callback body is not valid", field=field)


def _header(headers, name: str) -> str:
    value = headers.get(name) if hasattr(headers, "get") else None
    return value.strip() if isinstance(value, str) else ""


def max_skew_seconds() -> int:
    return int(settings.JIAOGUAN_POSTAL_CALLBACK_MAX_SKEW_SECONDS)


def verify_signed(*, headers, body: bytes, keys: dict[str, str]) -> tuple[str, str]:
    """Check a signed callback against ``keys`` (key id → secret); returns (key id, nonce)."""
    key_id, ts = _header(headers, KEY_HEADER), _header(headers, TIMESTAMP_HEADER)
    nonce, signature = _header(headers, NONCE_HEADER), _header(headers, SIGNATURE_HEADER)
    if not (key_id and ts and nonce and signature):
        raise _refuse("unsigned", "回调未签名", "The callback is not signed")
    secret = keys.get(key_id)
    if not secret or not ts.isascii() or not nonce.isascii():
        raise _refuse("signature", "回调签名无效", "The callback signature is not valid")
    if not hmac.compare_digest(sign(secret=secret, timestamp=ts, nonce=nonce, body=body), signature.lower()):
        raise _refuse("signature", "回调签名无效", "The callback signature is not valid")
    if not ts.isdigit() or abs(clock.now().timestamp() - int(ts)) > max_skew_seconds():
        raise _refuse("stale", "回调已过期（时间戳与服务器时间相差过大）", "The callback is stale (timestamp too far from now)")
    if not 8 <= len(nonce) <= 64:
        raise _refuse("nonce", "回调随机数无效", "The callback nonce is not valid")
    return key_id, nonce


def parse_event(*, body: bytes, key_id: str, nonce: str) -> CarrierEvent:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad() from None
    if not isinstance(data, dict):
        raise _bad()
    strings = {}
    for name, limit, required in (("event_id", 64, True), ("reference", 24, False), ("tracking_number", 32, True),
                                  ("status", 20, True), ("location", 100, False), ("note", 200, False)):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) > limit or (required and not value):
            raise _bad(name)
        strings[name] = value
    if strings["status"] not in rules.CARRIER_STATUSES:
        raise _bad("status")
    if not is_tracking_number(strings["tracking_number"]):
        raise _bad("tracking_number")
    try:
        occurred = dt.datetime.fromisoformat(str(data.get("occurred_at", "")))
    except ValueError:
        raise _bad("occurred_at") from None
    if occurred.tzinfo is None:
        raise _bad("occurred_at")
    return CarrierEvent(key_id=key_id, nonce=nonce, occurred_at=occurred, **strings)


# --- the adapters: named in JIAOGUAN_POSTAL_CARRIER_ADAPTERS, instantiated at start-up ---------------------------

_CARRIERS: Adapters[Carrier] = Adapters("postal carrier")


def adapters_load() -> None:
    """Instantiate the adapters of JIAOGUAN_POSTAL_CARRIER_ADAPTERS (name → dotted path of the class); called by
    PostalConfig.ready, so the app never imports an adapter's module (the simulator's among them)."""
    _CARRIERS.load(settings.JIAOGUAN_POSTAL_CARRIER_ADAPTERS)


def carrier_label(name: str) -> Bi | str:
    """The carrier's label (its name if no adapter of that name is installed)."""
    return _CARRIERS.label(name)


def _production() -> bool:
    return bool(settings.PRODUCTION)


def configured_carrier() -> str:
    """JIAOGUAN_POSTAL_CARRIER; unset means the simulator in development and nothing in production."""
    name = settings.JIAOGUAN_POSTAL_CARRIER
    if name is None:
        name = "" if _production() else "sim"
    return str(name)


def configuration_problems() -> list[str]:
    """What makes the postal configuration unsafe or unusable (checked at start-up by checks.py): an unknown
    carrier, or the simulator in production. No carrier at all is a valid deployment: delivery by post is then
    not offered (delivery_available() is False and the services that send by post say so before a citizen
    applies)."""
    name = configured_carrier()
    problems = []
    if name and name not in _CARRIERS:
        problems.append(f"JIAOGUAN_POSTAL_CARRIER={name!r} is not a known carrier ({', '.join(sorted(_CARRIERS))})")
    if _production() and name == "sim":
        problems.append("the postal simulator (JIAOGUAN_POSTAL_CARRIER=sim) delivers nothing: not in production")
    return problems


def delivery_available() -> bool:
    """Can an item be sent by post now: a carrier is configured, known, and not the simulator in production."""
    name = configured_carrier()
    return bool(name) and name in carrier_names()


UNAVAILABLE = Refusal("postal.unavailable", "暂不提供邮寄服务，请到业务窗口办理",
                      "Delivery by post is not offered here; please apply at a service counter")


def unavailable() -> Conflict:
    """The error of a send by post when delivery_available() is False (a 409, never a 500)."""
    return Conflict(UNAVAILABLE.code, UNAVAILABLE.zh, UNAVAILABLE.en)


def carrier_names() -> list[str]:
    """Carriers whose callbacks we accept: the configured one, never the simulator in production."""
    name = configured_carrier()
    return [name] if name in _CARRIERS and not (_production() and name == "sim") else []


def carrier_get(name: str | None = None) -> Carrier:
    """The adapter for ``name`` (default: the configured carrier). A named carrier that is unknown or disabled —
    the simulator in production among them — is NotFound (a caller's 404, as the payment simulator is); no
    configured carrier is the Conflict ``postal.unavailable`` (delivery by post is not offered: a 409, never a
    500); a configured simulator in production is ImproperlyConfigured (a deployment error, never a citizen's)."""
    if name is None:
        name = configured_carrier()
        if not name:
            raise unavailable()
        if _production() and name == "sim":
            raise ImproperlyConfigured("the postal simulator is refused in production")
    if name not in carrier_names():
        raise NotFound("postal.carrier_unknown", "不支持该承运方", "Unknown postal carrier", field="carrier")
    return _CARRIERS[name]
