"""The database gone away (issue 12 §3): a clean 503 ``core.unavailable`` with Retry-After, JSON on the API and a
page elsewhere, never a 500 — whether the error comes out of a view or out of a middleware. The real restart is
drilled in tests/faults/test_database_restart.py (PostgreSQL)."""
from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from jiaoguan.core import middleware
from jiaoguan.payments import services

pytestmark = pytest.mark.django_db

GONE = OperationalError("connection failed: connection to server at \"127.0.0.1\", port 5432 failed: "
                        "Connection refused")


@pytest.mark.parametrize("error", [GONE, InterfaceError("connection already closed")])
@pytest.mark.parametrize(("language", "message"), [("zh-hans", "服务暂时不可用，请稍后重试"),
                                                   ("en", "The service is temporarily unavailable; please try "
                                                          "again shortly")])
def test_an_api_request_the_database_cannot_serve_is_a_503_json(monkeypatch, settings, error, language, message):
    settings.JIAOGUAN_UNAVAILABLE_RETRY_AFTER_SECONDS = 3

    def down(**kwargs):
        raise error

    monkeypatch.setattr(services, "callback_receive", down)
    answer = Client().post("/api/v1/payments/callback/sim", data=b"{}", content_type="application/json",
                           headers={"Accept-Language": language})
    assert answer.status_code == 503
    assert answer.json() == {"code": "core.unavailable", "message": message}
    assert answer["Retry-After"] == "3" and "no-store" in answer["Cache-Control"]


def test_a_page_the_database_cannot_serve_is_the_503_page(monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    def down(self):
        raise GONE

    monkeypatch.setattr(SessionStore, "load", down)
    client = Client()
    client.cookies["sessionid"] = "x" * 32  # a signed-in visitor: the session is read from the database
    answer = client.get("/me/appointments/", headers={"Accept-Language": "en"})
    assert answer.status_code == 503
    assert answer["Retry-After"] == "2"
    page = answer.content.decode()
    assert 'data-code="core.unavailable"' in page and "Service temporarily unavailable" in page
    assert "服务" not in page and "Traceback" not in page


def test_a_database_error_raised_by_a_middleware_is_a_503_too(monkeypatch):
    """Out of reach of every process_exception (Django turns it into its 500): the first middleware replaces it."""
    def down(self, request):
        raise GONE

    monkeypatch.setattr(middleware.PersonalNoStoreMiddleware, "__call__", down)
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/health")
    assert api.status_code == 503 and api.json()["code"] == "core.unavailable" and api["Retry-After"] == "2"
    page = client.get("/")
    assert page.status_code == 503 and 'data-code="core.unavailable"' in page.content.decode()


def test_other_server_errors_stay_500(monkeypatch):
    def broken(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(middleware.PersonalNoStoreMiddleware, "__call__", broken)
    answer = Client(raise_request_exception=False).get("/api/v1/health")
    assert answer.status_code == 500 and "Retry-After" not in answer
