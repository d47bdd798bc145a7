"""Signed device requests (ARCHITECTURE §6): HMAC-SHA256 with a key per device, verified by ``core.signing``.

Headers:
    X-Device-Key:       the device's key id
    X-Device-Timestamp: Unix seconds when the request was signed
    X-Device-Nonce:     8–64 characters, unique per request
    X-Device-Signature: hex HMAC-SHA256(secret, f"{timestamp}\\n{nonce}\\n" + raw body)

(The devices keep this original canonical form — ``core.signing.CANONICAL_BODY`` — so cameras already in the
field need no change; partners sign method and path too.)

Refused (401) when the key is unknown or inactive, the signature is wrong, the timestamp is more than
DEVICE_MAX_SKEW_SECONDS away from now (stale), or the nonce was used before by this device (replay). The nonce
is stored (``DeviceNonce``) in the same transaction as what the request writes, so a replay can never write twice.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core import signing as core_signing
from jiaoguan.violations import conf
from jiaoguan.violations.models import Device, DeviceNonce


class _DeviceNonceStore:
    def remember(self, *, scheme, key_id: str, owner: Device, nonce: str) -> bool:
        try:
            with transaction.atomic():
                DeviceNonce.objects.create(device=owner, value=nonce, seen_at=clock.now())
        except IntegrityError:
            return False
        return True


SCHEME = core_signing.Scheme(
    name="devices", header_prefix="X-Device", error_prefix="violations",
    max_skew_seconds=lambda: conf.get("DEVICE_MAX_SKEW_SECONDS"),
    canonical=core_signing.CANONICAL_BODY, nonce_store=_DeviceNonceStore())


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return core_signing.sign(scheme=SCHEME, secret=secret, method="", path="", timestamp=timestamp, nonce=nonce,
                             body=body)


def device_create(*, name: str, place: str = "") -> tuple[Device, str]:
    """A new device and its secret (shown once)."""
    key_id, secret = core_signing.new_key("dev")
    device = Device.objects.create(name=name, key_id=key_id, secret=secret, place=place, created_at=clock.now())
    return device, secret


def _lookup(key_id: str) -> tuple[Device, str] | None:
    device = Device.objects.filter(key_id=key_id, active=True).first()
    return None if device is None else (device, device.secret)


def device_authenticate(*, headers, body: bytes) -> Device:
    """Check a signed request; store its nonce. Call inside the transaction that does the request's work."""
    return core_signing.verify(scheme=SCHEME, headers=headers, method="", path="", body=body, lookup=_lookup)


def device_nonces_purge() -> int:
    """Forget nonces older than twice the freshness window (a request that old is refused as stale anyway)."""
    deleted, _ = DeviceNonce.objects.filter(seen_at__lt=core_signing.purge_cutoff(SCHEME)).delete()
    return deleted
