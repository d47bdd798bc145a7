"""The lockout must not tell which logins have accounts (review defect 2), and the lock SMS respects the
per-phone SMS limits.

A login without an account keeps a shadow failure counter in the cache and "locks" after the same number of
failures, for the same time, with the same 423 and message as an account does.

Every test that compares a known login's answers with an unknown one's freezes the clock first: the answers carry
times (the unlock time to the minute, the seconds until another SMS), and with the real clock running between the
two series they differed whenever a minute, or a second, turned in between — more often the slower the machine.
(tests/identity/test_login_oracle_http.py compares them over HTTP, and across processes.)
"""
import datetime as dt

import pytest

from jiaoguan.core.errors import InvalidInput, Locked, RateLimited, Unauthenticated
from jiaoguan.identity import ratelimit, services
from jiaoguan.identity.models import User
from jiaoguan.identity.services import login as login_services
from jiaoguan.notifications.models import Message
from tests.factories import unique_phone
from tests.identity.helpers import (
    PASSWORD,
    code_for,
    fresh_ip,
    holder,
    later,
    register,
    sms_texts,
    wrong,
)

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 10, 0)


def _password(login, password="Wrong-Pass#1"):
    return services.login_with_password(login=login, password=password, ip=fresh_ip())


def _answers(call, n):
    """The (class, code, zh, en, status) of n failing calls in a row."""
    out = []
    for _ in range(n):
        with pytest.raises((Unauthenticated, Locked, InvalidInput)) as exc:
            call()
        e = exc.value
        out.append((type(e).__name__, e.code, e.zh, e.en, e.status))
    return out


@pytest.fixture
def citizen():
    return register(holder())


def test_unknown_phone_locks_exactly_like_an_account(citizen, clock, settings):
    later()
    clock.freeze(START)
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 2
    stranger = unique_phone()
    known = _answers(lambda: _password(citizen.phone), n)
    unknown = _answers(lambda: _password(stranger), n)
    assert known == unknown
    assert [a[4] for a in known] == [401] * (settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1) + [423] * 3
    assert "2026-03-02 10:30" in known[-1][2]
    # the right password of nobody is still "locked" too, and both unlock at the same moment
    with pytest.raises(Locked):
        _password(stranger, PASSWORD)
    clock.advance(dt.timedelta(minutes=30))
    with pytest.raises(Unauthenticated):
        _password(stranger)
    assert _password(citizen.phone, PASSWORD).pk == citizen.pk


def test_unknown_staff_username_locks_too(clock, settings):
    services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)
    clock.freeze(START)
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 1
    assert _answers(lambda: _password("admin01"), n) == _answers(lambda: _password("admin02"), n)


