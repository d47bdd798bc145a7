"""E-credentials API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Everyone (no login):
    GET  /api/v1/credentials/verify?number=&token=     is this e-credential genuine and in force (public fields only;
                                                        rate-limited per client IP so numbers cannot be scanned)
    GET  /api/v1/credentials/keys                      the Ed25519 public keys by key id (for offline verifiers)
Holders (session or bearer):
    GET  /api/v1/me/credentials                        my e-credentials
    GET  /api/v1/me/credentials/{number}               one of mine (anyone else's → 404)
    GET  /api/v1/me/credentials/{number}/pdf           its PDF (application/pdf; anyone else's → 404; revoked,
                                                        expired or altered → 409 credentials.not_printable)
Staff:
    POST /api/v1/staff/credentials/{id}/revoke {reason}   (credential.revoke)
"""
from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema, Status

from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateText, DateTimeText, Out, absent, examples
from jiaoguan.core.errors import not_found
from jiaoguan.core.http import actor_of, client_ip
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.ids import parse_id
from jiaoguan.credentials import documents, rules, selectors, services, signing
from jiaoguan.credentials.models import Credential
from jiaoguan.identity.auth import AUTH, current_user, require_permission

router = Router(tags=["credentials"])


class CredentialFieldOut(Out):
    label_zh: str
    label_en: str
    value: str = Field(description="the value in Chinese")
    value_en: str


class CredentialVerifyOut(Out):
    """The verdict; a genuine credential's public fields too (absent otherwise)."""

    status: str
    valid: bool
    genuine: bool
    message_zh: str
    message_en: str
    number: str = absent()
    kind: str = absent()
    title_zh: str = absent()
    title_en: str = absent()
    holder: str = absent()
    valid_from: DateText = absent()
    valid_until: DateText | None = absent()
    fields: list[CredentialFieldOut] = absent()
    revoked_at: DateTimeText | None = absent()


class CredentialKeyOut(Out):
    kid: str
    alg: str
    public_key: str = Field(description="raw Ed25519 public key, base64url")


class CredentialSignatureOut(Out):
    alg: str
    kid: str
    value: str


class CredentialOut(Out):
    id: int
    number: str
    kind: str
    title_zh: str
    title_en: str
    holder: str
    valid_from: DateText
    valid_until: DateText | None = Field(description="null: no end date")
    fields: list[CredentialFieldOut]
    status: str = Field(description="valid, not_yet_valid, expired, revoked or signature_mismatch")
    revoked_at: DateTimeText | None
    issued_at: DateTimeText
    source_type: str
    source_id: str
    signature: CredentialSignatureOut
    verify_url: str


class CredentialRevokedOut(Out):
    id: int
    number: str
    status: str
    revoked_at: DateTimeText | None
    revoke_reason: str


def _iso(at: dt.datetime | None) -> str | None:
    return clock.isoformat(at)


def _date(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _fields(rows) -> list[dict]:
    out = []
    for zh, en, value in rows:
        value_zh, value_en = zh_en(value)
        out.append({"label_zh": zh, "label_en": en, "value": value_zh, "value_en": value_en})
    return out


def _credential_out(c: Credential, request) -> dict:
    return {
        "id": c.pk, "number": c.number, "kind": c.kind, "title_zh": c.title_zh, "title_en": c.title_en,
        "holder": c.holder_display, "valid_from": _date(c.valid_from), "valid_until": _date(c.valid_until),
        "fields": _fields((f["zh"], f["en"], rules.field_value(f)) for f in c.fields),
        "status": services.credential_status(c), "revoked_at": _iso(c.revoked_at), "issued_at": _iso(c.issued_at),
        "source_type": c.source_type, "source_id": c.source_id,
        "signature": {"alg": c.algorithm, "kid": c.key_id, "value": c.signature},
        "verify_url": request.build_absolute_uri(selectors.verify_url(c)),
    }


@router.get("credentials/verify", auth=None, response={200: CredentialVerifyOut, **ERRORS}, exclude_unset=True,
            summary="Verify an e-credential (number and token from its QR code); public fields only")
def credential_verify(request, number: str = "", token: str = ""):
    services.verify_throttle(ip=client_ip(request))
    result = services.credential_verify(number=number, token=token)
    if result.status == rules.NOT_FOUND:
        raise not_found("电子证照", "e-credential")
    body = {"status": result.status, "valid": result.ok, "genuine": result.genuine,
            "message_zh": result.label_zh, "message_en": result.label_en}
    c = result.credential
    if result.genuine and c is not None:
        body.update({"number": c.number, "kind": c.kind, "title_zh": c.title_zh, "title_en": c.title_en,
                     "holder": c.holder_display, "valid_from": _date(c.valid_from),
                     "valid_until": _date(c.valid_until), "fields": _fields(result.public_fields),
                     "revoked_at": _iso(c.revoked_at)})
    return body


@router.get("credentials/keys", auth=None, response={200: list[CredentialKeyOut], **ERRORS},
            summary="Public keys that sign e-credentials (Ed25519, by key id)")
def credential_keys(request):
    return signing.public_keys()


@router.get("me/credentials", auth=AUTH, response={200: list[CredentialOut], **ERRORS}, summary="My e-credentials")
def my_credentials(request):
    user = current_user(request)
    return [_credential_out(c, request) for c in selectors.credentials_for_user(user=user)[:200]]


@router.get("me/credentials/{number}", auth=AUTH, response={200: CredentialOut, **ERRORS},
            summary="One of my e-credentials")
def my_credential(request, number: str):
    user = current_user(request)
    return _credential_out(selectors.credential_of_user(user=user, number=number), request)


_PDF_RESPONSE = {"responses": {"200": {"description": "the PDF (A4), as an attachment", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("me/credentials/{number}/pdf", auth=AUTH, response={200: None, **ERRORS}, openapi_extra=_PDF_RESPONSE,
            summary="The PDF of one of my e-credentials (in force only: revoked or expired → 409)")
def my_credential_pdf(request, number: str):
    user = current_user(request)
    c, pdf = documents.credential_pdf_of_user(
        user=user, number=number, verify_url=lambda c: request.build_absolute_uri(selectors.verify_url(c)))
    return documents.pdf_response(c, pdf)


class CredentialRevokeIn(Schema):
    reason: str = Field(..., max_length=300, description="why (kept in the audit log)")

    model_config = examples({"reason": "证件信息有误"})


@router.post("staff/credentials/{credential_id}/revoke", auth=AUTH, response={200: CredentialRevokedOut, **ERRORS},
             summary="Revoke an e-credential (credential.revoke)")
def staff_revoke(request, credential_id: str, payload: CredentialRevokeIn):
    user = require_permission(request, "credential.revoke")
    pk = parse_id(credential_id)
    if pk is None:
        raise not_found("电子证照", "e-credential")
    c = services.credential_revoke(credential_id=pk, actor=actor_of(request, user),
                                   reason=payload.reason)
    return Status(200, {"id": c.pk, "number": c.number, "status": services.credential_status(c),
                        "revoked_at": _iso(c.revoked_at), "revoke_reason": c.revoke_reason})
