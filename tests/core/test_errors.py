"""Domain errors and the two places that render them: core.api_errors (JSON) and DomainErrorMiddleware (pages)."""
from __future__ import annotations

import json

import pytest
from django.test import RequestFactory, override_settings
from django.utils import translation

from jiaoguan.core import errors
from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.core.middleware import DomainErrorMiddleware

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


# --- DomainError itself ---------------------------------------------------------------------------------------

def test_as_dict_picks_the_language():
    err = InvalidInput("identity.phone_mismatch", "手机号与登记的不一致", "The phone number differs from the one on file",
                       field="phone")
    assert err.status == 422 and str(err) == "identity.phone_mismatch: The phone number differs from the one on file"
    assert err.as_dict("en") == {"code": "identity.phone_mismatch",
                                 "message": "The phone number differs from the one on file",
                                 "fields": {"phone": "The phone number differs from the one on file"}}
    assert err.as_dict("zh-hans") == {"code": "identity.phone_mismatch", "message": "手机号与登记的不一致",
                                      "fields": {"phone": "手机号与登记的不一致"}}
    assert err.as_dict("en-gb")["message"].startswith("The phone")
    with translation.override("en"):
        assert err.message() == err.en
    with translation.override("zh-hans"):
        assert err.message() == err.zh and err.field_messages() == {"phone": err.zh}


def test_fields_and_field_combine():
    err = DomainError("x.y", "中", "en", field="a", fields={"b": ("乙", "B")})
    assert err.status == 400
    assert err.as_dict("en")["fields"] == {"b": "B", "a": "en"}
    assert "fields" not in DomainError("x.y", "中", "en").as_dict("en")


@pytest.mark.parametrize(
    "cls, status",
    [(errors.InvalidInput, 422), (errors.NotFound, 404), (errors.Forbidden, 403), (errors.Unauthenticated, 401),
     (errors.Conflict, 409), (errors.RateLimited, 429), (errors.Locked, 423)],
)
def test_statuses(cls, status):
    assert cls("c", "中", "en").status == status
    assert cls("c", "中", "en", status=418).status == 418


def test_not_found_and_forbidden_share_one_message():
    a, b = errors.not_found("车辆", "vehicle"), errors.not_found()
    assert (a.code, a.status, a.zh, a.en) == ("core.not_found", 404, "车辆不存在", "The vehicle does not exist")
    assert b.zh == "记录不存在"
    assert errors.forbidden().as_dict("en") == {"code": "core.forbidden", "message": "You are not allowed to do this"}


# --- the JSON API's handlers ----------------------------------------------------------------------------------

def post_json(client, url, body, **extra):
    return client.post(url, data=body if isinstance(body, (bytes, str)) else json.dumps(body),
                       content_type="application/json", **extra)


