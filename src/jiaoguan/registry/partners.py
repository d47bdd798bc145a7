"""Partners of the registry (hospitals now; insurers and the post later) and their signed requests.

A partner signs every request with its key (``core.signing``, canonical form "request"):

    X-Partner-Key:       the partner's key id (pk_…)
    X-Partner-Timestamp: Unix seconds when the request was signed
    X-Partner-Nonce:     8–64 printable ASCII characters, unique per request
    X-Partner-Signature: hex HMAC-SHA256(secret, METHOD\\npath\\ntimestamp\\nnonce\\nhex(sha256(body)))

Refused with 401 (codes ``partners.unsigned``, ``partners.bad_signature``, ``partners.stale``, ``partners.nonce``,
``partners.replayed``) when unsigned, signed wrongly or with an unknown or inactive key, too far from now
(``MAX_SKEW_SECONDS``, default 300 s) or replayed. Settings: an optional ``JIAOGUAN_PARTNERS`` dict, e.g.
``{"MAX_SKEW_SECONDS": 120}``.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock, signing
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import InvalidInput
from jiaoguan.registry.models import Partner

DEFAULTS: dict = {
    "MAX_SKEW_SECONDS": 300,   # a signed request older or newer than this is stale
}


def conf(name: str):
    overrides = settings.JIAOGUAN_PARTNERS or {}
    return overrides.get(name, DEFAULTS[name])


SCHEME = signing.Scheme(name="partners", header_prefix="X-Partner", error_prefix="partners",
                        max_skew_seconds=lambda: conf("MAX_SKEW_SECONDS"), canonical=signing.CANONICAL_REQUEST)


def _state(partner: Partner) -> dict:
    return {"kind": partner.kind, "name_zh": partner.name_zh, "name_en": partner.name_en, "key_id": partner.key_id,
            "institution_code": partner.institution_code, "active": partner.active}


def partner_values_clean(*, kind: str, name_zh: str, name_en: str, institution_code: str) -> dict:
    kind = str(kind or "").strip()
    if kind not in Partner.Kind.values:
        raise InvalidInput("partners.kind_invalid", f"机构类型不正确，可选：{'、'.join(Partner.Kind.values)}",
                           f"Unknown partner kind; choose one of: {', '.join(Partner.Kind.values)}", field="kind")
    name_zh = " ".join(str(name_zh or "").split())
    if not 2 <= len(name_zh) <= 80:
        raise InvalidInput("partners.name_invalid", "请填写机构名称（2至80字）", "Enter the partner's name (2–80 characters)",
                           field="name_zh")
    name_en = " ".join(str(name_en or "").split())
    if len(name_en) > 120:
        raise InvalidInput("partners.name_en_invalid", "英文名称过长", "The English name is too long", field="name_en")
    code = str(institution_code or "").strip().upper()
    if len(code) > 40:
        raise InvalidInput("partners.institution_code_invalid", "机构代码过长", "The institution code is too long",
                           field="institution_code")
    if kind == Partner.Kind.HOSPITAL and not code:
        raise InvalidInput("partners.institution_code_required", "医院须填写医疗机构代码",
                           "A hospital needs its institution code", field="institution_code")
    return {"kind": kind, "name_zh": name_zh, "name_en": name_en, "institution_code": code}


def partner_create(*, kind: str, name_zh: str, name_en: str = "", institution_code: str = "",
                   actor: Actor) -> tuple[Partner, str]:
    """A new partner and its signing secret (returned once; stored encrypted, never shown again)."""
    values = partner_values_clean(kind=kind, name_zh=name_zh, name_en=name_en, institution_code=institution_code)
    key_id, secret = signing.new_key("pk")
    now = clock.now()
    with transaction.atomic():
        partner = Partner.objects.create(**values, key_id=key_id, secret=secret, active=True, created_at=now,
                                         updated_at=now)
        audit_record(actor=actor, action="partner.create", obj=partner, new=_state(partner))
    return partner, secret


def partner_update(*, partner: Partner, actor: Actor, name_zh: str, name_en: str = "", institution_code: str = "",
                   active: bool = True) -> Partner:
    values = partner_values_clean(kind=partner.kind, name_zh=name_zh, name_en=name_en,
                                  institution_code=institution_code)
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        old = _state(locked)
        for name, value in {**values, "active": bool(active)}.items():
            setattr(locked, name, value)
        new = _state(locked)
        if new != old:
            locked.updated_at = clock.now()
            locked.save()
            audit_record(actor=actor, action="partner.update", obj=locked,
                         old={k: v for k, v in old.items() if new[k] != v},
                         new={k: v for k, v in new.items() if old[k] != v})
    return locked


def partner_rotate_secret(*, partner: Partner, actor: Actor) -> tuple[Partner, str]:
    """A new secret for the same key id (the old one stops working at once); returned once."""
    _key_id, secret = signing.new_key("pk")
    with transaction.atomic():
        locked = Partner.objects.select_for_update().get(pk=partner.pk)
        locked.secret = secret
        locked.updated_at = clock.now()
        locked.save(update_fields=["secret", "updated_at"])
        audit_record(actor=actor, action="partner.rotate_secret", obj=locked, new={"key_id": locked.key_id})
    return locked, secret


def _lookup(kind: str):
    def lookup(key_id: str) -> tuple[Partner, str] | None:
        partner = Partner.objects.filter(key_id=key_id, kind=kind, active=True).first()
        return None if partner is None else (partner, partner.secret)

    return lookup


def partner_authenticate(*, request, kind: str) -> Partner:
    """The active partner of this kind that signed the request; its nonce is stored. Call inside the transaction
    that does the request's work."""
    return signing.verify_request(scheme=SCHEME, request=request, lookup=_lookup(kind))


def partner_signed_headers(*, partner: Partner, secret: str, method: str, path: str, body: bytes,
                           timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """What a partner sends (for a partner's developers, the demo and tests)."""
    return signing.signed_headers(scheme=SCHEME, key_id=partner.key_id, secret=secret, method=method, path=path,
                                  body=body, timestamp=timestamp, nonce=nonce)


def partner_nonces_purge() -> int:
    return signing.nonces_purge(scheme=SCHEME)
