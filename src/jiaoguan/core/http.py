"""Small request helpers shared by pages and the API."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from jiaoguan.core.audit import Actor


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a proxy, set JIAOGUAN_TRUSTED_PROXY_HOPS so X-Forwarded-For is honoured."""
    hops = settings.JIAOGUAN_TRUSTED_PROXY_HOPS
    if hops:
        header: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [p.strip() for p in header.split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    address: str = request.META.get("REMOTE_ADDR", "")
    return address or "unknown"


def language_of(request: HttpRequest) -> str:
    language: str | None = getattr(request, "LANGUAGE_CODE", None)
    return language or "zh-hans"


class BoundedIntConverter:
    """Django's ``int`` path converter limited to 18 digits (every value fits a 64-bit signed column)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)


def actor_of(request: HttpRequest, user: Any = None) -> Actor:
    """Who is acting in this request, for services and the audit log: ``user`` (the API's authenticated user)
    or the page's ``request.user``, with the client's address."""
    return Actor.of(user if user is not None else getattr(request, "user", None), ip=client_ip(request))
