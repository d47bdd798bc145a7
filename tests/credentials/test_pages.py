"""Portal pages: my e-credentials (login, own only), the permit with its QR code, the public verification page
(masked, rate-limited), in Chinese and English."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.credentials import selectors, services
from jiaoguan.credentials.models import Credential
from tests.credentials.conftest import holder, issue
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db


def test_my_list_needs_login(client):
    r = client.get("/credentials/")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=%2Fcredentials%2F")


def test_my_list_and_the_permit(client, user, credential):
    other = holder(name="王五六")
    theirs = issue(other, kind="parking_licence")
    client.force_login(user)
    page = text(client.get("/credentials/"))
    assert "我的电子证照" in page and "货车通行证" in page and "真实有效" in page
    assert credential.number[:4] + " " + credential.number[4:8] in page and theirs.number[:8] not in page
    r = client.get(f"/credentials/{credential.number}/")
    page = text(r)
    assert r.status_code == 200 and "南山区 科技园片区" in page and "陈*行" in page and "粤B·***45" in page
    html = r.content.decode()
    assert html.count('<svg') == 1 and 'class="qr"' in html
    assert f"http://testserver/credentials/verify/{credential.number}/{credential.token}/" in html
    assert client.get(f"/credentials/{theirs.number}/").status_code == 404
    assert client.get("/credentials/202600000000000/").status_code == 404
    assert client.get("/credentials/nonsense/").status_code == 404


def test_a_revoked_permit_shows_no_qr(client, user, credential):
    services.credential_revoke(credential_id=credential.pk, actor=Actor.system("test"), reason="车辆已报废")
    client.force_login(user)
    r = client.get(f"/credentials/{credential.number}/")
    page = text(r)
    assert "已被注销" in page and "车辆已报废" in page and "此证照已不能使用" in page
    assert 'class="qr"' not in r.content.decode()


def test_english(client, user, credential):
    client.force_login(user)
    page = text(client.get(f"/credentials/{credential.number}/", **EN))
    assert "Truck pass permit" in page and "Plate" in page and "Genuine and valid" in page and "Valid until" in page
    page = text(client.get("/credentials/", **EN))
    assert "My e-credentials" in page and "Show" in page
    page = text(client.get(selectors.verify_url(credential), **EN))
    assert "E-credential check" in page and "personal data is masked" in page


def test_verify_page_is_public_and_masked(client, credential):
    r = client.get(selectors.verify_url(credential))
    page = text(r)
    assert r.status_code == 200 and "真实有效" in page and "陈*行" in page and "陈通行" not in page
    assert credential.token not in r.content.decode().replace(selectors.verify_url(credential), "")


def test_verify_page_states(client, clock, credential):
    url = selectors.verify_url(credential)
    r = client.get(url.replace(credential.token, "x" * len(credential.token)))
    assert r.status_code == 404 and "未找到该电子证照" in text(r) and "货车通行证" not in text(r)
    clock.freeze(credential.valid_until + dt.timedelta(days=1))
    assert "已过有效期" in text(client.get(url))
    clock.reset()
    services.credential_revoke(credential_id=credential.pk, actor=Actor.system("test"), reason="x")
    assert "已被注销" in text(client.get(url))
    Credential.objects.filter(pk=credential.pk).update(valid_until=None)
    page = text(client.get(url))
    assert "签名校验失败" in page and "货车通行证" not in page


def test_verify_page_is_rate_limited(client, settings, credential):
    settings.JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP = "2/m"
    url = selectors.verify_url(credential)
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    r = client.get(url)
    assert r.status_code == 429 and "核验过于频繁" in text(r) and "货车通行证" not in text(r)
