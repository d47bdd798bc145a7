"""Errors outside the views' own handling, mapped in one place.

Pages: a DomainError escaping a view becomes a page with its Chinese/English message and status, not a 500.
API (``/api/``): django-ninja's exception handlers (core.api_errors) cover what a view raises, but some error
responses never pass through them — an unknown URL (Django's 404 page), a method the route does not accept
(ninja answers 405 with an empty HTML response), a server error page. Those are rewritten here into the same
JSON shape, ``{"code", "message"}`` in the request's language, so every API error is JSON.

The database gone away (``DatabaseUnavailableMiddleware``, first in MIDDLEWARE): a 503 ``core.unavailable`` with
Retry-After — JSON for the API, a page that needs no database for the rest — whether the error escaped a view or
a middleware's own work (a session saved on the way out), never a 500 with a traceback.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import escape

from jiaoguan.core.api_errors import DATABASE_ERRORS, retry_after_set, unavailable_error
from jiaoguan.core.errors import DomainError
from jiaoguan.core.http import language_of
from jiaoguan.core.i18n import bi

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

_BY_STATUS: dict[int, tuple[str, str, str]] = {
    503: ("core.unavailable", unavailable_error().zh, unavailable_error().en),
    400: ("core.bad_request", "请求格式不正确", "The request is malformed"),
    401: ("core.unauthenticated", "请先登录", "Please log in first"),
    403: ("core.forbidden", "您无权进行此操作", "You are not allowed to do this"),
    404: ("core.not_found", "记录不存在", "Not found"),
    405: ("core.method_not_allowed", "不支持此请求方法", "This method is not allowed here"),
    413: ("core.body_too_large", "提交的内容过大", "The request body is too large"),
    429: ("core.rate_limited", "操作过于频繁，请稍后再试", "Too many requests; please try again later"),
}
_SERVER = ("core.internal", "系统繁忙，请稍后再试", "Something went wrong on our side; please try again later")


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().endswith("json")


def api_error_response(request: HttpRequest, status: int) -> JsonResponse:
    code, zh, en = _BY_STATUS.get(status) or (_SERVER if status >= 500 else _BY_STATUS[400])
    error = DomainError(code, zh, en, status=status)
    return JsonResponse(error.as_dict(language_of(request)), status=status, json_dumps_params={"ensure_ascii": False})


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and response.status_code >= 400 and not _is_json(response):
            replacement = api_error_response(request, response.status_code)
            if response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX):
            return None  # the API maps errors itself (core.api_errors); leftovers are rewritten in __call__
        if isinstance(exception, RequestDataTooBig):
            exception = DomainError("core.body_too_large", "提交的内容过大", "The request body is too large", status=413)
        if isinstance(exception, DomainError):
            return render(request, "core/error.html", {"error": exception}, status=exception.status)
        return None


class PersonalNoStoreMiddleware:
    """Personal data is never kept by a browser's cache or a proxy: every answer to a signed-in user (a session)
    or to a bearer of a token (the API) is ``Cache-Control: private, no-store`` unless the view chose otherwise; so is
    the answer to any write (a login's new token, a registration's record). Public pages read by anonymous visitors
    keep the framework's defaults."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):  # the view chose (and a 503 says no-store without asking who)
            return response
        user = getattr(request, "user", None)
        personal = (bool(getattr(user, "is_authenticated", False)) or "HTTP_AUTHORIZATION" in request.META
                    or request.method not in ("GET", "HEAD", "OPTIONS"))
        if personal:
            response["Cache-Control"] = "private, no-store"
        return response


_UNAVAILABLE_TITLE = bi("服务暂时不可用", "Service temporarily unavailable")
_UNAVAILABLE_AGAIN = bi("重试", "Try again")
_FLAG = "_jiaoguan_database_unavailable"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 of a request the database could not serve: JSON on the API, a page elsewhere. The page extends
    nothing and reads neither the session, the user nor the messages, so it renders with the database down."""
    error = unavailable_error()
    language = language_of(request)
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(error.as_dict(language), status=503,
                                              json_dumps_params={"ensure_ascii": False})
    else:
        context = {"title": _UNAVAILABLE_TITLE, "again": _UNAVAILABLE_AGAIN, "message": error.message(language),
                   "code": error.code}
        try:
            response = render(request, "core/unavailable.html", context, status=503)
        except Exception:  # noqa: BLE001 - the page of last resort must not fail in turn
            log.exception("the 503 page could not be rendered")
            response = HttpResponse(f"<!doctype html><title>503</title><p>{escape(error.message(language))}</p>",
                                    status=503)
    return retry_after_set(response)


def _note_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django turned an exception into its 500 response (raised by a middleware, out of reach of any
    process_exception): remember that it was the database, for DatabaseUnavailableMiddleware."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        setattr(request, _FLAG, True)


got_request_exception.connect(_note_database_error, dispatch_uid="jiaoguan.core.middleware.database_unavailable")


class DatabaseUnavailableMiddleware:
    """First in MIDDLEWARE: a database error (PostgreSQL restarted, connection refused or terminated) becomes a
    503 ``core.unavailable`` with Retry-After. The API's views are mapped by core.api_errors; here a page's view
    (process_exception) and whatever a middleware raised (Django's 500 for it is replaced). The broken connection
    is closed by Django at the end of the request (it saw the error), and CONN_HEALTH_CHECKS makes the next
    request reconnect rather than reuse a connection the restart killed while it sat idle."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 500 and getattr(request, _FLAG, False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            log.warning("database unavailable during %s %s: %s: %s", request.method, request.path,
                        type(exception).__name__, str(exception).strip()[:200])
            return unavailable_response(request)
        return None
