"""Signed device requests (ARCHITECTURE §6): HMAC-SHA256 with a key per device.

Headers:
    X-Device-Key:       the device's key id
    X-Device-Timestamp: Unix seconds when the request was signed
    X-Device-Nonce:     8–64 characters, unique per request
    X-Device-Signature: hex HMAC-SHA256(secret, f"{timestamp}\\n{nonce}\\n" + raw body)

Refused (401) when the key is unknown or inactive, the signature is wrong, the timestamp is more than
DEVICE_MAX_SKEW_SECONDS away from now (stale), or the nonce was used before by this device (replay). The nonce
is stored in the same transaction as what the request writes, so a replay can never write twice.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.errors import Unauthenticated
from jiaoguan.violations import conf
from jiaoguan.violations.models import Device, DeviceNonce


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _refuse(code: str, zh: str, en: str) -> Unauthenticated:
    return Unauthenticated(f"violations.{code}", zh, en)


def device_create(*, name: str, place: str = "") -> tuple[Device, str]:
    """A new device and its secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    device = Device.objects.create(name=name, key_id=f"dev_{secrets.token_hex(8)}", secret=secret, place=place,
                                   created_at=clock.now())
    return device, secret


def device_authenticate(*, headers, body: bytes) -> Device:
    """Check a signed request; store its nonce. Call inside the transaction that does the request's work."""
    key_id = headers.get("X-Device-Key", "")
    ts = headers.get("X-Device-Timestamp", "")
    nonce = headers.get("X-Device-Nonce", "")
    signature = headers.get("X-Device-Signature", "")
    if not (key_id and ts and nonce and signature):
        raise _refuse("unsigned", "请求未签名", "The request is not signed")
    device = Device.objects.filter(key_id=key_id, active=True).first()
    if device is None:
        raise _refuse("bad_signature", "签名无效", "The signature is not valid")
    expected = sign(device.secret, ts, nonce, body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise _refuse("bad_signature", "签名无效", "The signature is not valid")
    try:
        when = int(ts)
    except ValueError:
        raise _refuse("stale", "请求时间戳无效", "The request timestamp is not valid") from None
    if abs(clock.now().timestamp() - when) > conf.get("DEVICE_MAX_SKEW_SECONDS"):
        raise _refuse("stale", "请求已过期（时间戳与服务器时间相差过大）", "The request is stale (timestamp too far from now)")
    if not (8 <= len(nonce) <= 64) or not nonce.isascii():
        raise _refuse("nonce", "请求随机数无效", "The nonce is not valid")
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(device=device, value=nonce, seen_at=clock.now())
    except IntegrityError:
        raise _refuse("replayed", "重复的请求（随机数已使用）", "Replayed request: the nonce was already used") from None
    return device


def device_nonces_purge() -> int:
    """Forget nonces older than twice the freshness window (a request that old is refused as stale anyway)."""
    import datetime as dt

    cutoff = clock.now() - dt.timedelta(seconds=2 * conf.get("DEVICE_MAX_SKEW_SECONDS"))
    deleted, _ = DeviceNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
