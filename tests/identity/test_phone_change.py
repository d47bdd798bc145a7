"""Changing the account's phone (the way out of a phone mismatch): code to the NEW phone, current password,
the number free, audited with masked numbers, other tokens revoked, own records back when the new phone is the
phone on file."""
import datetime as dt

import pytest
from django.conf import settings

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Locked,
    RateLimited,
    Unauthenticated,
)
from jiaoguan.core.masking import mask_phone
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import selectors, services
from jiaoguan.identity.models import ApiToken, SmsCode, User, VehicleBinding
from jiaoguan.notifications.models import Message
from jiaoguan.registry.services import person_update_phone
from tests.factories import make_person, unique_phone
from tests.identity.helpers import (
    PASSWORD,
    fresh_ip,
    holder,
    later,
    register,
    sms_texts,
    wrong,
)
from tests.notifications.helpers import clear_outbox, last_code, sms_outbox

pytestmark = pytest.mark.django_db


def window_updates_phone(person, phone):
    """What a clerk does at a window: the registry's phone on file changes (audited by the registry)."""
    clerk = services.staff_bootstrap(username=f"clerk{phone[-6:]}", display_name="窗口民警", password=PASSWORD,
                                     role="clerk")
    person_update_phone(person=person, phone=phone, actor=Actor.of(clerk), reason="本人持身份证更新预留手机号")


def phone_code(user, phone, ip=None):
    services.sms_code_request(phone=phone, purpose="phone", ip=ip or fresh_ip(), user=user)
    code = last_code(phone)
    assert code, f"no code was sent to {phone}"
    return code


def change(user, phone, *, code=None, password=PASSWORD, **kw):
    code = code if code is not None else phone_code(user, phone)
    return services.account_phone_change(user=user, new_phone=phone, code=code, password=password, ip=fresh_ip(),
                                         **kw)


@pytest.fixture
def mismatched():
    """A holder with a licence and two cars whose phone on file was changed at a window after registering."""
    person = holder(name="周明", vehicles=2)
    account = register(person)
    new_phone = unique_phone()
    window_updates_phone(person, new_phone)
    account.refresh_from_db()
    clear_outbox()  # the registration code
    return account, person, new_phone


def test_mismatch_then_change_to_the_phone_on_file_shows_licence_and_own_vehicles_again(mismatched):
    account, _person, on_file = mismatched
    old_phone = account.phone
    services.bindings_sync_own(user=account)
    assert selectors.account_standing(user=account).phone_mismatch
    assert selectors.my_licence(user=account) is None and selectors.my_vehicles(user=account) == []

    changed = change(account, on_file)

    assert changed.phone == on_file == account.phone
    assert User.objects.get(pk=account.pk).phone == on_file
    standing = selectors.account_standing(user=changed)
    assert standing.ok and standing.records_visible and standing.message_zh == ""
    assert selectors.my_licence(user=changed) is not None
    mine = selectors.my_vehicles(user=changed)
    assert len(mine) == 2 and all(mv.is_own for mv in mine)
    # logging in now works with the new phone only
    assert services.login_with_password(login=on_file, password=PASSWORD, ip=fresh_ip()).pk == account.pk
    with pytest.raises(Unauthenticated):
        services.login_with_password(login=old_phone, password=PASSWORD, ip=fresh_ip())


def test_the_change_is_audited_with_masked_numbers_and_both_numbers_are_told(mismatched):
    account, person, on_file = mismatched
    old_phone = account.phone
    change(account, on_file)
    entry = AuditEntry.objects.get(action="account.phone_change")
    assert entry.old == {"phone": mask_phone(old_phone)}
    assert entry.new["phone"] == mask_phone(on_file) and entry.new["records_visible"] is True
    assert entry.subject_person_id == person.pk and entry.actor_id == account.pk
    dump = repr((entry.old, entry.new, entry.reason))
    assert old_phone not in dump and on_file not in dump
    # the old number learns of the change (in case it was not the holder), the inbox too
    assert any("手机号已更换" in t and mask_phone(on_file) in t for t in sms_texts(old_phone))
    assert Message.objects.filter(recipient=account, channel="inbox", template_code="account.phone_changed").exists()


def test_the_code_goes_to_the_new_phone_only(mismatched):
    account, _person, on_file = mismatched
    services.sms_code_request(phone=on_file, purpose="phone", ip=fresh_ip(), user=account)
    assert last_code(on_file) is not None and last_code(account.phone) is None
    assert any("更换为本号码" in t for t in sms_texts(on_file))
    row = SmsCode.objects.get(purpose="phone")
    assert row.context == str(account.pk) and row.code_hash != last_code(on_file)


