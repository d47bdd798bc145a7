"""Log in (password or SMS code), log out, password reset; staff accounts are sent to the console."""
import pytest
from django.core.cache import cache

from tests.notifications.helpers import last_code
from tests.portal.support import EN, PASSWORD, citizen, field_errors, staff_user, text

pytestmark = pytest.mark.django_db


def test_password_login_goes_to_my_page(client):
    user, person, _, _ = citizen()
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/me/"
    assert client.get("/me/").status_code == 200


def test_login_returns_to_the_page_asked_for_but_never_off_site(client):
    user, person, _, _ = citizen()
    r = client.get("/me/messages/")
    assert r.status_code == 302 and r["Location"] == "/login/?next=%2Fme%2Fmessages%2F"
    login_page = client.get(r["Location"])
    assert 'name="next" value="/me/messages/"' in login_page.content.decode()
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": PASSWORD,
                                "next": "/me/messages/"})
    assert r["Location"] == "/me/messages/"
    client.post("/logout/")
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": PASSWORD,
                                "next": "https://evil.example/steal"})
    assert r["Location"] == "/me/"


def test_wrong_password_keeps_the_login_and_says_so_in_both_languages(client):
    user, person, _, _ = citizen()
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": "not-the-password"})
    assert r.status_code == 401
    assert "账号或密码错误" in text(r)
    assert f'value="{person.phone}"' in r.content.decode()
    assert "not-the-password" not in r.content.decode()
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": "nope-nope"}, **EN)
    assert "Wrong login or password" in text(r)
    assert "_auth_user_id" not in client.session


def test_empty_login_form(client):
    r = client.post("/login/", {"method": "password", "login": "", "password": ""})
    assert r.status_code == 400
    assert field_errors(r, "login") == ["这个字段是必填项。"]
    assert field_errors(r, "password") == ["这个字段是必填项。"]


def test_sms_login_without_javascript(client):
    user, person, _, _ = citizen()
    page = text(client.get("/login/?method=sms"))
    assert "获取验证码" in page
    r = client.post("/login/", {"method": "sms", "phone": person.phone, "action": "send"})
    assert r.status_code == 200
    assert "验证码已发送至" in text(r)
    assert f'value="{person.phone}"' in r.content.decode()
    code = last_code(person.phone)
    assert code
    r = client.post("/login/", {"method": "sms", "phone": person.phone, "action": "login"})
    assert r.status_code == 400 and field_errors(r, "code") == ["请输入短信验证码"]
    r = client.post("/login/", {"method": "sms", "phone": person.phone, "code": code, "action": "login"})
    assert r.status_code == 302 and r["Location"] == "/me/"


def test_sms_login_with_a_wrong_code(client):
    user, person, _, _ = citizen()
    client.post("/login/", {"method": "sms", "phone": person.phone, "action": "send"})
    code = last_code(person.phone)
    r = client.post("/login/", {"method": "sms", "phone": person.phone, "code": "999999" if code != "999999" else "000000",
                                "action": "login"}, **EN)
    assert r.status_code == 422
    assert field_errors(r, "code") == ["The code is wrong or no longer valid; check it or request a new one"]


def test_logout_needs_post(client):
    user, person, _, _ = citizen()
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    r = client.post("/logout/")
    assert r.status_code == 302 and r["Location"] == "/"
    assert client.get("/me/").status_code == 302


def test_staff_logging_in_on_the_portal_are_sent_to_the_console(client):
    staff_user("clerk", "clerk001")
    r = client.post("/login/", {"method": "password", "login": "clerk001", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/console/"
    # and "my" pages send them there too
    r = client.get("/me/")
    assert r.status_code == 302 and r["Location"] == "/console/"


def test_password_reset_by_sms(client):
    user, person, _, _ = citizen()
    assert "找回密码" in text(client.get("/password/reset/"))
    r = client.post("/password/reset/", {"phone": person.phone, "action": "send"})
    assert r.status_code == 200 and "验证码已发送至" in text(r)
    code = last_code(person.phone)
    new = "Brand-new-pass-7"
    r = client.post("/password/reset/", {"phone": person.phone, "code": code, "new_password": new, "password2": "x" + new,
                                         "action": "reset"})
    assert r.status_code == 400 and field_errors(r, "password2") == ["两次输入的密码不一致"]
    r = client.post("/password/reset/", {"phone": person.phone, "code": code, "new_password": new, "password2": new,
                                         "action": "reset"})
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert "密码已重置" in text(client.get("/login/"))
    cache.clear()
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": PASSWORD})
    assert r.status_code == 401
    r = client.post("/login/", {"method": "password", "login": person.phone, "password": new})
    assert r.status_code == 302


def test_password_reset_needs_the_code(client):
    user, person, _, _ = citizen()
    r = client.post("/password/reset/", {"phone": person.phone, "new_password": "Brand-new-pass-7",
                                         "password2": "Brand-new-pass-7", "action": "reset"}, **EN)
    assert r.status_code == 400 and field_errors(r, "code") == ["Enter the SMS code"]
