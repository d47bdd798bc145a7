"""Journey (c), phone size only: a citizen whose phone on file was updated at a window sees the notice on "我的",
moves the account to the phone on file (code to the new phone + password), and sees the licence again."""
import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.identity.services import staff_bootstrap
from jiaoguan.registry.services import person_update_phone
from tests.factories import unique_phone
from tests.notifications.helpers import last_code
from tests.portal.support import PASSWORD, citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", ["phone"])  # overrides the conftest's phone + desktop parameters
def test_notice_change_phone_then_licence(journey):
    user, person, licence, car = citizen(name="何晓东")
    old_phone, on_file = user.phone, unique_phone()
    clerk = staff_bootstrap(username="clerk501", display_name="窗口民警", password=PASSWORD, role="clerk")
    person_update_phone(person=person, phone=on_file, actor=Actor.of(clerk), reason="本人持身份证更新预留手机号")

    j = journey("phone-change")
    page = j.page
    # log in with the account's (old) phone: the licence and car are withheld, the notice says why
    j.goto("/login/?next=/me/")
    page.get_by_label("手机号码").fill(old_phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/")
    notice = page.locator("#standing")
    assert "您的手机号与登记的预留手机号不一致" in notice.inner_text()
    body = j.text()
    assert licence.file_number not in body and car.plate[2:] not in body
    j.shot("01-notice")

    # the button in the notice leads to the page; the code goes to the new number
    notice.get_by_role("link", name="更换手机号").click()
    page.wait_for_url("**/me/phone/")
    page.get_by_label("新手机号码").fill(on_file)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送至").wait_for()
    assert page.get_by_label("新手机号码").input_value() == on_file  # kept
    page.get_by_label("短信验证码").fill(last_code(on_file))
    page.get_by_label("当前登录密码").fill(PASSWORD)
    j.shot("02-change")
    page.get_by_role("button", name="确认更换").click()
    page.wait_for_url("**/me/")

    # the licence and the car are back, the notice is gone
    body = j.text()
    assert "手机号已更换为" in body
    assert page.locator("#standing").count() == 0
    assert licence.file_number in body and f"粤B·{car.plate[2:]}" in body and "本人车辆" in body
    j.shot("03-licence")
