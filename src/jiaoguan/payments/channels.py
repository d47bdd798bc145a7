"""Payment channels behind one interface.

A channel starts a payment (a redirect URL to its pay page), answers queries, closes unpaid trades, refunds,
verifies its own signed asynchronous callbacks and hands over a daily settlement file. ``channel_get(name)``
returns the adapter. Adapters are named in JIAOGUAN_PAY_CHANNEL_ADAPTERS (name → class) and instantiated at
start-up, so this app never imports one: the local simulator (``simulator.py``, its adapter ``SimulatorChannel``
included) is the "sim" channel, used in development and tests, and speaks the same protocol a real provider would
(HMAC-SHA256 signed callbacks, ``verify_signed_callback``). A real provider is one more adapter class with the
same methods, and one more line in that setting.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from jiaoguan.core import clock, signing
from jiaoguan.core.adapters import Adapters
from jiaoguan.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from jiaoguan.core.i18n import Bi


@dataclass(frozen=True)
class ChannelTrade:
    """The channel's view of one trade."""

    status: str  # "waiting", "paid", "closed", "unknown"
    trade_no: str = ""
    amount_fen: int = 0
    paid_at: dt.datetime | None = None


@dataclass(frozen=True)
class CallbackEvent:
    """A verified callback: "paid", "closed" or "refunded"."""

    notify_id: str
    event: str
    out_trade_no: str
    trade_no: str = ""
    amount_fen: int = 0
    paid_at: dt.datetime | None = None
    out_refund_no: str = ""
    refund_no: str = ""
    # What makes this delivery unique at the channel (its signature, or its nonce where the channel sends one):
    # remembered by callback_receive, so a replayed delivery is never applied twice.
    replay_key: str = ""


@dataclass(frozen=True)
class SettlementLine:
    """One line of a channel's daily settlement file."""

    kind: str  # "payment" or "refund"
    out_no: str  # our order reference or our refund number
    channel_no: str
    amount_fen: int


class ChannelError(DomainError):
    """The channel could not be reached or refused the request: nothing is committed, try again later."""

    status = 502


class Channel(Protocol):
    name: str
    label: Bi | str

    def start(self, *, out_trade_no: str, amount_fen: int, subject: str) -> tuple[str, str]:
        """Create the trade at the channel; returns (channel token, redirect URL of the pay page)."""

    def query(self, *, out_trade_no: str) -> ChannelTrade: ...

    def close(self, *, out_trade_no: str) -> ChannelTrade:
        """Close an unpaid trade. Returns the resulting trade: "closed", or "paid" if the payer got there first."""

    def refund(self, *, out_trade_no: str, out_refund_no: str, amount_fen: int) -> str:
        """Ask for a refund (accepted, completed later by a "refunded" callback); returns the channel's number."""

    def verify_callback(self, *, body: bytes, headers) -> CallbackEvent:
        """Check the signature and parse the body; raises Forbidden (forged/altered) or InvalidInput."""

    def settlement_file(self, *, day: dt.date) -> list[SettlementLine]: ...


# --- the signed-callback protocol: the simulator signs, its adapter verifies -----------------------------------------

SIGNATURE_HEADER = "X-Pay-Signature"
TIMESTAMP_HEADER = "X-Pay-Timestamp"


def sign(*, key: bytes, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>." + body, hex."""
    return hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def _forged() -> Forbidden:
    return Forbidden("payments.callback_signature", "回调签名无效，已拒绝", "The callback signature is not valid")


def _bad_body(field: str = "body") -> InvalidInput:
    return InvalidInput("payments.callback_invalid", "回调内容格式不正确", "The callback body is not valid", field=field)


def max_skew_seconds() -> int:
    """How far a callback's timestamp may be from now, either way (the same window as postal callbacks)."""
    return int(settings.JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS)


# The replay cache of callback deliveries: core.signing's nonce store, one scope for every channel (the key id is the
# channel's name). Only its store, window and purge are used: the channels sign with their own protocol.
CALLBACK_REPLAYS = signing.Scheme(name="payments.callback", header_prefix="X-Pay", error_prefix="payments",
                                  max_skew_seconds=max_skew_seconds)


def _stale() -> Forbidden:
    return Forbidden("payments.callback_stale", "回调已过期或时间戳无效（与服务器时间相差过大），已拒绝",
                     "The callback is stale or its timestamp is not valid (too far from now)")


def _header(headers, name: str) -> str:
    value = headers.get(name) if hasattr(headers, "get") else None
    return value if isinstance(value, str) else ""


def _parse_time(value) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _bad_body("paid_at") from None
    if parsed.tzinfo is None:
        raise _bad_body("paid_at")
    return parsed


def verify_signed_callback(*, body: bytes, headers, key: bytes) -> CallbackEvent:
    """Check a callback signed with ``key`` (SIGNATURE_HEADER over TIMESTAMP_HEADER + body) and parse its body;
    raises Forbidden (forged, altered, or a timestamp outside the freshness window: a signed callback from 2001, or
    from the future, is refused) or InvalidInput. The signature is the event's ``replay_key``."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature or not timestamp.isascii():
        raise _forged()
    expected = sign(key=key, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise _forged()
    fresh = timestamp.isdigit() and len(timestamp) <= 12 and abs(clock.now().timestamp() - int(timestamp)) <= max_skew_seconds()
    if not fresh:
        raise _stale()
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_body() from None
    if not isinstance(data, dict):
        raise _bad_body()
    event = data.get("event")
    if event not in {"paid", "closed", "refunded"}:
        raise _bad_body("event")
    amount = data.get("amount_fen", 0)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise _bad_body("amount_fen")
    strings = {k: data.get(k, "") for k in ("notify_id", "out_trade_no", "trade_no", "out_refund_no", "refund_no")}
    for k, v in strings.items():
        if not isinstance(v, str) or len(v) > 64:
            raise _bad_body(k)
    if not strings["notify_id"] or not strings["out_trade_no"]:
        raise _bad_body("out_trade_no")
    return CallbackEvent(event=event, amount_fen=amount, paid_at=_parse_time(data.get("paid_at")),
                         replay_key=expected, **strings)


# --- the adapters: named in JIAOGUAN_PAY_CHANNEL_ADAPTERS, instantiated at start-up ---------------------------------

_CHANNELS: Adapters[Channel] = Adapters("payment channel")


def adapters_load() -> None:
    """Instantiate the adapters of JIAOGUAN_PAY_CHANNEL_ADAPTERS (name → dotted path of the class); called by
    PaymentsConfig.ready, so the app never imports an adapter's module (the simulator's among them)."""
    _CHANNELS.load(settings.JIAOGUAN_PAY_CHANNEL_ADAPTERS)


def channel_label(name: str) -> Bi | str:
    """The channel's label (its name if no adapter of that name is installed)."""
    return _CHANNELS.label(name)


def channel_names() -> list[str]:
    """Enabled channels: JIAOGUAN_PAY_CHANNELS, else the simulator — except in production, where the simulator
    (whose page lets anyone "pay") is never enabled by default."""
    enabled = settings.JIAOGUAN_PAY_CHANNELS
    if enabled is None:
        enabled = [] if settings.PRODUCTION else ["sim"]
    return [n for n in enabled if n in _CHANNELS]


def default_channel() -> str:
    return settings.JIAOGUAN_PAY_DEFAULT_CHANNEL


def channel_get(name: str) -> Channel:
    if name not in channel_names():
        raise NotFound("payments.channel_unknown", "不支持该支付渠道", "Unknown payment channel", field="channel")
    return _CHANNELS[name]
