"""Reads of e-credentials: a holder's own credentials, the credential issued for a source, the verification path."""
from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from jiaoguan.core.errors import not_found
from jiaoguan.credentials import rules
from jiaoguan.credentials.models import Credential


def credentials_for_user(*, user) -> QuerySet[Credential]:
    """The holder's own credentials, newest first (revoked and expired ones included: the pages label them)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Credential.objects.none()
    return Credential.objects.filter(holder=user).order_by("-issued_at", "-id")


def credential_of_user(*, user, number: str) -> Credential:
    """One of the holder's credentials by number; anyone else's, a malformed or a missing number → the same 404."""
    number = str(number or "").strip()
    c = credentials_for_user(user=user).filter(number=number).first() if rules.number_valid(number) else None
    if c is None:
        raise not_found("电子证照", "e-credential")
    return c


def credential_for_source(*, source_type: str, source_id: str, kind: str | None = None) -> Credential | None:
    """The credential issued for (source_type, source_id[, kind]), or None."""
    qs = Credential.objects.filter(source_type=str(source_type), source_id=str(source_id))
    if kind is not None:
        qs = qs.filter(kind=str(kind))
    return qs.order_by("issued_at", "id").first()


def credential_in_force_of_enterprise(*, number: str, kind: str, enterprise_id: int) -> Credential | None:
    """The credential of this kind and number held by an account of the enterprise, not revoked; else None."""
    return (Credential.objects.filter(number=number, kind=kind, status=Credential.Status.ISSUED,
                                      holder__enterprise_id=enterprise_id).first())


def credential_by_id(*, credential_id: int) -> Credential:
    c = Credential.objects.filter(pk=credential_id).first()
    if c is None:
        raise not_found("电子证照", "e-credential")
    return c


def verify_url(credential: Credential) -> str:
    """The absolute path of the public verification page; the QR code holds it with the site's address."""
    return reverse("portal:credentials_portal:verify", args=[credential.number, credential.token])
