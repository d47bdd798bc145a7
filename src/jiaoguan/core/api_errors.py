"""The JSON API's one place that turns exceptions into responses: ``{"code", "message", "fields"?}`` with the
message in the request's language (Accept-Language or the language cookie)."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import codes_4xx

from jiaoguan.core.errors import DomainError
from jiaoguan.core.http import language_of

log = logging.getLogger(__name__)


class ErrorOut(Schema):
    """Every API error, in one shape."""

    code: str = Field(description="stable error code, e.g. identity.phone_mismatch")
    message: str = Field(description="in the request's language (Accept-Language: zh-hans default, en)")
    fields: dict[str, str] | None = Field(None, description="field name -> message")


# The 4xx responses every endpoint declares: response={200: ..., **ERRORS}
ERRORS = {codes_4xx: ErrorOut}


def _respond(api: NinjaAPI, request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, error.as_dict(language_of(request)), status=error.status)


def _location(loc: Iterable[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "payload")]
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _respond(api, request, exc)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        fields: dict[str, tuple[str, str]] = {}
        for err in exc.errors:
            name = _location(err.get("loc", ()))
            en = err.get("msg", "invalid value")
            zh = {
                "missing": "此项必填",
                "string_too_long": "内容过长",
                "string_too_short": "内容过短",
                "json_invalid": "请求体不是有效的 JSON",
            }.get(err.get("type", ""), "填写的内容不符合要求")
            fields.setdefault(name, (zh, en))
        error = DomainError("core.invalid_input", "提交的内容有误，请检查标出的项目",
                            "Some fields are invalid; see the details", status=422, fields=fields)
        return _respond(api, request, error)

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.unauthenticated", "请先登录", "Please log in first", status=401))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.body_too_large", "提交的内容过大",
                                                  "The request body is too large", status=413))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.not_found", "记录不存在", "Not found", status=404))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        zh = {400: "请求格式不正确", 405: "不支持此请求方法", 413: "提交的内容过大"}.get(exc.status_code, "请求无法处理")
        return _respond(api, request, DomainError("core.bad_request", zh, str(exc.message), status=exc.status_code))

    @api.exception_handler(UnicodeDecodeError)
    def bad_encoding(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.bad_encoding", "请求内容必须是 UTF-8 编码",
                                                  "The request body must be UTF-8", status=400))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error")
        return _respond(api, request, DomainError("core.internal", "系统繁忙，请稍后再试",
                                                  "Something went wrong on our side; please try again later",
                                                  status=500))
