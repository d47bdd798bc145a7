"""The account-standing notice on "我的" and the "更换手机号 / Change phone" page."""
import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity.models import User
from jiaoguan.identity.selectors import (
    PHONE_MISMATCH_EN,
    PHONE_MISMATCH_ZH,
    PHONE_MISSING_ZH,
)
from jiaoguan.identity.services import staff_bootstrap
from jiaoguan.registry.services import person_update_phone
from tests.factories import make_licence, make_person, unique_phone
from tests.identity.helpers import register as identity_register
from tests.notifications.helpers import clear_outbox, last_code
from tests.portal.support import EN, PASSWORD, citizen, field_errors, staff_user, text

pytestmark = pytest.mark.django_db
URL = "/me/phone/"


def window_updates_phone(person, phone):
    clerk = staff_bootstrap(username=f"clerk{phone[-6:]}", display_name="窗口民警", password=PASSWORD, role="clerk")
    person_update_phone(person=person, phone=phone, actor=Actor.of(clerk), reason="本人持身份证更新预留手机号")


@pytest.fixture
def mismatched(client):
    """A logged-in citizen (licence and a car) whose phone on file was updated at a window after registering."""
    user, person, lic, car = citizen(name="林小华")
    on_file = unique_phone()
    window_updates_phone(person, on_file)
    user.refresh_from_db()
    clear_outbox()
    client.force_login(user)
    return user, person, lic, car, on_file


def send(client, phone, **extra):
    return client.post(URL, {"action": "send", "new_phone": phone}, **extra)


def confirm(client, phone, code, password=PASSWORD, **extra):
    return client.post(URL, {"action": "change", "new_phone": phone, "code": code, "password": password}, **extra)


# --- the notice on "我的" ---------------------------------------------------------------------------------------

def test_the_notice_is_shown_first_with_a_link_to_change_the_phone(client, mismatched):
    _user, _person, lic, car, _on_file = mismatched
    r = client.get("/me/")
    html, page = r.content.decode(), text(r)
    assert r.status_code == 200
    assert PHONE_MISMATCH_ZH in page and "驾驶证和本人机动车暂不显示" in page
    notice = html.index('id="standing"')
    assert notice < html.index('id="licence"') and notice < html.index('id="vehicles"')  # before the records
    assert 'role="alert"' in html[notice - 60:notice + 60]
    assert html.count(f'href="{URL}"') >= 2 and "更换手机号" in page  # in the notice and in the quick links
    assert lic.file_number not in page and car.plate[2:] not in page
    assert "暂不显示，请见上方提示。" in page and "您名下没有驾驶证记录" not in page


def test_the_notice_in_english(client, mismatched):
    page = text(client.get("/me/", **EN))
    assert PHONE_MISMATCH_EN in page and PHONE_MISMATCH_ZH not in page
    assert "Change phone" in page and "Your driving licence and own vehicles are not shown" in page


def test_no_notice_when_all_is_well(client):
    user, _person, lic, _car = citizen()
    client.force_login(user)
    r = client.get("/me/")
    assert 'id="standing"' not in r.content.decode() and PHONE_MISMATCH_ZH not in text(r)
    assert lic.file_number in text(r)


def test_no_phone_on_file_shows_the_window_notice_without_the_change_button(client):
    person = make_person(name="郭小军", phone=None)
    user = identity_register(person, phone=unique_phone(), password=PASSWORD)  # any phone: nothing held yet
    make_licence(person=person)
    client.force_login(user)
    r = client.get("/me/")
    page = text(r)
    assert PHONE_MISSING_ZH in page
    section = r.content.decode().split('id="standing"')[1].split("</section>")[0]
    assert URL not in section  # changing the account's phone cannot help: the window must add one first


# --- the page ---------------------------------------------------------------------------------------------------

def test_anonymous_and_staff_cannot_open_the_page(client):
    r = client.get(URL)
    assert r.status_code == 302 and r["Location"] == "/login/?next=%2Fme%2Fphone%2F"
    client.force_login(staff_user("clerk", "clerk777"))
    assert client.get(URL)["Location"] == "/console/"


