"""API: sms-code, register, login (session and token), logout, password reset, CSRF, languages."""
import datetime as dt

import pytest
from django.test import Client

from jiaoguan.identity.models import ApiToken, User
from tests.api.helpers import assert_error, bearer, get, post, session_client
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, code_for, holder, later, register, wrong
from tests.notifications.helpers import last_code

pytestmark = pytest.mark.django_db


def _register_payload(person, **kw):
    data = {"phone": person.phone, "name": person.name, "id_number": person.id_number, "password": PASSWORD}
    data.update(kw)
    if "code" not in data:
        data["code"] = code_for(data["phone"])
    return data


# --- sms-code -------------------------------------------------------------------------------------------------------

def test_sms_code(client):
    phone = unique_phone()
    r = post(client, "auth/sms-code", {"phone": phone, "purpose": "register"})
    assert r.status_code == 200 and r.json()["ok"] is True
    assert last_code(phone)


def test_sms_code_answers_the_same_for_unknown_and_known_numbers(client):
    user = register(holder())
    later()
    known = post(client, "auth/sms-code", {"phone": user.phone, "purpose": "login"})
    unknown = post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "login"})
    assert known.status_code == unknown.status_code == 200 and known.json() == unknown.json()


def test_sms_code_bad_input(client):
    assert_error(post(client, "auth/sms-code", {"phone": "12345", "purpose": "register"}), 422, "phone.format", {"phone"})
    assert_error(post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "bind"}), 422,
                 "identity.sms_purpose", {"purpose"})
    assert_error(post(client, "auth/sms-code", {"purpose": "register"}), 422, "core.invalid_input", {"phone"})


def test_sms_code_rate_limited_per_phone_and_ip(client, settings):
    phone = unique_phone()
    post(client, "auth/sms-code", {"phone": phone, "purpose": "register"})
    body = assert_error(post(client, "auth/sms-code", {"phone": phone, "purpose": "register"}), 429,
                        "identity.rate_limited", {"phone"})
    assert "秒" in body["message"]
    settings.JIAOGUAN_SMS_RATE_PER_IP = "2/h"
    for _ in range(2):
        assert post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "register"}, ip="192.0.2.1").status_code == 200
    body = assert_error(post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "register"}, ip="192.0.2.1"), 429)
    assert "phone" not in (body.get("fields") or {})


def test_client_ip_behind_a_proxy(client, settings):
    settings.JIAOGUAN_TRUSTED_PROXY_HOPS = 1
    settings.JIAOGUAN_SMS_RATE_PER_IP = "1/h"
    r1 = post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "register"}, ip="10.9.9.9",
              HTTP_X_FORWARDED_FOR="198.51.100.10")
    r2 = post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "register"}, ip="10.9.9.9",
              HTTP_X_FORWARDED_FOR="198.51.100.11")
    r3 = post(client, "auth/sms-code", {"phone": unique_phone(), "purpose": "register"}, ip="10.9.9.8",
              HTTP_X_FORWARDED_FOR="198.51.100.10")
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 429)


# --- register -------------------------------------------------------------------------------------------------------