def test_the_shadow_counter_follows_the_phone_in_any_spelling(clock, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 2
    clock.freeze(START)
    p = unique_phone()
    with pytest.raises(Unauthenticated):
        _password(p)
    with pytest.raises(Locked):
        _password(f"+86 {p[:3]} {p[3:7]} {p[7:]}")


def test_sms_login_locks_unknown_phones_like_known_ones(citizen, clock, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    later()
    code = code_for(citizen.phone, "login")
    stranger = unique_phone()
    services.sms_code_request(phone=stranger, purpose="login", ip=fresh_ip())  # answered the same, nothing sent
    clock.freeze(clock.now())  # both lock at the same instant: the same unlock time in the message
    known = _answers(lambda: services.login_with_sms(phone=citizen.phone, code=wrong(code), ip=fresh_ip()), 4)
    unknown = _answers(lambda: services.login_with_sms(phone=stranger, code=wrong(code), ip=fresh_ip()), 4)
    assert known == unknown
    assert [a[1] for a in known] == ["identity.code_invalid"] * 2 + ["identity.account_locked"] * 2


def test_password_and_sms_failures_share_one_shadow_counter(clock, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 2
    clock.freeze(START)
    p = unique_phone()
    with pytest.raises(Unauthenticated):
        _password(p)
    with pytest.raises(Locked):
        services.login_with_sms(phone=p, code="123456", ip=fresh_ip())


def test_the_lock_sms_is_within_the_phones_sms_limits(citizen, settings):
    """The registration code was sent less than a minute ago: the lock SMS would be a second text within the
    minute, so the holder is told in the inbox only."""
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    with pytest.raises(Locked):
        _password(citizen.phone)
    assert not any("锁定" in t for t in sms_texts(citizen.phone))
    assert Message.objects.filter(recipient=citizen, template_code="account.locked", channel="inbox").count() == 1
    assert not Message.objects.filter(recipient=citizen, template_code="account.locked", channel="sms").exists()


def test_repeated_lockouts_cannot_flood_a_phone(citizen, clock, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    settings.JIAOGUAN_LOGIN_LOCK_MINUTES = 1
    clock.freeze(START)
    for _ in range(10):  # ten lockouts, two minutes apart, within one hour
        clock.advance(dt.timedelta(minutes=2))
        with pytest.raises(Locked):
            _password(citizen.phone)
    lock_sms = [t for t in sms_texts(citizen.phone) if "锁定" in t]
    assert len(lock_sms) == 5  # JIAOGUAN_SMS_RATE_PER_PHONE = 5/h; the rest went to the inbox only
    assert Message.objects.filter(recipient=citizen, template_code="account.locked", channel="inbox").count() == 10


def test_a_shadow_lock_uses_up_the_phones_sms_allowance_like_a_real_one(citizen, clock, settings):
    """Right after a lock, a code request for that number is refused the same way for both, so it cannot tell
    them apart either."""
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 1
    later()
    clock.freeze(clock.now())  # the same seconds to wait in both refusals
    stranger = unique_phone()
    for phone in (citizen.phone, stranger):
        with pytest.raises(Locked):
            _password(phone)
    answers = []
    for phone in (citizen.phone, stranger):
        with pytest.raises(RateLimited) as exc:
            services.sms_code_request(phone=phone, purpose="reset", ip=fresh_ip())
        answers.append((exc.value.code, exc.value.zh, exc.value.fields))
    assert answers[0] == answers[1]


def test_the_shadow_counter_keeps_no_login_in_clear(settings):
    """The cache key is a keyed hash: the phone number itself is not in it."""
    from django.core.cache import cache

    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    p = unique_phone()
    with pytest.raises(Unauthenticated):
        _password(p)
    key = login_services._shadow_cache_key(p)
    assert p not in key and cache.get(key)["failed"] == 1


def test_success_still_resets_a_real_account_and_nothing_else_changes(citizen, settings):
    for _ in range(settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1):
        with pytest.raises(Unauthenticated):
            _password(citizen.phone)
    _password(citizen.phone, PASSWORD)
    assert User.objects.get(pk=citizen.pk).failed_logins == 0


def test_the_redis_lock_path_gives_up_on_a_held_key(settings, monkeypatch):
    """With a cache without transactions (Redis in production; locmem stands in for it here) ``locked`` takes
    per-key ``add`` locks: a second taker of a held key waits, then gives up, and ``take`` then refuses."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}}
    monkeypatch.setattr(ratelimit, "_LOCK_WAIT_SECONDS", 0.2)
    with ratelimit.locked(["jg:test:key"]) as first:
        assert first.held
        with ratelimit.locked(["jg:test:key"]) as again:  # held by us: a second taker waits, then gives up
            assert not again.held
        limit = ratelimit.Limit("test", "x", "5/m")
        with ratelimit.locked([limit.cache_key]):
            assert ratelimit.take([limit]) == ratelimit.Throttle(limit, 1)  # fails closed
    with ratelimit.locked(["jg:test:key"]) as ok:
        assert ok.held
    assert ratelimit.take([ratelimit.Limit("test", "x", "5/m")]) is None
