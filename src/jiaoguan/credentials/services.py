"""E-credentials (电子证照): issue, revoke, verify.

Other apps issue through ``credential_issue`` — the applications engine calls it when an approved application's
output is an e-permit — and never write the model themselves. A credential's content is fixed at issue and signed
(signing.py) over rules.canonical_content; verification recomputes that content from the stored row, so an edited
row (a changed date, field, holder or title) fails the check and is reported as tampered rather than trusted.
Revocation is the one state change after issue; it is audited, and a revocation found in the hash-chained audit log
counts even if someone cleared it on the row.
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record, audit_recorded
from jiaoguan.core.errors import Conflict, InvalidInput, RateLimited, not_found
from jiaoguan.core.i18n import Bi
from jiaoguan.core.masking import mask_name
from jiaoguan.core.outbox import event_emit
from jiaoguan.credentials import rules, signing
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.selectors import credential_for_source
from jiaoguan.identity import ratelimit

REVOKE_ACTION = "credential.revoke"


# --- issue --------------------------------------------------------------------------------------------------------

def _holder_display(user) -> str:
    """What a credential says about its holder: the enterprise's name, or the person's name masked (张*明)."""
    enterprise = getattr(user, "enterprise", None) if getattr(user, "enterprise_id", None) else None
    if enterprise is not None:
        return enterprise.name[:120]
    person = getattr(user, "person", None) if getattr(user, "person_id", None) else None
    if person is not None and person.name:
        return mask_name(person.name)[:120]
    return ""


def _content(c: Credential) -> bytes:
    return rules.canonical_content(
        number=c.number, kind=c.kind, holder_id=c.holder_id, holder_display=c.holder_display, title_zh=c.title_zh,
        title_en=c.title_en, fields=c.fields, valid_from=c.valid_from, valid_until=c.valid_until,
        source_type=c.source_type, source_id=c.source_id, issued_at=c.issued_at, algorithm=c.algorithm,
        key_id=c.key_id)


def _bad(field_name: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"credentials.{code}", zh, en, field=field_name)


def _check_input(*, kind: str, title_zh: str, title_en: str, valid_from, valid_until, source_type: str,
                 source_id: str) -> None:
    if not kind or len(kind) > 40:
        raise _bad("kind", "bad_kind", "证照种类无效", "The credential kind is invalid")
    if not title_zh or not title_en or len(title_zh) > 120 or len(title_en) > 120:
        raise _bad("title", "bad_title", "证照名称须有中英文且不超过120字",
                   "The credential needs a Chinese and an English title of at most 120 characters")
    if not isinstance(valid_from, dt.date) or isinstance(valid_from, dt.datetime):
        raise _bad("valid_from", "bad_dates", "生效日期无效", "The start date is invalid")
    if valid_until is not None and (not isinstance(valid_until, dt.date) or isinstance(valid_until, dt.datetime)
                                    or valid_until < valid_from):
        raise _bad("valid_until", "bad_dates", "有效期至不能早于生效日期", "The end date is before the start date")
    if not source_type or not source_id or len(source_type) > 60 or len(source_id) > 64:
        raise _bad("source", "bad_source", "证照来源无效", "The credential's source is invalid")


def credential_issue(*, kind: str, holder_user, title_zh: str, title_en: str, fields: list[tuple[str, str, str]],
                     valid_from: dt.date, valid_until: dt.date | None, source_type: str, source_id: str,
                     actor: Actor) -> Credential:
    """Issue a signed e-credential to ``holder_user``. Idempotent per (source_type, source_id, kind): a repeat —
    a retried task, a second click, a racing issuer — returns the credential already issued, unchanged.

    ``fields``: (label_zh, label_en, value) — values already masked where personal (an unmasked resident ID or
    mobile number is masked here anyway); an optional fourth item False keeps a field off the public page."""
    kind, source_type, source_id = str(kind).strip(), str(source_type).strip(), str(source_id).strip()
    title_zh, title_en = str(title_zh or "").strip(), str(title_en or "").strip()
    existing = credential_for_source(source_type=source_type, source_id=source_id, kind=kind)
    if existing is not None:
        return existing
    _check_input(kind=kind, title_zh=title_zh, title_en=title_en, valid_from=valid_from, valid_until=valid_until,
                 source_type=source_type, source_id=source_id)
    try:
        stored_fields = rules.normalise_fields(fields or [])
    except (TypeError, ValueError):
        raise _bad("fields", "bad_fields", "证照内容格式有误", "The credential's fields are malformed") from None
    issued_at = clock.now().replace(microsecond=0)
    for _ in range(5):
        c = Credential(
            number=rules.number_new(clock.today().year), token=secrets.token_urlsafe(24), kind=kind,
            holder=holder_user, holder_display=_holder_display(holder_user), title_zh=title_zh, title_en=title_en,
            fields=stored_fields, valid_from=valid_from, valid_until=valid_until, source_type=source_type,
            source_id=source_id, issued_at=issued_at, issued_by=actor.label[:150], algorithm=signing.ALGORITHM,
            key_id=signing.active_key_id())
        _alg, key_id, c.signature = signing.sign(_content(c))
        try:
            with transaction.atomic():
                c.save()
                audit_record(actor=actor, action="credential.issue", obj=c, new={
                    "number": c.number, "kind": kind, "holder_id": holder_user.pk, "source_type": source_type,
                    "source_id": source_id, "valid_from": valid_from, "valid_until": valid_until,
                    "key_id": key_id}, subject_person_id=getattr(holder_user, "person_id", None))
                event_emit(topic="credentials.credential_issued", payload=_event(c))
            return c
        except IntegrityError:
            # lost a race for this source (return the winner's) or drew a number already used (draw again)
            existing = credential_for_source(source_type=source_type, source_id=source_id, kind=kind)
            if existing is not None:
                return existing
    raise RuntimeError("could not draw a unique credential number")


def _event(c: Credential) -> dict:
    return {"credential_id": c.pk, "number": c.number, "kind": c.kind, "holder_id": c.holder_id,
            "source_type": c.source_type, "source_id": c.source_id}


# --- revoke -------------------------------------------------------------------------------------------------------

def credential_revoke(*, credential_id: int, actor: Actor, reason: str) -> Credential:
    """注销: the credential stops being valid at once; verification says "revoked". Staff only (the API and
    console check ``credential.revoke``); a reason is required and kept."""
    reason = str(reason or "").strip()
    if not reason:
        raise _bad("reason", "reason_required", "请填写注销原因", "Give the reason for revoking")
    if len(reason) > 300:
        raise _bad("reason", "reason_too_long", "注销原因不能超过300字", "The reason may be at most 300 characters")
    with transaction.atomic():
        c = Credential.objects.select_for_update().filter(pk=credential_id).first()
        if c is None:
            raise not_found("电子证照", "e-credential")
        if c.status == Credential.Status.REVOKED:
            raise Conflict("credentials.already_revoked", "该电子证照已被注销", "This e-credential is already revoked")
        now = clock.now()
        c.status, c.revoked_at = Credential.Status.REVOKED, now
        c.revoked_by, c.revoke_reason = actor.label[:150], reason
        c.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        audit_record(actor=actor, action=REVOKE_ACTION, obj=c, old={"status": Credential.Status.ISSUED},
                     new={"status": c.status, "number": c.number}, reason=reason,
                     subject_person_id=getattr(c.holder, "person_id", None))
        event_emit(topic="credentials.credential_revoked", payload=_event(c))
    return c


# --- verify -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifyResult:
    """What a verifier learns. ``credential`` is None unless the number and token matched a row; ``public_fields``
    are the fields the public may see (label_zh, label_en, value), empty when the signature failed."""

    status: str
    credential: Credential | None = None
    public_fields: list[tuple[str, str, Bi | str]] = field(default_factory=list)  # value: text or a core.i18n pair

    @property
    def ok(self) -> bool:
        return self.status == rules.VALID

    @property
    def genuine(self) -> bool:
        """Issued by us and unaltered (whatever its dates or revocation say)."""
        return self.status not in (rules.NOT_FOUND, rules.SIGNATURE_MISMATCH)

    @property
    def label_zh(self) -> str:
        return rules.STATUS_LABELS[self.status][0]

    @property
    def label_en(self) -> str:
        return rules.STATUS_LABELS[self.status][1]


def signature_valid(c: Credential) -> bool:
    return signing.verify(_content(c), algorithm=c.algorithm, key_id=c.key_id, signature=c.signature)


def _revoked_in_audit(c: Credential) -> bool:
    return audit_recorded(action=REVOKE_ACTION, object_type=Credential._meta.label_lower, object_id=c.pk)


def credential_status(c: Credential, *, on: dt.date | None = None) -> str:
    """valid / not_yet_valid / expired / revoked / signature_mismatch for a stored credential."""
    if not signature_valid(c):
        return rules.SIGNATURE_MISMATCH
    if c.status == Credential.Status.REVOKED or c.revoked_at is not None or _revoked_in_audit(c):
        return rules.REVOKED
    return rules.date_status(valid_from=c.valid_from, valid_until=c.valid_until, on=on or clock.today())


def credential_verify(*, number: str, token: str) -> VerifyResult:
    """The public check behind the QR code: the number and its secret token must both match (a wrong one is "not
    found", the same as a missing one, so nothing can be learnt by guessing); then the signature, revocation and
    dates. Callers facing the public rate-limit first (``verify_throttle``)."""
    number, token = str(number or "").strip()[:20], str(token or "").strip()[:64]
    if not rules.number_valid(number) or not token:
        return VerifyResult(rules.NOT_FOUND)
    c = Credential.objects.filter(number=number).first()
    if c is None or not hmac.compare_digest(c.token.encode(), token.encode()):
        return VerifyResult(rules.NOT_FOUND)
    status = credential_status(c)
    if status == rules.SIGNATURE_MISMATCH:
        return VerifyResult(status, c)
    shown = [(f["zh"], f["en"], rules.field_value(f)) for f in c.fields if f.get("public", True)]
    return VerifyResult(status, c, shown)


def verify_throttle(*, ip: str) -> None:
    """Per client IP (identity.ratelimit, shared by every web process through the cache): a scanner cannot walk
    through numbers and tokens. ``settings.JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP`` (default 30/m)."""
    rate = settings.JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP
    # a read of public data: while the cache is down it is served unlimited (fail open)
    refusal = ratelimit.take([ratelimit.Limit("credentials.verify.ip", ip or "unknown", rate)], fail_open=True)
    if refusal is not None:
        wait = refusal.retry_after
        raise RateLimited("credentials.rate_limited", f"核验过于频繁，请{wait}秒后再试",
                          f"Too many checks; try again in {wait} seconds")
