"""联系方式变更 of the phone on file online (identity.services.phone_on_file): the holder asks with a code to the
new number and the current password; the old number is sent an objection code; the change takes effect only
after the cooling-off period (and lapses if the circumstances changed), moving the account with it; until then
the old number stays on file and decides who may register."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, Locked, NotFound, RateLimited
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import rules, selectors, services
from jiaoguan.identity.models import ApiToken, PhoneOnFileChange, User
from jiaoguan.registry.services import person_update_phone
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, fresh_ip, holder, register, sms_texts
from tests.identity.test_phone_change import window_updates_phone
from tests.notifications.helpers import clear_outbox, last_code, last_sms

pytestmark = pytest.mark.django_db
Status = PhoneOnFileChange.Status
COOLING = dt.timedelta(hours=72)


def file_code(user, phone):
    services.sms_code_request(phone=phone, purpose="phone_file", ip=fresh_ip(), user=user)
    code = last_code(phone)
    assert code, f"no code was sent to {phone}"
    return code


def ask(user, phone, *, code=None, password=PASSWORD):
    code = code if code is not None else file_code(user, phone)
    return services.phone_on_file_change_request(user=user, new_phone=phone, code=code, password=password,
                                                 ip=fresh_ip())


def objection_code(old_phone: str) -> str:
    text = last_sms(old_phone) or ""
    match = re.search(r"([2-9A-Z]{5}-[2-9A-Z]{5})", text)
    assert match, f"no objection code in {text!r}"
    return match.group(1)


@pytest.fixture
def account():
    clock.freeze(clock.now())  # "now" moves only when a test moves it (the conftest resets the clock)
    person = holder(name="冯换号")
    user = register(person)
    clear_outbox()
    return person, user


def test_the_change_waits_out_the_cooling_off_period_then_moves_the_phone_on_file_and_the_account(account):
    person, user = account
    old, new = person.phone, unique_phone()
    token = ApiToken.objects.create(user=user, token_hash="t" * 64, created_at=clock.now(),
                                    expires_at=clock.now() + dt.timedelta(days=30))
    start = clock.now()
    change = ask(user, new)
    assert change.status == Status.COOLING and change.effective_at == start + COOLING
    # the old number is told at once, with the code that stops it; the inbox too
    assert any("预留手机号将于" in t and new[-4:] in t for t in sms_texts(old))
    assert user.messages.filter(template_code="account.phone_file_requested", channel="inbox").exists()
    entry = AuditEntry.objects.get(action="person.phone_file_request", subject_person_id=person.pk)
    assert new not in str(entry.new) and old not in str(entry.old)  # masked
    # nothing changes before the period is over, however often the job runs
    clock.advance(COOLING - dt.timedelta(seconds=1))
    assert services.phone_on_file_changes_apply() == 0
    person.refresh_from_db()
    assert person.phone == old and selectors.records_visible(user=User.objects.get(pk=user.pk))
    clock.advance(dt.timedelta(seconds=1))
    assert services.phone_on_file_changes_apply() == 1
    assert services.phone_on_file_changes_apply() == 0  # once
    person.refresh_from_db()
    account_row = User.objects.get(pk=user.pk)
    assert person.phone == new and account_row.phone == new
    assert selectors.records_visible(user=account_row)  # the records stay shown on the new number
    change.refresh_from_db()
    assert change.status == Status.APPLIED and change.ended_at == clock.now()
    token.refresh_from_db()
    assert token.revoked_at is not None  # other sessions end: the account moved
    assert any("预留手机号和交管账户手机号已变更" in t for t in sms_texts(new))
    assert any("预留手机号和交管账户手机号已变更" in t for t in sms_texts(old))
    staff = AuditEntry.objects.get(action="person.update_phone", subject_person_id=person.pk)
    assert staff.actor_label == "identity.phone_file_apply"


def test_until_it_takes_effect_the_old_number_decides_who_may_register(account):
    """A stranger who got the holder's session and password asks for a change to their own number: the number
    cannot be used to register or log in to the records until the period is over, and the old number stops it."""
    person, user = account
    old, new = person.phone, unique_phone()
    ask(user, new)
    code = objection_code(old)
    # the new number is not the phone on file yet: a new account on it cannot see the person's records
    assert User.objects.get(pk=user.pk).phone == old
    change = services.phone_on_file_change_object(code=code.lower().replace("-", " "), ip=fresh_ip())
    assert change.status == Status.OBJECTED
    clock.advance(COOLING * 2)
    assert services.phone_on_file_changes_apply() == 0
    person.refresh_from_db()
    assert person.phone == old
    assert any("撤销码撤销" in t for t in sms_texts(old))
    assert user.messages.filter(template_code="account.phone_file_objected").exists()
    # and online changes are refused for the block period: a window only
    with pytest.raises(Forbidden) as exc:
        services.sms_code_request(phone=unique_phone(), purpose="phone_file", ip=fresh_ip(), user=user)
    assert exc.value.code == "identity.phone_file_blocked"
    clock.advance(dt.timedelta(days=30))
    ask(user, unique_phone())  # the block is over


def test_the_objection_code_works_once_and_only_while_cooling(account):
    person, user = account
    ask(user, unique_phone())
    code = objection_code(person.phone)
    services.phone_on_file_change_cancel(user=user, ip=fresh_ip())
    with pytest.raises(InvalidInput) as exc:
        services.phone_on_file_change_object(code=code, ip=fresh_ip())
    assert exc.value.code == "identity.objection_code_invalid"
    for bad in ("", "ABC", "0" * 10, "ABCDE-FGHJK", None):
        with pytest.raises(InvalidInput) as exc:
            services.phone_on_file_change_object(code=bad, ip=fresh_ip())
        assert exc.value.code == "identity.objection_code_invalid"


def test_objection_codes_are_limited_per_client_address(account):
    ip = fresh_ip()
    with override_settings(JIAOGUAN_PHONE_FILE_OBJECT_RATE_PER_IP="3/h"):
        for _ in range(3):
            with pytest.raises(InvalidInput):
                services.phone_on_file_change_object(code="ABCDE-FGHJK", ip=ip)
        with pytest.raises(RateLimited):
            services.phone_on_file_change_object(code="ABCDE-FGHJK", ip=ip)


def test_the_holder_withdraws_and_may_ask_again(account):
    person, user = account
    ask(user, unique_phone())
    with pytest.raises(Conflict) as exc:  # one at a time, refused before any code is sent
        services.sms_code_request(phone=unique_phone(), purpose="phone_file", ip=fresh_ip(), user=user)
    assert exc.value.code == "identity.phone_file_pending"
    change = services.phone_on_file_change_cancel(user=user, ip=fresh_ip())
    assert change.status == Status.CANCELLED
    assert any("已由本人撤销" in t for t in sms_texts(person.phone))
    with pytest.raises(NotFound):
        services.phone_on_file_change_cancel(user=user, ip=fresh_ip())
    clock.advance(COOLING)
    assert services.phone_on_file_changes_apply() == 0
    ask(user, unique_phone())  # no block after a withdrawal


def test_it_lapses_when_the_phone_on_file_changed_at_a_window_meanwhile(account):
    person, user = account
    change = ask(user, unique_phone())
    window = unique_phone()
    window_updates_phone(person, window)
    clock.advance(COOLING)
    assert services.phone_on_file_changes_apply() == 0
    change.refresh_from_db()
    person.refresh_from_db()
    assert change.status == Status.LAPSED and person.phone == window
    assert user.messages.filter(template_code="account.phone_file_lapsed").exists()


def test_it_lapses_when_another_account_took_the_number(account):
    person, user = account
    new = unique_phone()
    change = ask(user, new)
    clock.advance(dt.timedelta(seconds=61))  # past the number's one-SMS-a-minute limit
    other = register(holder(name="陈抢号", phone=new))  # someone whose phone on file is that number
    clock.advance(COOLING)
    assert services.phone_on_file_changes_apply() == 0
    change.refresh_from_db()
    assert change.status == Status.LAPSED and "其他账户" in change.end_reason
    assert User.objects.get(pk=user.pk).phone == person.phone and other.phone == new


def test_who_may_ask(account):
    person, user = account
    stranger = register(holder(name="卫不符"))
    window_updates_phone(stranger.person, unique_phone())
    with pytest.raises(Forbidden) as exc:  # records withheld: the account is not on the phone on file
        services.sms_code_request(phone=unique_phone(), purpose="phone_file", ip=fresh_ip(), user=stranger)
    assert exc.value.code == "identity.records_withheld"
    admin = User.objects.create_user("jg-admin-pf", password=PASSWORD, role="admin")
    with pytest.raises(Forbidden) as exc:
        services.phone_on_file_change_request(user=admin, new_phone=unique_phone(), code="123456",
                                              password=PASSWORD, ip=fresh_ip())
    assert exc.value.code == "identity.citizen_only"
    with pytest.raises(InvalidInput) as exc:  # the phone on file again
        services.sms_code_request(phone=person.phone, purpose="phone_file", ip=fresh_ip(), user=user)
    assert exc.value.code == "identity.phone_unchanged"


def test_the_code_the_password_and_the_fields(account):
    person, user = account
    new = unique_phone()
    with pytest.raises(InvalidInput) as exc:
        services.phone_on_file_change_request(user=user, new_phone="12", code="", password="", ip=fresh_ip())
    assert set(exc.value.fields) == {"new_phone", "code", "password"}
    # a code for the account's phone is not a code for the phone on file
    services.sms_code_request(phone=new, purpose="phone", ip=fresh_ip(), user=user)
    with pytest.raises(InvalidInput) as exc:
        ask(user, new, code=last_code(new))
    assert exc.value.code == "identity.code_invalid"
    clock.advance(dt.timedelta(seconds=61))
    code = file_code(user, new)
    with pytest.raises(InvalidInput) as exc:
        ask(user, new, code=code, password="wrong-Password-1")
    assert exc.value.code == "identity.password_wrong"
    assert User.objects.get(pk=user.pk).failed_logins == 1
    for _ in range(10):
        try:
            ask(user, new, code=code, password="wrong-Password-1")
        except Locked:
            break
        except InvalidInput:
            continue
    with pytest.raises(Locked):
        ask(user, new, code=code)
    assert not PhoneOnFileChange.objects.filter(person=person).exists()


def test_a_citizen_cannot_change_the_phone_on_file_directly(account):
    """Only this service's cooling-off path writes by_holder; the registry refuses a citizen actor otherwise."""
    from jiaoguan.core.audit import Actor

    person, user = account
    with pytest.raises(Forbidden):
        person_update_phone(person=person, phone=unique_phone(), actor=Actor.of(user, "10.0.0.1"), reason="r")


