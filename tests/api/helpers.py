"""Helpers for API tests: JSON posts and logged-in clients."""
from __future__ import annotations

import json

from django.test import Client

from jiaoguan.identity import services
from tests.identity.helpers import PASSWORD, fresh_ip

API = "/api/v1/"


def post(client: Client, path: str, data=None, **extra):
    body = data if isinstance(data, (bytes, str)) else json.dumps(data or {})
    return client.post(API + path, body, content_type=extra.pop("content_type", "application/json"),
                       REMOTE_ADDR=extra.pop("ip", None) or fresh_ip(), **extra)


def get(client: Client, path: str, **extra):
    return client.get(API + path, **extra)


def delete(client: Client, path: str, **extra):
    return client.delete(API + path, **extra)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {services.token_issue(user=user)}"}


def session_client(user, password: str = PASSWORD) -> Client:
    c = Client()
    r = post(c, "auth/login", {"login": user.phone or user.username, "password": password, "mode": "session"})
    assert r.status_code == 200, r.content
    return c


def assert_error(response, status: int, code: str | None = None, fields: set[str] | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["message"] and body["code"]
    if code:
        assert body["code"] == code, body
    if fields:
        assert fields <= set(body.get("fields") or {}), body
    return body
