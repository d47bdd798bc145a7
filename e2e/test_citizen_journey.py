"""Journey (a): a citizen registers, logs in, sees their licence and vehicles, and binds a relative's car with
the code the owner received on the phone on file."""
import pytest

from tests.notifications.helpers import last_code
from tests.portal.support import PASSWORD, citizen_records

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_register_login_see_records_and_bind_a_relatives_car(journey):
    me, licence, car = citizen_records(name="陈小梅", classes="C1")
    father, _, fathers_car = citizen_records(name="陈建国", nev=True)
    j = journey("citizen")
    page = j.page

    # 1. the home page and its catalogue
    j.goto("/")
    assert "服务目录" in j.text() and "即将上线" in j.text()
    j.shot("01-home")

    # 2. register: phone → code → real-name details
    page.get_by_role("link", name="实名注册").first.click()
    page.wait_for_url("**/register/")
    page.get_by_label("手机号码").fill(me.phone)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/register/details/")
    assert "验证码已发送至" in j.text()
    page.get_by_label("短信验证码").fill(last_code(me.phone))
    page.get_by_label("姓名").fill(me.name)
    page.get_by_label("居民身份证号码").fill(me.id_number)
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    j.shot("02-register")
    page.get_by_role("button", name="完成注册").click()
    page.wait_for_url("**/me/")
    assert "注册成功" in j.text()

    # 3. log out, then log in with the password
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    assert "您已安全退出" in j.text()
    j.goto("/me/")
    page.wait_for_url("**/login/?next=%2Fme%2F")
    page.get_by_label("手机号码").fill(me.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.shot("03-login")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/")

    # 4. my licence and my vehicles
    body = j.text()
    assert "陈*梅，您好" in body
    assert "机动车驾驶证" in body and "小型汽车" in body and "正常" in body
    assert licence.file_number in body and me.id_number not in body
    assert f"粤B·{car.plate[2:]}" in body and "本人车辆" in body and "交强险有效" in body
    tiles = page.locator("#glance .tile")  # the summary at a glance: four tiles, nothing due yet
    assert tiles.count() == 4 and "待处理违法" in body and "待缴款" in body and "办理中的业务" in body
    assert page.locator("#glance .tile.attention").count() == 0
    j.shot("04-me")

    # 5. bind the father's car: the code goes to the father's phone on file
    page.get_by_role("link", name="绑定他人机动车").first.click()
    page.wait_for_url("**/me/vehicles/bind/")
    page.get_by_label("号牌种类").select_option(fathers_car.plate_type)
    page.get_by_label("号牌号码").fill(fathers_car.plate)
    page.get_by_label("车辆识别代号后4位").fill(fathers_car.vin[-4:])
    j.shot("05-bind")
    page.get_by_role("button", name="向车主发送验证码").click()
    page.wait_for_url("**/confirm/")
    assert "验证码已发送至车主预留的手机号码" in j.text()
    code = last_code(father.phone)
    assert code and last_code(me.phone) != code
    j.shot("06-owner-code")
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="确认绑定").click()
    page.wait_for_url("**/me/#vehicles")
    body = j.text()
    assert f"绑定成功：粤B·{fathers_car.plate[2:]}" in body
    assert "绑定的他人车辆" in body and "解除绑定" in body
    assert "陈建国" not in body and father.id_number not in body
    assert page.locator(".plate.nev").count() >= 1  # the new-energy car has the green plate
    j.shot("07-bound")

    # 6. messages: the welcome and the binding confirmation
    page.get_by_role("link", name="我的消息").first.click()
    page.wait_for_url("**/me/messages/")
    assert "欢迎使用交管服务" in j.text()
    j.shot("08-messages")

    # 7. the same page in English
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="中文").wait_for()
    assert "My messages" in j.text()
    j.goto("/me/")
    body = j.text()
    assert "Driving licence" in body and "My vehicles" in body and "Someone else's vehicle" in body
    j.shot("09-me-english")
