"""Small request helpers shared by pages and the API."""
from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from jiaoguan.core.audit import Actor


def client_ip(request: HttpRequest) -> str:
    """The client's address. Behind a proxy, set JIAOGUAN_TRUSTED_PROXY_HOPS so X-Forwarded-For is honoured."""
    from django.conf import settings

    hops = getattr(settings, "JIAOGUAN_TRUSTED_PROXY_HOPS", 0)
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def language_of(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", None) or "zh-hans"


class BoundedIntConverter:
    """Django's ``int`` path converter limited to 18 digits (every value fits a 64-bit signed column)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


def actor_of(request: HttpRequest, user: Any = None) -> Actor:
    """Who is acting in this request, for services and the audit log: ``user`` (the API's authenticated user)
    or the page's ``request.user``, with the client's address."""
    return Actor.of(user if user is not None else getattr(request, "user", None), ip=client_ip(request))
