"""One-time SMS codes: hashing, expiry, attempts, reuse, and the rate limits per phone and per IP."""
import datetime as dt

import pytest

from jiaoguan.core.errors import InvalidInput, RateLimited
from jiaoguan.identity import services
from jiaoguan.identity.models import SmsCode, User
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, later, register, wrong
from tests.notifications.helpers import last_code, sms_outbox

pytestmark = pytest.mark.django_db


def test_code_is_sent_and_only_its_hash_is_stored():
    phone = unique_phone()
    code = code_for(phone)
    assert len(code) == 6 and code.isdigit()
    row = SmsCode.objects.get(phone_hash=services.phone_hash(phone))
    assert row.purpose == "register" and row.attempts == 0 and row.used_at is None
    assert code not in row.code_hash and phone not in row.phone_hash
    assert row.expires_at - row.created_at == dt.timedelta(seconds=300)


def test_sms_text_names_the_purpose_and_validity():
    phone = unique_phone()
    code_for(phone)
    text = sms_outbox()[-1].text
    assert "注册" in text and "5分钟" in text


@pytest.mark.parametrize("phone", ["1380013800", "23800138000", "138001380000", "abc", "", "+1 2025550100"])
def test_malformed_phone_is_refused_with_a_field_message(phone):
    with pytest.raises(InvalidInput) as exc:
        services.sms_code_request(phone=phone, purpose="register", ip=fresh_ip())
    assert "phone" in exc.value.fields
    assert sms_outbox() == []


def test_phone_spellings_are_normalised():
    services.sms_code_request(phone="+86 138-0013-8001", purpose="register", ip=fresh_ip())
    assert last_code("13800138001") is not None


def test_unknown_purpose_is_refused():
    with pytest.raises(InvalidInput) as exc:
        services.sms_code_request(phone=unique_phone(), purpose="bind", ip=fresh_ip())
    assert exc.value.code == "identity.sms_purpose" and "purpose" in exc.value.fields


@pytest.mark.parametrize("purpose", ["login", "reset"])
def test_login_and_reset_codes_to_unknown_numbers_answer_the_same_and_send_nothing(purpose):
    phone = unique_phone()
    assert services.sms_code_request(phone=phone, purpose=purpose, ip=fresh_ip()) is None
    assert last_code(phone) is None
    assert not SmsCode.objects.exists()
    # ... and they count against the same limits, so the limits do not reveal the account either
    with pytest.raises(RateLimited):
        services.sms_code_request(phone=phone, purpose=purpose, ip=fresh_ip())


@pytest.mark.parametrize("purpose", ["login", "reset"])
def test_login_and_reset_codes_go_to_account_holders(purpose):
    user = register(holder())
    later()
    code = code_for(user.phone, purpose)
    assert code and SmsCode.objects.filter(purpose=purpose).count() == 1