@pytest.mark.parametrize("local_time", ["00:30", "23:59"])
def test_the_effective_moment_is_shown_in_beijing_time(account, local_time):
    person, user = account
    hour, minute = map(int, local_time.split(":"))
    clock.freeze(clock.local_datetime(dt.date(2026, 12, 7), dt.time(hour, minute)))
    try:
        change = ask(user, unique_phone())
        expected = clock.localtime(change.effective_at).strftime("%Y-%m-%d %H:%M")
        assert expected == f"2026-12-10 {local_time}"
        assert any(expected in t for t in sms_texts(person.phone))
    finally:
        clock.reset()


@given(st.text(alphabet=rules.OBJECTION_ALPHABET, min_size=10, max_size=10), st.sampled_from(["", " ", "-"]),
       st.booleans())
def test_objection_codes_read_back_however_typed(code, sep, lower):
    shown = rules.objection_code_display(code)
    typed = shown.replace("-", sep)
    typed = typed.lower() if lower else typed
    assert rules.objection_code_normal(typed) == code


def test_the_portal_pages(client, account):
    from tests.portal.support import text

    person, user = account
    client.force_login(user)
    assert "变更预留手机号" in text(client.get("/me/"))
    new = unique_phone()
    r = client.post("/me/phone-on-file/", {"action": "send", "new_phone": new})
    assert r.status_code == 200 and last_code(new)
    r = client.post("/me/phone-on-file/", {"action": "apply", "new_phone": new, "code": last_code(new),
                                           "password": "wrong-Password-1"})
    assert r.status_code == 422 and "当前登录密码不正确" in text(r)
    r = client.post("/me/phone-on-file/", {"action": "apply", "new_phone": new, "code": last_code(new),
                                           "password": PASSWORD})
    assert r.status_code == 302
    page = text(client.get("/me/phone-on-file/"))
    assert "冷静期中" in page and new not in page and new[-4:] in page  # masked
    code = objection_code(person.phone)
    anonymous = type(client)()
    r = anonymous.post("/phone-on-file/object/", {"code": "ABCDE-FGHJK"})
    assert r.status_code == 422 and "撤销码不正确" in text(r)
    r = anonymous.post("/phone-on-file/object/", {"code": code})
    assert r.status_code == 200 and "已撤销" in text(r)
    assert "原手机号已撤销" in text(client.get("/me/phone-on-file/"))


