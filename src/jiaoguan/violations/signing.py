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

Scope (issue 10): a device's key is good only for what the device is (``Device.kind``, ``endpoints``, ``codes``,
``area``): a checkpoint camera's key calls only the checkpoint endpoint and records only the checkpoint's code at
its area; a parking camera records only parking codes. ``device_authenticate(endpoint=…)`` refuses another
endpoint and ``device_scope_require`` (called by ``services.device_records_ingest`` and ``violation_record`` for
every device record) another code or a place outside the area: 403 ``violations.device_scope``, logged, and
nothing is written (the refusal rolls back the request's transaction, the nonce included; in a batch, that
record's error in the results).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection

from jiaoguan.core import clock
from jiaoguan.core import signing as core_signing
from jiaoguan.core.errors import Forbidden, InvalidInput
from jiaoguan.violations import conf, rules
from jiaoguan.violations.models import Device, DeviceNonce
from jiaoguan.violations.rules import ENDPOINT_BATCH, ENDPOINT_CHECKPOINT, ENDPOINT_SINGLE  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


class _DeviceNonceStore:
    def remember(self, *, scheme, key_id: str, owner: Device, nonce: str) -> bool:
        """One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (no savepoint around it): False when the device used
        the nonce before — or a concurrent request with it committed first (the insert waits for it)."""
        meta = DeviceNonce._meta
        qn = connection.ops.quote_name
        columns = ", ".join(qn(str(meta.get_field(f).column)) for f in ("device", "value", "seen_at"))
        seen_at = meta.get_field("seen_at").get_db_prep_save(clock.now(), connection)
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING "
                        f"RETURNING {qn(str(meta.pk.column))}", [owner.pk, nonce, seen_at])
            return cur.fetchone() is not None


SCHEME = core_signing.Scheme(
    name="devices", header_prefix="X-Device", error_prefix="violations",
    max_skew_seconds=lambda: conf.get("DEVICE_MAX_SKEW_SECONDS"),
    canonical=core_signing.CANONICAL_BODY, nonce_store=_DeviceNonceStore())


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    return core_signing.sign(scheme=SCHEME, secret=secret, method="", path="", timestamp=timestamp, nonce=nonce,
                             body=body)


def kind_scope(kind: str) -> tuple[list[str], list[str]]:
    """The endpoints and codes a device of ``kind`` gets unless given its own (conf ``DEVICE_KIND_SCOPES``)."""
    scopes = conf.get("DEVICE_KIND_SCOPES")
    if kind not in scopes or kind not in Device.Kind.values:
        raise InvalidInput("violations.device_kind", "设备类型不正确", "Unknown device kind", field="kind")
    return sorted(scopes[kind]["endpoints"]), sorted(scopes[kind]["codes"])


def scope_clean(*, endpoints: Iterable[str], codes: Iterable[str], area: str) -> tuple[list[str], list[str], str]:
    """A scope as stored: known endpoints, codes as 4–5 digit strings (sorted, no repeats), the area trimmed."""
    eps = sorted({str(e).strip() for e in endpoints if str(e).strip()})
    unknown = [e for e in eps if e not in rules.ENDPOINTS]
    if unknown:
        raise InvalidInput("violations.device_endpoint", f"未知的接口：{'、'.join(unknown)}",
                           f"Unknown endpoint(s): {', '.join(unknown)}", field="endpoints")
    cs = sorted({str(c).strip() for c in codes if str(c).strip()})
    bad = [c for c in cs if not (c.isascii() and c.isdigit() and 4 <= len(c) <= 5)]
    if bad:
        raise InvalidInput("violations.device_codes", f"违法代码须为4–5位数字：{'、'.join(bad)}",
                           f"Violation codes are 4–5 digits: {', '.join(bad)}", field="codes")
    area = (area or "").strip()
    if len(area) > 80:
        raise InvalidInput("violations.device_area", "辖区名称不超过80字", "The area is at most 80 characters", field="area")
    return eps, cs, area


def device_create(*, name: str, place: str = "", kind: str = Device.Kind.TRAFFIC, area: str = "",
                  codes: Iterable[str] | None = None, endpoints: Iterable[str] | None = None) -> tuple[Device, str]:
    """A new device and its secret (shown once), scoped: the endpoints and codes of its kind unless given, and
    its area (辖区, "" the whole city)."""
    default_endpoints, default_codes = kind_scope(kind)
    eps, cs, area = scope_clean(endpoints=default_endpoints if endpoints is None else endpoints,
                                codes=default_codes if codes is None else codes, area=area)
    key_id, secret = core_signing.new_key("dev")
    device = Device.objects.create(name=name, key_id=key_id, secret=secret, place=place, created_at=clock.now(),
                                   kind=kind, endpoints=eps, codes=cs, area=area)
    return device, secret


def scope_of(device: Device) -> rules.DeviceScope:
    return rules.DeviceScope(endpoints=frozenset(device.endpoints or ()), codes=frozenset(device.codes or ()),
                             area=device.area or "")


def device_scope_require(*, device: Device, endpoint: str | None = None, code: str | None = None,
                         place: str | None = None) -> None:
    """403 ``violations.device_scope`` (logged) unless the device's scope allows this endpoint, code and place."""
    scope, city = scope_of(device), tuple(conf.get("CITY_NAMES"))
    for field, asked in (("endpoint", {"endpoint": endpoint}), ("code", {"code": code}), ("place", {"place": place})):
        refusal = rules.device_scope_refusal(scope, city_names=city, **asked)
        if refusal is not None:
            log.warning("device %s (%s, %s) refused outside its scope: endpoint=%s code=%s place=%s",
                        device.key_id, device.pk, device.kind, endpoint, code, place)
            raise Forbidden(refusal.code, refusal.zh, refusal.en, field=field)


def _lookup(key_id: str) -> tuple[Device, str] | None:
    device = Device.objects.filter(key_id=key_id, active=True).first()
    return None if device is None else (device, device.secret)


def device_authenticate(*, headers, body: bytes, endpoint: str) -> Device:
    """Check a signed request; store its nonce; refuse (403) a device whose scope does not include ``endpoint``
    (``rules.ENDPOINTS``). Call inside the transaction that does the request's work."""
    device = core_signing.verify(scheme=SCHEME, headers=headers, method="", path="", body=body, lookup=_lookup)
    device_scope_require(device=device, endpoint=endpoint)
    return device


def device_nonces_purge() -> int:
    """Forget nonces older than twice the freshness window (a request that old is refused as stale anyway)."""
    deleted, _ = DeviceNonce.objects.filter(seen_at__lt=core_signing.purge_cutoff(SCHEME)).delete()
    return deleted
