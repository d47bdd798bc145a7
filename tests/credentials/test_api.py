"""The credentials API: my credentials (own only), public verification (rate-limited per IP), staff revocation
(credential.revoke), public keys."""
from __future__ import annotations

import pytest

from jiaoguan.credentials.models import Credential
from jiaoguan.identity import services as identity
from tests.credentials.conftest import holder, issue
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def verify(client, c, **h):
    return client.get(f"/api/v1/credentials/verify?number={c.number}&token={c.token}", **h)


def test_my_credentials(client, user, credential):
    other = holder(name="王五六")
    theirs = issue(other)
    r = client.get("/api/v1/me/credentials", **auth(user))
    assert r.status_code == 200 and [c["number"] for c in r.json()] == [credential.number]
    body = client.get(f"/api/v1/me/credentials/{credential.number}", **auth(user)).json()
    assert body["status"] == "valid" and body["title_en"] == "Truck pass permit" and body["holder"] == "陈*行"
    assert body["verify_url"].endswith(f"/credentials/verify/{credential.number}/{credential.token}/")
    assert body["fields"][0] == {"label_zh": "号牌号码", "label_en": "Plate", "value": "粤B·***45",
                                 "value_en": "粤B·***45"}
    assert body["signature"]["alg"] == "ed25519"
    r = client.get(f"/api/v1/me/credentials/{theirs.number}", **auth(user))
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert client.get("/api/v1/me/credentials/202600000000000", **auth(user)).status_code == 404
    assert client.get("/api/v1/me/credentials/../../x", **auth(user)).status_code == 404
    assert client.get("/api/v1/me/credentials").status_code == 401


def test_verify_is_public_and_masked(client, credential):
    r = verify(client, credential)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "valid" and body["valid"] is True
    assert body["holder"] == "陈*行" and body["number"] == credential.number
    assert "token" not in body and "signature" not in body
    r = client.get(f"/api/v1/credentials/verify?number={credential.number}&token=wrong")
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert client.get("/api/v1/credentials/verify").status_code == 404


def test_verify_reports_tampering_without_content(client, credential):
    Credential.objects.filter(pk=credential.pk).update(title_zh="改过的")
    body = verify(client, credential).json()
    assert body["status"] == "signature_mismatch" and body["genuine"] is False and "title_zh" not in body
    assert body["message_en"].startswith("Signature check failed")


def test_verify_is_rate_limited_per_ip(client, settings, credential):
    settings.JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP = "3/m"
    ip1, ip2 = {"REMOTE_ADDR": "198.51.100.1"}, {"REMOTE_ADDR": "198.51.100.2"}
    codes = [client.get(f"/api/v1/credentials/verify?number=2026{i:010d}0&token=x", **ip1).status_code
             for i in range(3)]
    assert codes == [404, 404, 404]
    r = verify(client, credential, **ip1)  # even the right number and token: the scanner is stopped
    assert r.status_code == 429 and r.json()["code"] == "credentials.rate_limited"
    assert verify(client, credential, **ip2).status_code == 200


def test_staff_revoke(client, credential):
    citizen = credential.holder
    clerk = staff_user("clerk", "clerk701")
    approver = staff_user("approver", "appr701")
    url = f"/api/v1/staff/credentials/{credential.pk}/revoke"
    data = {"reason": "通行证信息有误"}
    assert client.post(url, data=data, content_type="application/json").status_code == 401
    for who in (citizen, clerk):
        r = client.post(url, data=data, content_type="application/json", **auth(who))
        assert r.status_code == 403, who.role
    r = client.post(url, data={"reason": ""}, content_type="application/json", **auth(approver))
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = client.post(url, data=data, content_type="application/json", **auth(approver))
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert verify(client, credential).json()["status"] == "revoked"
    r = client.post(url, data=data, content_type="application/json", **auth(approver))
    assert r.status_code == 409 and r.json()["code"] == "credentials.already_revoked"
    for bad in ("999999", "99999999999999999999999", "abc"):
        r = client.post(f"/api/v1/staff/credentials/{bad}/revoke", data=data, content_type="application/json",
                        **auth(approver))
        assert r.status_code == 404, bad


def test_public_keys(client, credential):
    r = client.get("/api/v1/credentials/keys")
    assert r.status_code == 200 and credential.key_id in {k["kid"] for k in r.json()}