def test_the_api(account, client):
    from tests.api.helpers import bearer, get, post

    person, user = account
    auth = bearer(user)
    assert get(client, "me/phone-on-file", **auth).json() is None
    new = unique_phone()
    r = post(client, "auth/sms-code", {"phone": new, "purpose": "phone_file"}, **auth)
    assert r.status_code == 200, r.content
    r = post(client, "me/phone-on-file", {"new_phone": new, "code": last_code(new), "password": PASSWORD}, **auth)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "cooling" and body["new_phone"] != new and body["new_phone"].endswith(new[-4:])
    assert body["status_label"] == "冷静期中，尚未生效"
    r = post(client, "me/phone-on-file/cancel", **auth)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert post(client, "me/phone-on-file/cancel", **auth).status_code == 404
    r = post(client, "auth/phone-on-file/object", {"code": "ABCDE-FGHJK"})
    assert r.status_code == 422 and r.json()["code"] == "identity.objection_code_invalid"
    assert post(client, "me/phone-on-file", {"new_phone": new, "code": "1", "password": "x"}).status_code == 401


def test_not_online_right_after_a_password_reset(account):
    """Whoever holds only the old SIM can reset the password with it; so after a reset (or an account phone change)
    the online change waits out the cooling-off period: the password is a second factor again only then."""
    person, user = account
    clock.advance(dt.timedelta(seconds=61))
    services.sms_code_request(phone=person.phone, purpose="reset", ip=fresh_ip())
    services.password_reset(phone=person.phone, code=last_code(person.phone), new_password=PASSWORD + "x",
                            ip=fresh_ip())
    with pytest.raises(Forbidden) as exc:
        services.sms_code_request(phone=unique_phone(), purpose="phone_file", ip=fresh_ip(), user=user)
    assert exc.value.code == "identity.phone_file_recent_recovery"
    clock.advance(COOLING + dt.timedelta(seconds=1))
    ask(user, unique_phone(), password=PASSWORD + "x")  # after the period it is offered again


def test_one_change_failing_does_not_stop_the_others(account, monkeypatch):
    from jiaoguan.identity.services import phone_on_file

    person, user = account
    first = ask(user, unique_phone())
    other_person = holder(name="褚其他")
    other = register(other_person)
    second = ask(other, unique_phone())
    real = phone_on_file._apply_one

    def flaky(change_id, *, now):
        if change_id == first.pk:
            raise Conflict("core.busy", "系统繁忙", "busy")  # as core.locks answers a lock not granted in time
        return real(change_id, now=now)

    monkeypatch.setattr(phone_on_file, "_apply_one", flaky)
    clock.advance(COOLING)
    assert services.phone_on_file_changes_apply() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.COOLING and second.status == Status.APPLIED  # the first waits for the next run