def test_a_code_request_needs_a_logged_in_citizen(mismatched):
    _account, _person, on_file = mismatched
    with pytest.raises(Unauthenticated):
        services.sms_code_request(phone=on_file, purpose="phone", ip=fresh_ip())
    admin = services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)
    with pytest.raises(Forbidden):
        services.sms_code_request(phone=on_file, purpose="phone", ip=fresh_ip(), user=admin)
    with pytest.raises(Forbidden):
        services.account_phone_change(user=admin, new_phone=on_file, code="123456", password=PASSWORD, ip=fresh_ip())
    assert sms_outbox() == []


def test_the_current_phone_is_refused_before_any_sms(mismatched):
    account, _person, _on_file = mismatched
    with pytest.raises(InvalidInput) as exc:
        services.sms_code_request(phone=account.phone, purpose="phone", ip=fresh_ip(), user=account)
    assert exc.value.code == "identity.phone_unchanged" and exc.value.fields.keys() == {"phone"}
    with pytest.raises(InvalidInput) as exc:
        services.account_phone_change(user=account, new_phone=account.phone, code="123456", password=PASSWORD,
                                      ip=fresh_ip())
    assert exc.value.code == "identity.phone_unchanged" and exc.value.fields.keys() == {"new_phone"}
    assert sms_outbox() == []


def test_bad_input_names_every_field(mismatched):
    account, _person, _on_file = mismatched
    with pytest.raises(InvalidInput) as exc:
        services.account_phone_change(user=account, new_phone="1234", code="", password="", ip=fresh_ip())
    assert exc.value.fields.keys() == {"new_phone", "code", "password"}
    assert User.objects.get(pk=account.pk).phone == account.phone


def test_wrong_password_is_refused_and_counts_towards_the_lockout(mismatched):
    account, _person, on_file = mismatched
    code = phone_code(account, on_file)
    with pytest.raises(InvalidInput) as exc:
        change(account, on_file, code=code, password="not-the-password")
    assert exc.value.code == "identity.password_wrong" and exc.value.fields.keys() == {"password"}
    assert User.objects.get(pk=account.pk).failed_logins == 1
    for _ in range(settings.JIAOGUAN_LOGIN_MAX_FAILURES - 2):
        with pytest.raises(InvalidInput):
            change(account, on_file, code=code, password="not-the-password")
    with pytest.raises(Locked):
        change(account, on_file, code=code, password="not-the-password")
    with pytest.raises(Locked):  # locked: not even the right password helps now
        change(account, on_file, code=code)
    assert User.objects.get(pk=account.pk).phone == account.phone
    # the code was never tried, so it is still good once the lock is over (the lockout is about the password)
    assert SmsCode.objects.get(purpose="phone").attempts == 0


def test_wrong_code_is_counted_and_the_code_dies(mismatched):
    account, _person, on_file = mismatched
    code = phone_code(account, on_file)
    for _ in range(settings.JIAOGUAN_OTP_MAX_ATTEMPTS):
        with pytest.raises(InvalidInput) as exc:
            change(account, on_file, code=wrong(code))
        assert exc.value.code == "identity.code_invalid" and exc.value.fields.keys() == {"code"}
    with pytest.raises(InvalidInput):
        change(account, on_file, code=code)  # the right code, too late
    assert User.objects.get(pk=account.pk).phone == account.phone


def test_an_expired_code_is_refused(mismatched, clock):
    account, _person, on_file = mismatched
    code = phone_code(account, on_file)
    clock.advance(dt.timedelta(seconds=settings.JIAOGUAN_OTP_TTL_SECONDS + 1))
    with pytest.raises(InvalidInput) as exc:
        change(account, on_file, code=code)
    assert exc.value.code == "identity.code_invalid"


def test_a_code_works_for_the_account_that_asked_for_it_only(mismatched):
    account, _person, on_file = mismatched
    other = register(make_person(name="吴二", phone=None), phone=unique_phone())
    theirs = phone_code(other, on_file)  # someone else asks for a code to the same number …
    later()
    mine = phone_code(account, on_file)  # … and it does not cancel mine, nor does mine cancel theirs
    with pytest.raises(InvalidInput):
        change(account, on_file, code=theirs)
    assert change(account, on_file, code=mine).phone == on_file
    assert SmsCode.objects.get(context=str(other.pk)).used_at is None