def test_page_renders_in_both_languages(client, mismatched):
    user = mismatched[0]
    page = text(client.get(URL))
    assert "更换手机号" in page and "新手机号码" in page and "当前登录密码" in page and "获取验证码" in page
    assert mask_phone(user.phone) in page and user.phone not in page
    assert "预留" in page and "车管所窗口" in page
    page_en = text(client.get(URL, **EN))
    assert "Change phone" in page_en and "New mobile number" in page_en and "Current password" in page_en
    assert "新手机号码" not in page_en


def test_the_whole_flow_then_the_licence_is_back(client, mismatched):
    user, _person, lic, car, on_file = mismatched
    r = send(client, on_file)
    assert r.status_code == 200
    page = text(r)
    assert f"验证码已发送至 {mask_phone(on_file)}" in page
    assert f'value="{on_file}"' in r.content.decode()  # the new number stays in the form
    code = last_code(on_file)
    assert code and last_code(user.phone) is None

    r = confirm(client, on_file, code)
    assert r.status_code == 302 and r["Location"] == "/me/"
    r = client.get("/me/")
    page = text(r)
    assert f"手机号已更换为 {mask_phone(on_file)}" in page
    assert 'id="standing"' not in r.content.decode()
    assert lic.file_number in page and car.plate[2:] in page and "本人车辆" in page
    assert User.objects.get(pk=user.pk).phone == on_file


def test_wrong_password_is_shown_beside_the_field_and_input_is_kept(client, mismatched):
    user, _person, _lic, _car, on_file = mismatched
    send(client, on_file)
    code = last_code(on_file)
    r = confirm(client, on_file, code, password="not-my-password")
    assert r.status_code == 422
    assert field_errors(r, "password") == ["当前登录密码不正确"]
    html = r.content.decode()
    assert f'value="{on_file}"' in html and f'value="{code}"' in html and "not-my-password" not in html
    r = confirm(client, on_file, code, password="not-my-password", **EN)
    assert field_errors(r, "password") == ["The current password is wrong"]
    assert User.objects.get(pk=user.pk).phone == user.phone


def test_wrong_code_is_shown_beside_the_code(client, mismatched):
    _user, _person, _lic, _car, on_file = mismatched
    send(client, on_file)
    code = last_code(on_file)
    r = confirm(client, on_file, f"{(int(code) + 1) % 10**6:06d}")
    assert r.status_code == 422 and field_errors(r, "code") == ["验证码不正确或已失效，请核对或重新获取"]


def test_missing_code_and_password(client, mismatched):
    on_file = mismatched[4]
    r = confirm(client, on_file, "")
    assert r.status_code == 400 and field_errors(r, "code") == ["请输入短信验证码"]
    r = client.post(URL, {"action": "change", "new_phone": on_file, "code": "123456"})
    assert r.status_code == 400 and field_errors(r, "password") == ["这个字段是必填项。"]


@pytest.mark.parametrize("bad", ["12345", "２３４", "1380013800x"])
def test_malformed_new_phone(client, mismatched, bad):
    r = send(client, bad)
    assert r.status_code == 422 and field_errors(r, "new_phone") == ["请输入11位中国大陆手机号码"]
    assert last_code(bad) is None


def test_the_current_phone_is_refused_beside_the_field(client, mismatched):
    user = mismatched[0]
    r = send(client, user.phone)
    assert r.status_code == 422 and field_errors(r, "new_phone") == ["新手机号与账户当前的手机号相同"]


def test_a_number_with_another_account_is_409_beside_the_field(client, mismatched):
    other, _p, _l, _c = citizen(name="黄大伟")
    client.force_login(mismatched[0])
    send(client, other.phone)
    r = confirm(client, other.phone, last_code(other.phone))
    assert r.status_code == 409
    assert field_errors(r, "new_phone") == ["该手机号码已被其他账户使用，不能更换为该号码"]


def test_a_second_code_within_a_minute_is_refused(client, mismatched):
    on_file = mismatched[4]
    send(client, on_file)
    r = send(client, on_file)
    assert r.status_code == 429 and "操作过于频繁" in field_errors(r, "new_phone")[0]


def test_the_register_page_says_who_must_use_the_phone_on_file(client):
    page = text(client.get("/register/"))
    assert "凡在交管部门（车管所）预留了手机号码的，必须使用该预留手机号码注册" in page
    page_en = text(client.get("/register/", **EN))
    assert "Anyone whose phone number is on file with the traffic police" in page_en
