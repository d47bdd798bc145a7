"""API authentication: the browser's session (CSRF kept) and bearer tokens for apps, usable together:

    @router.get("me", auth=AUTH)            # AUTH = [bearer, session]
    def me(request): user = current_user(request)

A bearer token is tried first; a request without one falls back to the session cookie. Session-authenticated
requests that change something must carry the CSRF token (X-CSRFToken header), as Django's own forms do;
bearer requests need none (no cookie, so no cross-site forgery).
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from jiaoguan.core.errors import Forbidden, Unauthenticated, forbidden
from jiaoguan.identity.roles import has_permission
from jiaoguan.identity.services import user_for_token


def csrf_failed() -> Forbidden:
    return Forbidden("core.csrf", "页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试",
                     "The CSRF check failed; reload the page and try again")


class BearerAuth(HttpBearer):
    """``Authorization: Bearer jgt_…`` against the SHA-256 hashes in ApiToken."""

    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token.strip())
        if user is not None:
            request.user = user  # code that reads request.user sees the token's user
            request.auth_method = "bearer"
        return user


class CsrfSessionAuth(APIKeyCookie):
    """Django's session, with the CSRF check for unsafe methods. Unlike ninja's SessionAuth, a request without
    a logged-in session is simply not authenticated (401), and the CSRF check (403) applies only to a session
    that would otherwise authenticate."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)  # checked below, only for a logged-in session

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise csrf_failed()
        request.auth_method = "session"
        return user


bearer = BearerAuth()
session = CsrfSessionAuth()
AUTH = [bearer, session]


def optional_user(request: HttpRequest):
    """For an endpoint open to everyone (``auth=None``) that does more for a logged-in caller: the user of a
    bearer token (the Authorization header, when sent, decides: a bad token is nobody, never the session), else
    of a logged-in session (CSRF checked, 403 when it fails), else None."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return bearer.authenticate(request, token.strip())
    return session.authenticate(request, None)


def current_user(request: HttpRequest):
    user = getattr(request, "auth", None)
    if user is None or not getattr(user, "is_authenticated", False):
        raise Unauthenticated("core.unauthenticated", "请先登录", "Please log in first")
    return user


def require_role(request: HttpRequest, *roles: str):
    """The authenticated user if their role is one of ``roles``; otherwise 403."""
    user = current_user(request)
    if user.role not in roles:
        raise forbidden()
    return user


def require_permission(request: HttpRequest, permission: str):
    """The authenticated user if their role holds ``permission`` (roles.PERMISSIONS); otherwise 403."""
    user = current_user(request)
    if not has_permission(user, permission):
        raise forbidden()
    return user
