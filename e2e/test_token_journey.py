"""Journey: a clerk's app logs in to the API; the clerk finds the token in the console, revokes it, and the app's
next call is a 401 (issue 10 item 4)."""
import json

import pytest
from django.test import Client

from tests.portal.support import PASSWORD, browser_console_log_in, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _api(method: str, path: str, **kw):
    c = Client()
    if method == "post":
        return c.post("/api/v1/" + path, json.dumps(kw.pop("data")), content_type="application/json", **kw)
    return c.get("/api/v1/" + path, **kw)


def test_clerk_revokes_their_app_token(journey):
    staff_user("clerk", "clerk001", display_name="张警官")
    r = _api("post", "auth/login", data={"login": "clerk001", "password": PASSWORD, "mode": "token",
                                         "label": "执法终端"})
    assert r.status_code == 200
    token = r.json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert _api("get", "me", **auth).status_code == 200

    j = journey("tokens")
    page = j.page
    browser_console_log_in(j, "clerk001")

    page.get_by_role("link", name="API 令牌").click()
    page.wait_for_url("**/console/tokens/")
    body = j.text()
    assert "我的 API 令牌" in body and "执法终端" in body and "最长有效 8 小时" in body and token not in body
    j.shot("01-my-tokens")

    page.get_by_role("button", name="撤销").click()
    page.wait_for_url("**/console/tokens/")
    body = j.text()
    assert "令牌已撤销" in body and "没有有效的令牌" in body
    j.shot("02-revoked")
    assert _api("get", "me", **auth).status_code == 401
