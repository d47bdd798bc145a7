"""Journey (预留手机号变更 online): a holder changes the phone on file from "我的" — a code to the new number and the
password — and sees it cooling off; the old number's SMS carries an objection code that, typed on the public page
linked from the login page, stops it. A second holder's change waits out the cooling-off period, takes effect, and
the holder logs in with the new number and sees the licence."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from jiaoguan.core import clock
from jiaoguan.identity import services
from tests.factories import unique_phone
from tests.notifications.helpers import last_code, last_sms
from tests.portal.support import PASSWORD, browser_log_in, citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def ask_for_change(j, new: str):
    page = j.page
    page.get_by_role("link", name="变更预留手机号").click()
    page.wait_for_url("**/me/phone-on-file/")
    page.get_by_label("新预留手机号码").fill(new)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state()
    page.get_by_label("短信验证码").fill(last_code(new))
    page.get_by_label("当前登录密码").fill(PASSWORD)
    page.get_by_role("button", name="提交变更申请").click()
    page.wait_for_selector("#phone-file-pending")


def test_a_change_stopped_from_the_old_number_and_one_that_takes_effect(journey):
    user, person, licence, _car = citizen(name="韩预留")
    old, new = user.phone, unique_phone()
    j = journey("phone-file")
    page = j.page

    # 1. ask from "我的": the page explains the cooling-off period, then shows the change waiting, masked
    browser_log_in(j, old, "/me/")
    ask_for_change(j, new)
    body = j.text()
    assert "冷静期中" in body and new not in body and new[-4:] in body
    j.shot("01-cooling")

    # 2. the old number got the objection code; the login page links the public page that takes it
    code = re.search(r"([2-9A-Z]{5}-[2-9A-Z]{5})", last_sms(old)).group(1)
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    j.goto("/login/")
    page.get_by_role("link", name=re.compile("撤销变更")).click()
    page.wait_for_url("**/phone-on-file/object/")
    page.get_by_label("撤销码").fill("ABCDE-FGHJK")
    page.get_by_role("button", name="撤销变更").click()
    assert "撤销码不正确" in j.text()
    j.shot("02-wrong-code")
    page.get_by_label("撤销码").fill(code.lower())
    page.get_by_role("button", name="撤销变更").click()
    page.wait_for_selector("#objection-done")
    j.shot("03-stopped")
    person.refresh_from_db()
    assert person.phone == old

    # 3. another holder's change takes effect after the period; they log in with the new number
    other, other_person, other_licence, _ = citizen(name="杨新号")
    browser_log_in(j, other.phone, "/me/")
    new2 = unique_phone()
    ask_for_change(j, new2)
    assert services.phone_on_file_changes_apply(now=clock.now() + dt.timedelta(hours=72, seconds=1)) == 1
    j.goto("/me/phone-on-file/")
    page.wait_for_url("**/login/**")  # every other session ended when the account moved to the new number
    browser_log_in(j, new2, "/me/")
    body = j.text()
    assert other_licence.file_number in body
    j.goto("/me/phone-on-file/")
    assert "已生效" in j.text()
    j.shot("04-in-effect")
