"""The JSON API's one place that turns exceptions into responses: ``{"code", "message", "fields"?}`` with the
message in the request's language (Accept-Language or the language cookie)."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import codes_4xx

from jiaoguan.core.errors import DomainError
from jiaoguan.core.http import language_of
from jiaoguan.core.inputs import api_operations

log = logging.getLogger(__name__)


class ErrorOut(Schema):
    """Every API error, in one shape."""

    code: str = Field(description="stable error code, e.g. identity.phone_mismatch")
    message: str = Field(description="in the request's language (Accept-Language: zh-hans default, en)")
    fields: dict[str, str] | None = Field(None, description="field name -> message")


# The 4xx statuses the API answers: django-ninja's list (400-412, 416, 418, 425, 429, 451) and ours that it lacks:
# 413 (body too large), 415, 422 (invalid fields), 423 (account locked).
ERROR_STATUSES = frozenset(codes_4xx | {413, 415, 422, 423})

# The 4xx responses every endpoint declares: response={200: ..., **ERRORS}; document_errors() adds them where missing
ERRORS = {ERROR_STATUSES: ErrorOut}

# zh for pydantic's error types (the en is pydantic's own message)
_ZH_BY_TYPE = {
    "missing": "此项必填",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "json_invalid": "请求体不是有效的 JSON",
    "greater_than": "超出允许的范围",
    "greater_than_equal": "超出允许的范围",
    "less_than": "超出允许的范围",
    "less_than_equal": "超出允许的范围",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "datetime_from_date_parsing": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "datetime_type": "时间格式应为 YYYY-MM-DDTHH:MM:SS+08:00",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
}


# The database went away (restarted, connection refused or terminated, a lock or statement cut short): the request
# is refused whole with a 503 the client may retry — with the same Idempotency-Key for a write — never a 500.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def unavailable_error() -> DomainError:
    return DomainError("core.unavailable", "服务暂时不可用，请稍后重试", "The service is temporarily unavailable; "
                       "please try again shortly", status=503)


def retry_after_set(response: HttpResponse) -> HttpResponse:
    """A 503's Retry-After (JIAOGUAN_UNAVAILABLE_RETRY_AFTER_SECONDS) and never a cached copy of it."""
    response["Retry-After"] = str(settings.JIAOGUAN_UNAVAILABLE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


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
            zh = _ZH_BY_TYPE.get(err.get("type", ""), "填写的内容不符合要求")
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

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request: HttpRequest, exc: Exception) -> HttpResponse:
        # a multipart body without a boundary, or cut short: the client's fault, as Django's pages answer it (400)
        return _respond(api, request, DomainError("core.bad_multipart", "上传的表单格式不正确，请重新选择文件后提交",
                                                  "The multipart form is malformed; choose the file again and "
                                                  "resubmit", status=400))

    @api.exception_handler(UnreadablePostError)
    def unreadable(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.bad_request", "请求格式不正确", "The request is malformed",
                                                  status=400))

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # too many fields or files, a bad host...: logged where Django logs them, answered 400 as Django does
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        return _respond(api, request, DomainError("core.bad_request", "请求格式不正确", "The request is malformed",
                                                  status=400))

    @api.exception_handler(BadRequest)
    def bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.bad_request", "请求格式不正确", "The request is malformed",
                                                  status=400))

    @api.exception_handler(PermissionDenied)
    def permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _respond(api, request, DomainError("core.forbidden", "您无权进行此操作",
                                                  "You are not allowed to do this", status=403))

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

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.warning("database unavailable during %s %s: %s: %s", request.method, request.path,
                    type(exc).__name__, str(exc).strip()[:200])
        return retry_after_set(_respond(api, request, unavailable_error()))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("unhandled API error")
        return _respond(api, request, DomainError("core.internal", "系统繁忙，请稍后再试",
                                                  "Something went wrong on our side; please try again later",
                                                  status=500))


def document_errors(api: NinjaAPI) -> None:
    """Every operation documents the error shape for every 4xx status the API answers (ERRORS), so the OpenAPI
    document matches what a client can get (a 401 or 422 from an operation that declared only its 200, say).
    An operation with a single non-200 response keeps it alone: django-ninja answers a bare return value with the
    only status declared, and its errors stay undocumented (none today; the API schema test lists them)."""
    for _path, operation in api_operations(api):
        models = operation.response_models
        if len(models) == 1 and 200 not in models:
            continue
        error_model = next((models[code] for code in ERROR_STATUSES if code in models), None) \
            or operation._create_response_model(ErrorOut)
        for code in ERROR_STATUSES:
            models.setdefault(code, error_model)