def test_per_phone_limit_per_minute(clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    phone = unique_phone()
    code_for(phone)
    with pytest.raises(RateLimited) as exc:
        services.sms_code_request(phone=phone, purpose="register", ip=fresh_ip())
    assert exc.value.status == 429 and "phone" in exc.value.fields
    assert "60秒" in exc.value.zh
    clock.advance(dt.timedelta(seconds=59))
    with pytest.raises(RateLimited):
        services.sms_code_request(phone=phone, purpose="register", ip=fresh_ip())
    clock.advance(dt.timedelta(seconds=1))
    code_for(phone)  # a minute after the first: allowed again


def test_per_phone_limit_per_hour(clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    phone = unique_phone()
    for _ in range(5):
        code_for(phone)
        clock.advance(dt.timedelta(minutes=2))
    with pytest.raises(RateLimited) as exc:
        services.sms_code_request(phone=phone, purpose="register", ip=fresh_ip())
    assert "phone" in exc.value.fields
    assert len(sms_outbox()) == 5
    clock.advance(dt.timedelta(minutes=51))  # the first of the five leaves the hour
    code_for(phone)


def test_per_ip_limit(clock, settings):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    ip = "203.0.113.7"
    for _ in range(20):
        code_for(unique_phone(), ip=ip)
    with pytest.raises(RateLimited) as exc:
        services.sms_code_request(phone=unique_phone(), purpose="register", ip=ip)
    assert "phone" not in exc.value.fields
    # another address is not affected
    code_for(unique_phone(), ip="203.0.113.8")
    clock.advance(dt.timedelta(hours=1))
    code_for(unique_phone(), ip=ip)


def test_a_refused_request_records_nothing(clock, settings):
    settings.JIAOGUAN_SMS_RATE_PER_IP = "2/h"
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    phone = unique_phone()
    code_for(phone, ip="198.51.100.1")
    code_for(unique_phone(), ip="198.51.100.1")
    with pytest.raises(RateLimited):  # refused by the IP limit ...
        services.sms_code_request(phone=unique_phone(), purpose="register", ip="198.51.100.1")
    clock.advance(dt.timedelta(minutes=1))
    code_for(phone, ip="198.51.100.2")  # ... and the phone limits did not count it


def test_rate_settings_are_configuration(clock, settings):
    settings.JIAOGUAN_SMS_RATE_PER_PHONE_MIN = "3/m"
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    phone = unique_phone()
    for _ in range(3):
        code_for(phone)
    with pytest.raises(RateLimited):
        code_for(phone)


def _register_with(person, code):
    return services.citizen_register(phone=person.phone, code=code, name=person.name, id_number=person.id_number,
                                     password=PASSWORD, ip=fresh_ip())


def test_code_expires(clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    person = holder()
    code = code_for(person.phone)
    clock.advance(dt.timedelta(seconds=301))
    with pytest.raises(InvalidInput) as exc:
        _register_with(person, code)
    assert exc.value.code == "identity.code_invalid" and "code" in exc.value.fields
    assert not User.objects.exists()


def test_code_is_good_until_its_last_second(clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    person = holder()
    code = code_for(person.phone)
    clock.advance(dt.timedelta(seconds=299))
    assert _register_with(person, code).pk


def test_attempts_are_limited_and_counted(settings):
    person = holder()
    code = code_for(person.phone)
    for i in range(settings.JIAOGUAN_OTP_MAX_ATTEMPTS):
        with pytest.raises(InvalidInput):
            _register_with(person, wrong(code))
        assert SmsCode.objects.get().attempts == i + 1
    with pytest.raises(InvalidInput) as exc:  # now even the right code is dead
        _register_with(person, code)
    assert exc.value.code == "identity.code_invalid"
    assert not User.objects.exists()


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 56", "１２３４５６"])
def test_malformed_codes_count_as_wrong(bad):
    person = holder()
    code_for(person.phone)
    with pytest.raises(InvalidInput):
        _register_with(person, bad)
    assert SmsCode.objects.get().attempts == 1


def test_code_cannot_be_used_twice():
    user = register(holder())
    later()
    code = code_for(user.phone, "login")
    services.login_with_sms(phone=user.phone, code=code, ip=fresh_ip())
    with pytest.raises(InvalidInput) as exc:
        services.login_with_sms(phone=user.phone, code=code, ip=fresh_ip())
    assert exc.value.code == "identity.code_invalid"


def test_a_new_code_replaces_the_old(clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    person = holder()
    first = code_for(person.phone)
    clock.advance(dt.timedelta(seconds=61))
    second = code_for(person.phone)
    if first != second:
        with pytest.raises(InvalidInput):
            _register_with(person, first)
    assert _register_with(person, second).pk


def test_codes_are_bound_to_their_purpose():
    user = register(holder())
    later()
    reset_code = code_for(user.phone, "reset")
    with pytest.raises(InvalidInput):
        services.login_with_sms(phone=user.phone, code=reset_code, ip=fresh_ip())
