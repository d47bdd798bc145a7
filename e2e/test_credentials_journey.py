"""Journey (credentials): the holder of a truck pass sees it under 我的电子证照 and opens the permit with its QR
code; anyone (logged out) opens the verification address and sees it genuine and valid, with the holder masked;
once the traffic police revoke it, both pages say so and the permit shows no QR code."""
from __future__ import annotations

import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.credentials import selectors, services
from tests.credentials.conftest import holder, issue
from tests.portal.support import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(j, user, path: str):
    j.goto(f"/login/?next={path}")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(f"**{path}")


def test_holder_shows_the_permit_anyone_verifies_it(journey):
    user = holder(name="陈通行")
    c = issue(user, fields=[("号牌号码", "Plate", "粤B·D***45"), ("车辆类型", "Vehicle type", "轻型厢式货车"),
                            ("通行区域", "Zone", "南山区 科技园片区（含深南大道辅道）"),
                            ("通行时段", "Hours", "工作日 09:00–17:00、20:00–次日07:00")])
    j = journey("credentials")
    page = j.page
    log_in(j, user, "/credentials/")

    # 1. my e-credentials
    body = j.text()
    assert "我的电子证照" in body and "货车通行证" in body and "真实有效" in body
    j.shot("01-list")

    # 2. the permit with its QR code, shown to a police officer
    page.get_by_role("link", name="出示证照").click()
    page.wait_for_url(f"**/credentials/{c.number}/")
    body = j.text()
    assert "轻型厢式货车" in body and "陈*行" in body and "陈通行" not in body
    assert page.locator(".qr-box svg").count() == 1
    verify_path = selectors.verify_url(c)
    assert page.locator(f'a[href$="{verify_path}"]').count() == 1
    j.shot("02-permit")

    # 3. anyone opens the address in the QR code: genuine and valid, holder masked
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    j.goto(verify_path)
    body = j.text()
    assert "真实有效" in body and "陈*行" in body and "陈通行" not in body and "粤B·D***45" in body
    j.shot("03-verify-valid")

    # 4. revoked: the public page and the holder's permit say so; no QR code any more
    services.credential_revoke(credential_id=c.pk, actor=Actor(id=None, label="审批民警", role="approver"),
                               reason="车辆已转让")
    j.goto(verify_path)
    assert "已被注销" in j.text() and "真实有效" not in j.text()
    j.shot("04-verify-revoked")
    log_in(j, user, f"/credentials/{c.number}/")
    body = j.text()
    assert "已被注销" in body and "车辆已转让" in body and page.locator(".qr-box svg").count() == 0
    j.shot("05-permit-revoked")