def test_a_code_is_used_once(mismatched):
    account, _person, on_file = mismatched
    code = phone_code(account, on_file)
    old_phone = account.phone
    change(account, on_file, code=code)
    assert SmsCode.objects.get(purpose="phone").used_at is not None
    # back to the old number with the same code: refused (the code belongs to the other number and is used)
    with pytest.raises(InvalidInput):
        change(account, old_phone, code=code)


def test_a_number_of_another_account_is_refused_with_409_after_the_code(mismatched):
    account, _person, _on_file = mismatched
    taken_by = register(holder(name="郑七"))
    later()  # past the one-code-a-minute limit of that number (its registration code)
    code = phone_code(account, taken_by.phone)  # sent: only the holder of that number learns it is taken
    with pytest.raises(Conflict) as exc:
        change(account, taken_by.phone, code=code)
    assert exc.value.status == 409 and exc.value.code == "identity.phone_registered"
    assert exc.value.fields.keys() == {"new_phone"}
    assert User.objects.get(pk=account.pk).phone == account.phone
    assert User.objects.get(pk=taken_by.pk).phone == taken_by.phone
    assert not AuditEntry.objects.filter(action="account.phone_change").exists()


def test_other_api_tokens_are_revoked_the_one_kept_stays(mismatched):
    account, _person, on_file = mismatched
    kept = services.token_issue(user=account, label="this phone")
    services.token_issue(user=account, label="old tablet")
    services.token_issue(user=account, label="old laptop")
    change(account, on_file, keep_token=kept)
    assert services.user_for_token(kept).pk == account.pk
    assert ApiToken.objects.filter(user=account, revoked_at__isnull=True).count() == 1
    assert AuditEntry.objects.get(action="account.phone_change").new["tokens_revoked"] == 2


def test_without_a_kept_token_every_token_is_revoked(mismatched):
    account, _person, on_file = mismatched
    token = services.token_issue(user=account)
    change(account, on_file)
    assert services.user_for_token(token) is None


def test_changing_away_from_the_phone_on_file_withholds_the_records_again():
    account = register(holder(name="冯九", vehicles=1))
    assert selectors.my_licence(user=account) is not None
    new = unique_phone()
    change(account, new)
    assert selectors.account_standing(user=account).phone_mismatch
    assert selectors.my_licence(user=account) is None and selectors.my_vehicles(user=account) == []
    assert not VehicleBinding.objects.filter(user=account, kind="own", status="active").exists()
    assert AuditEntry.objects.get(action="account.phone_change").new["records_visible"] is False


def test_a_person_without_a_phone_on_file_may_change_to_any_free_number():
    account = register(make_person(name="陈十", phone=None), phone=unique_phone())
    new = unique_phone()
    assert change(account, new).phone == new
    assert selectors.account_standing(user=account).ok


def test_code_requests_are_rate_limited_per_phone(mismatched):
    account, _person, on_file = mismatched
    phone_code(account, on_file)
    with pytest.raises(RateLimited) as exc:
        services.sms_code_request(phone=on_file, purpose="phone", ip=fresh_ip(), user=account)
    assert exc.value.status == 429 and exc.value.fields.keys() == {"phone"}


def test_code_requests_are_rate_limited_per_account(mismatched):
    """Different numbers each time (so the per-phone limits never bite): the account's own limit does."""
    account, _person, _on_file = mismatched
    limit = int(settings.JIAOGUAN_SMS_RATE_PER_PHONE.split("/")[0])
    for _ in range(limit):
        phone_code(account, unique_phone())
    with pytest.raises(RateLimited):
        services.sms_code_request(phone=unique_phone(), purpose="phone", ip=fresh_ip(), user=account)


def test_code_requests_are_rate_limited_per_ip(mismatched, settings):
    settings.JIAOGUAN_SMS_RATE_PER_IP = "2/h"
    account, _person, _on_file = mismatched
    ip = "198.51.100.9"
    for _ in range(2):
        services.sms_code_request(phone=unique_phone(), purpose="phone", ip=ip, user=account)
    with pytest.raises(RateLimited) as exc:
        services.sms_code_request(phone=unique_phone(), purpose="phone", ip=ip, user=account)
    assert "phone" not in exc.value.fields


def test_an_inactive_account_cannot_change(mismatched):
    account, _person, on_file = mismatched
    code = phone_code(account, on_file)
    User.objects.filter(pk=account.pk).update(is_active=False)
    account.refresh_from_db()
    with pytest.raises(Forbidden):
        change(account, on_file, code=code)