def test_register(client):
    person = holder()
    r = post(client, "auth/register", _register_payload(person))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["role"] == "citizen" and body["real_name_verified"] is True
    assert body["phone"] == person.phone[:3] + "****" + person.phone[-4:]
    assert body["id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    assert person.phone not in r.content.decode() and person.id_number not in r.content.decode()
    assert body["name"] == person.name[0] + "*"


def test_register_phone_mismatch_in_both_languages(client):
    person = holder()
    payload = _register_payload(person, phone=unique_phone())
    zh = assert_error(post(client, "auth/register", payload), 422, "identity.phone_mismatch", {"phone"})
    assert "车管所窗口" in zh["message"]
    later()
    payload["code"] = code_for(payload["phone"])
    en = assert_error(post(client, "auth/register", payload, HTTP_ACCEPT_LANGUAGE="en"), 422,
                      "identity.phone_mismatch", {"phone"})
    assert "window" in en["message"] and "phone number on file" in en["message"]
    assert not User.objects.exists()


def test_register_twice_is_409_with_field(client):
    person = holder()
    assert post(client, "auth/register", _register_payload(person)).status_code == 201
    later()
    assert_error(post(client, "auth/register", _register_payload(person)), 409, "identity.person_registered",
                 {"id_number"})
    assert User.objects.count() == 1


def test_phone_already_used_is_409_on_phone(client):
    from tests.factories import make_person

    first = make_person(name="甲", phone=None)  # no phone on file: any phone may be used
    phone = unique_phone()
    assert post(client, "auth/register", _register_payload(first, phone=phone)).status_code == 201
    later()
    assert_error(post(client, "auth/register", _register_payload(make_person(name="乙", phone=None), phone=phone)), 409,
                 "identity.phone_registered", {"phone"})


def test_register_unknown_person(client):
    from jiaoguan.core.identifiers import make_id_number

    phone = unique_phone()
    payload = {"phone": phone, "code": code_for(phone), "name": "无名", "password": PASSWORD,
               "id_number": make_id_number("440303", dt.date(1988, 8, 8), 41)}
    assert_error(post(client, "auth/register", payload), 422, "identity.real_name_mismatch", {"name", "id_number"})


# --- login / logout -------------------------------------------------------------------------------------------------

@pytest.fixture
def citizen():
    return register(holder())


def test_session_login_and_me(citizen):
    c = Client()
    r = post(c, "auth/login", {"login": citizen.phone, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["mode"] == "session" and r.json()["token"] is None
    assert c.session.get("_auth_user_id") == str(citizen.pk)
    me = get(c, "me")
    assert me.status_code == 200 and me.json()["id"] == citizen.pk


def test_token_login_and_bearer(citizen):
    c = Client()
    r = post(c, "auth/login", {"login": citizen.phone, "password": PASSWORD, "mode": "token", "label": "iPhone"})
    body = r.json()
    assert r.status_code == 200 and body["token"].startswith("jgt_") and body["token_expires_at"]
    assert "_auth_user_id" not in c.session
    assert ApiToken.objects.get().label == "iPhone"
    fresh = Client()
    me = get(fresh, "me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200 and me.json()["id"] == citizen.pk


def test_sms_login(citizen):
    later()
    code = code_for(citizen.phone, "login")
    r = post(Client(), "auth/login", {"phone": citizen.phone, "code": code, "mode": "token"})
    assert r.status_code == 200 and r.json()["user"]["id"] == citizen.pk


def test_wrong_credentials_are_401_and_the_same(citizen):
    a = assert_error(post(Client(), "auth/login", {"login": citizen.phone, "password": "Wrong#Pass1"}), 401,
                     "identity.bad_credentials")
    b = assert_error(post(Client(), "auth/login", {"login": unique_phone(), "password": "Wrong#Pass1"}), 401)
    assert a == b


def test_login_needs_a_secret(citizen):
    assert_error(post(Client(), "auth/login", {"login": citizen.phone}), 422, "identity.login_secret", {"password"})


def test_login_mode_is_checked(citizen):
    assert_error(post(Client(), "auth/login", {"login": citizen.phone, "password": PASSWORD, "mode": "cookie"}), 422,
                 fields={"mode"})


def test_lockout_is_423_with_unlock_time(citizen, clock, settings):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 2
    post(Client(), "auth/login", {"login": citizen.phone, "password": "Wrong#Pass1"})
    body = assert_error(post(Client(), "auth/login", {"login": citizen.phone, "password": "Wrong#Pass1"},
                             HTTP_ACCEPT_LANGUAGE="en"), 423, "identity.account_locked")
    assert "2026-03-02 10:30" in body["message"] and "locked" in body["message"]
    assert_error(post(Client(), "auth/login", {"login": citizen.phone, "password": PASSWORD}), 423)
    clock.advance(dt.timedelta(minutes=30))
    assert post(Client(), "auth/login", {"login": citizen.phone, "password": PASSWORD}).status_code == 200


def test_lockout_answers_the_same_for_a_phone_without_an_account(citizen, clock, settings):
    """The 423 must not tell that an account exists: an unknown phone locks after the same failures."""
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    stranger = unique_phone()
    answers = {}
    for phone in (citizen.phone, stranger):
        answers[phone] = []
        for _ in range(4):
            r = post(Client(), "auth/login", {"login": phone, "password": "Wrong#Pass1"}, HTTP_ACCEPT_LANGUAGE="en")
            answers[phone].append((r.status_code, r.json()))
    assert answers[citizen.phone] == answers[stranger]
    assert [status for status, _ in answers[stranger]] == [401, 401, 423, 423]
    for mode_payload in ({"mode": "session"}, {"mode": "token"}):
        r = post(Client(), "auth/login", {"login": stranger, "password": PASSWORD, **mode_payload})
        assert_error(r, 423, "identity.account_locked")


def test_logout_session(citizen):
    c = session_client(citizen)
    assert post(c, "auth/logout").status_code == 200
    assert_error(get(c, "me"), 401, "core.unauthenticated")


def test_logout_bearer_revokes_only_that_token(citizen):
    h1, h2 = bearer(citizen), bearer(citizen)
    assert post(Client(), "auth/logout", **h1).status_code == 200
    assert_error(get(Client(), "me", **h1), 401)
    assert get(Client(), "me", **h2).status_code == 200


def test_logout_needs_a_login():
    assert_error(post(Client(), "auth/logout"), 401, "core.unauthenticated")


def test_password_reset(citizen):
    later()
    code = code_for(citizen.phone, "reset")
    r = post(Client(), "auth/password-reset", {"phone": citizen.phone, "code": code, "new_password": "New#Pass2026"})
    assert r.status_code == 200
    assert post(Client(), "auth/login", {"login": citizen.phone, "password": "New#Pass2026"}).status_code == 200


def test_password_reset_errors(citizen):
    later()
    code = code_for(citizen.phone, "reset")
    assert_error(post(Client(), "auth/password-reset", {"phone": citizen.phone, "code": wrong(code),
                                                       "new_password": "New#Pass2026"}), 422, "identity.code_invalid",
                 {"code"})
    assert_error(post(Client(), "auth/password-reset", {"phone": citizen.phone, "code": code,
                                                       "new_password": "1234"}), 422, "identity.password_weak",
                 {"new_password"})


# --- CSRF -----------------------------------------------------------------------------------------------------------

def test_csrf_is_kept_for_sessions(citizen):
    c = Client(enforce_csrf_checks=True)
    # a session login without the CSRF token is refused (login CSRF)
    assert_error(post(c, "auth/login", {"login": citizen.phone, "password": PASSWORD}), 403, "core.csrf")
    token = get(c, "auth/csrf").json()["csrf_token"]
    r = post(c, "auth/login", {"login": citizen.phone, "password": PASSWORD}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    token = c.cookies["csrftoken"].value  # rotated at login
    # reading needs no token; changing does
    assert get(c, "me").status_code == 200
    assert_error(post(c, "auth/logout"), 403, "core.csrf")
    assert get(c, "me").status_code == 200
    assert post(c, "auth/logout", HTTP_X_CSRFTOKEN=token).status_code == 200


def test_bearer_needs_no_csrf(citizen):
    c = Client(enforce_csrf_checks=True)
    r = post(c, "auth/login", {"login": citizen.phone, "password": PASSWORD, "mode": "token"})
    assert r.status_code == 200
    assert post(c, "auth/logout", HTTP_AUTHORIZATION=f"Bearer {r.json()['token']}").status_code == 200


def test_anonymous_post_is_401_not_403():
    assert_error(post(Client(enforce_csrf_checks=True), "me/bindings",
                      {"plate": "粤B12345", "vin_last4": "1234"}), 401, "core.unauthenticated")


def test_bad_bearer_tokens_are_401(citizen):
    for header in ["Bearer nope", "Bearer ", "Basic abc", "Bearer jgt_" + "x" * 500, "bearer   "]:
        assert_error(get(Client(), "me", HTTP_AUTHORIZATION=header), 401)


def test_expired_token_is_401(citizen, clock, settings):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    h = bearer(citizen)
    clock.advance(dt.timedelta(days=settings.JIAOGUAN_TOKEN_TTL_DAYS, seconds=1))
    assert_error(get(Client(), "me", **h), 401)


def test_disabled_users_session_stops(citizen):
    c = session_client(citizen)
    User.objects.filter(pk=citizen.pk).update(is_active=False)
    assert_error(get(c, "me"), 401)


def test_messages_follow_the_language_cookie(citizen):
    c = Client()
    c.cookies["django_language"] = "en"
    body = assert_error(post(c, "auth/login", {"login": citizen.phone, "password": "Wrong#Pass1"}), 401)
    assert body["message"] == "Wrong login or password"
    body = assert_error(post(Client(), "auth/login", {"login": citizen.phone, "password": "Wrong#Pass1"}), 401)
    assert body["message"] == "账号或密码错误"