@pytest.mark.urls("tests.core.urls_errors")
@pytest.mark.django_db
class TestApiErrors:
    def test_a_domain_error_with_its_field_in_either_language(self, client):
        r = post_json(client, "/api/test/plates", {"plate": "粤BI2345", "seats": 5}, **EN)
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "plate.format" and body["fields"]["plate"].startswith("The plate number")
        r = post_json(client, "/api/test/plates", {"plate": "粤BI2345", "seats": 5}, **ZH)
        assert r.json()["message"].startswith("号牌号码")
        r = post_json(client, "/api/test/plates", {"plate": "粤BI2345", "seats": 5})
        assert r.json()["message"].startswith("号牌号码")  # Chinese by default
        ok = post_json(client, "/api/test/plates", {"plate": "粤b12345", "seats": 5})
        assert ok.status_code == 200 and ok.json() == {"plate": "粤B12345", "seats": 5}

    def test_schema_validation_names_each_field(self, client):
        r = post_json(client, "/api/test/plates", {"seats": "many"}, **EN)
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "core.invalid_input"
        assert set(body["fields"]) == {"plate", "seats"}
        r = post_json(client, "/api/test/plates", {"seats": "many"}, **ZH)
        assert r.json()["fields"]["plate"] == "此项必填"

    def test_malformed_json_and_non_utf8_bodies_are_4xx(self, client):
        for body in (b"{not json", b'{"plate": "\xff\xfe", "seats": 1}', b"\xff\xfe\xfd", b""):
            r = post_json(client, "/api/test/plates", body, **EN)
            assert 400 <= r.status_code < 500, (body, r.status_code)
            assert "code" in r.json() and "message" in r.json()

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=200)
    def test_an_oversized_body_is_413(self, client):
        r = post_json(client, "/api/test/plates", {"plate": "粤B12345", "seats": 1, "pad": "x" * 1000}, **EN)
        assert r.status_code == 413
        assert r.json() == {"code": "core.body_too_large", "message": "The request body is too large"}

    def test_other_statuses(self, client):
        r = client.get("/api/test/conflict", **EN)
        assert r.status_code == 409
        assert r.json() == {"code": "bookings.full", "message": "This slot is fully booked", "fields": {"slot": "Full"}}
        r = client.get("/api/test/missing", **ZH)
        assert (r.status_code, r.json()) == (404, {"code": "core.not_found", "message": "记录不存在"})
        r = client.get("/api/test/not-yours", **EN)
        assert (r.status_code, r.json()["message"]) == (404, "The vehicle does not exist")
        r = client.get("/api/test/secure", **EN)
        assert (r.status_code, r.json()) == (401, {"code": "core.unauthenticated", "message": "Please log in first"})
        r = client.get("/api/test/teapot", **EN)
        assert (r.status_code, r.json()["code"]) == (418, "core.bad_request")
        r = client.post("/api/test/conflict", **EN)  # ninja answers 405 itself, with an empty HTML body
        assert (r.status_code, r.json()["code"], r["Allow"]) == (405, "core.method_not_allowed", "GET")
        r = client.get("/api/test/no-such-endpoint", **ZH)  # Django's own 404, outside ninja
        assert (r.status_code, r.json()) == (404, {"code": "core.not_found", "message": "记录不存在"})

    def test_an_unexpected_error_is_500_json_without_internals(self, client, caplog):
        r = client.get("/api/test/boom", **EN)
        assert r.status_code == 500
        assert r.json() == {"code": "core.internal",
                            "message": "Something went wrong on our side; please try again later"}
        assert "hunter2" not in r.content.decode()
        assert any("unhandled API error" in rec.message for rec in caplog.records)


@pytest.mark.django_db
def test_the_project_api_speaks_json(client):
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    r = client.post("/api/v1/health", **EN)
    assert r.status_code == 405 and r.json()["code"] == "core.method_not_allowed"
    r = client.get("/api/v1/no-such-endpoint", **EN)
    assert r.status_code == 404 and r.json() == {"code": "core.not_found", "message": "Not found"}


# --- pages ----------------------------------------------------------------------------------------------------

@pytest.mark.urls("tests.core.urls_errors")
@pytest.mark.django_db
class TestPageErrors:
    def test_a_domain_error_renders_the_error_page_with_its_status(self, client):
        r = client.get("/pages/refuse", **ZH)
        assert r.status_code == 409
        assert "core/error.html" in [t.name for t in r.templates]
        html = r.content.decode()
        assert 'data-code="licence.expired"' in html and "驾驶证已超过有效期" in html and "已过期" in html
        r = client.get("/pages/refuse", **EN)
        assert "The licence has expired" in r.content.decode() and "Expired" in r.content.decode()

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
    def test_an_oversized_form_is_413_page(self, client):
        r = client.post("/pages/upload", {"text": "x" * 1000}, **EN)
        assert r.status_code == 413
        assert 'data-code="core.body_too_large"' in r.content.decode()

    def test_other_exceptions_are_left_alone(self, client):
        with pytest.raises(ValueError):
            client.get("/pages/crash")


def test_the_middleware_leaves_api_exceptions_to_the_api_and_rewrites_stray_api_errors():
    from django.http import HttpResponse, HttpResponseServerError, JsonResponse

    request = RequestFactory().get("/api/v1/anything", HTTP_ACCEPT_LANGUAGE="en")
    request.LANGUAGE_CODE = "en"
    mw = DomainErrorMiddleware(lambda r: HttpResponseServerError("<h1>Server Error</h1>"))
    assert mw.process_exception(request, DomainError("x.y", "中", "en")) is None
    r = mw(request)
    assert r.status_code == 500 and json.loads(r.content)["code"] == "core.internal"
    # JSON errors from the API's own handlers and successful responses pass untouched
    body = JsonResponse({"code": "bookings.full", "message": "x"}, status=409)
    assert DomainErrorMiddleware(lambda r: body)(request) is body
    ok = HttpResponse("fine")
    assert DomainErrorMiddleware(lambda r: ok)(request) is ok
    # pages keep their HTML errors
    page = RequestFactory().get("/console/x")
    html = HttpResponse("nope", status=404)
    assert DomainErrorMiddleware(lambda r: html)(page) is html
