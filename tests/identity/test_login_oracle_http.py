"""Over HTTP, a login without an account is answered exactly like a login with one (issue 10 item 9): the same
status, error code, message, headers and cookies at every attempt, the 423 after the same number of failures,
for password and SMS-code logins, on the API, the citizen portal and the staff console; and the same
password-hash work, so the time taken does not tell them apart either.

The probe that still told them apart ran against ``make run``: two gunicorn workers, each with its own
local-memory cache, so the shadow counter of a login without an account was counted per worker (and locked after
up to twice the failures, answering 401 from one worker and 423 from the other) while an account's counter, in
its database row, was counted once. test_the_lockout_is_the_same_across_web_processes replays it with two real
processes; the cache is now shared by all of them (core.cache).
"""
import datetime as dt

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from jiaoguan.core import clock as core_clock
from jiaoguan.identity import services
from jiaoguan.identity.backends import PhoneOrUsernameBackend
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, later, register, wrong
from tests.identity.procs import http_post
from tests.notifications.helpers import last_code
from tests.processes import django_processes

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 3, 2, 10, 0)
API = "/api/v1/auth/login"
BAD = "Wrong-Pass#1"


def _series(n: int, path: str, data: dict, *, as_json: bool = False, typed: str = "") -> list[dict]:
    """n answers to the same post; a page shows the login typed in (``typed``): the same text stands for it."""
    out = [http_post(path=path, data=data, ip=fresh_ip(), as_json=as_json) for _ in range(n)]
    if typed:
        for a in out:
            a["body"] = a["body"].replace(typed, "TYPED")
    return out


def _statuses(series: list[dict]) -> list[int]:
    return [a["status"] for a in series]


@pytest.fixture
def citizen():
    return register(holder())


@pytest.fixture
def frozen(clock):
    """After the registration SMS's minute, frozen: every answer of both series is given at the same instant."""
    later()
    clock.freeze(clock.now())
    return clock


@pytest.mark.parametrize("mode", ["token", "session"])
def test_api_password_login(citizen, frozen, settings, mode):
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 2
    known = _series(n, API, {"login": citizen.phone, "password": BAD, "mode": mode}, as_json=True)
    unknown = _series(n, API, {"login": unique_phone(), "password": BAD, "mode": mode}, as_json=True)
    assert known == unknown
    assert _statuses(known) == [401] * (settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1) + [423] * 3
    assert known[-1]["body"]["code"] == "identity.account_locked"


def test_api_sms_login(citizen, frozen, settings):
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    code = code_for(citizen.phone, "login")
    stranger = unique_phone()
    services.sms_code_request(phone=stranger, purpose="login", ip=fresh_ip())  # nothing is sent
    known = _series(5, API, {"phone": citizen.phone, "code": wrong(code), "mode": "token"}, as_json=True)
    unknown = _series(5, API, {"phone": stranger, "code": wrong(code), "mode": "token"}, as_json=True)
    assert known == unknown
    assert _statuses(known) == [422, 422, 423, 423, 423]


def test_portal_password_login(citizen, frozen, settings):
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 2
    path = reverse("portal:login")
    stranger = unique_phone()
    known = _series(n, path, {"login": citizen.phone, "password": BAD}, typed=citizen.phone)
    unknown = _series(n, path, {"login": stranger, "password": BAD}, typed=stranger)
    assert known == unknown
    assert _statuses(known) == [401] * (settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1) + [423] * 3


def test_portal_sms_login(citizen, frozen, settings):
    """The whole SMS form: ask for a code (same answer, nothing sent to nobody), then wrong codes until locked."""
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 3
    path = reverse("portal:login")
    stranger = unique_phone()
    sent = [http_post(path=path, data={"method": "sms", "action": "send", "phone": p, "code": ""}, ip=fresh_ip())
            for p in (citizen.phone, stranger)]
    assert sent[0]["status"] == 200
    # the page shows the masked number it was sent to: the same but for the digits typed in
    assert sent[0]["body"].replace(citizen.phone[-4:], "####") == sent[1]["body"].replace(stranger[-4:], "####")
    bad = wrong(last_code(citizen.phone))
    known = _series(5, path, {"method": "sms", "action": "login", "phone": citizen.phone, "code": bad},
                    typed=citizen.phone)
    unknown = _series(5, path, {"method": "sms", "action": "login", "phone": stranger, "code": bad}, typed=stranger)
    assert known == unknown
    assert _statuses(known) == [422, 422, 423, 423, 423]


def test_console_login(frozen, settings):
    services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 2
    path = reverse("console:login")

    known = _series(n, path, {"username": "admin01", "password": BAD}, typed="admin01")
    unknown = _series(n, path, {"username": "admin02", "password": BAD}, typed="admin02")
    assert known == unknown
    assert _statuses(known) == [401] * (settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1) + [423] * 3


# --- the same work -------------------------------------------------------------------------------------------------

class CountingHasher(MD5PasswordHasher):
    """MD5 (fast) that counts how often a password is hashed: verify hashes once (via encode), so does encode."""

    algorithm = "md5"
    runs = 0

    def encode(self, password, salt):
        CountingHasher.runs += 1
        return super().encode(password, salt)


def _hash_runs(call) -> int:
    CountingHasher.runs = 0
    try:
        call()
    except Exception:  # noqa: BLE001 - only the work counts here
        pass
    return CountingHasher.runs


def test_a_wrong_password_costs_one_hash_whether_or_not_the_account_exists(settings):
    """Not a stopwatch (that would be flaky): the hasher counts its runs. One run for a wrong password of an
    account, of a login without one, of an empty password (the backend's path, which skipped the hash for an
    account), and none once locked, for both."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    settings.JIAOGUAN_LOGIN_MAX_FAILURES = 4
    citizen = register(holder())
    stranger = unique_phone()
    backend = PhoneOrUsernameBackend()
    for login in (citizen.phone, stranger):
        assert _hash_runs(lambda login=login: services.login_with_password(login=login, password=BAD,
                                                                            ip=fresh_ip())) == 1
        assert _hash_runs(lambda login=login: services.login_with_password(login=login, password="",
                                                                            ip=fresh_ip())) == 1
        assert _hash_runs(lambda login=login: backend.authenticate(None, username=login, password="")) == 1
        assert _hash_runs(lambda login=login: services.login_with_password(login=login, password=BAD,
                                                                            ip=fresh_ip())) == 1  # locks now
        assert _hash_runs(lambda login=login: services.login_with_password(login=login, password=BAD,
                                                                            ip=fresh_ip())) == 0  # 423 at once


# --- across web processes -------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_lockout_is_the_same_across_web_processes(settings):
    """Two processes (as two gunicorn workers) take turns answering: an account and a login without one lock
    after the same number of failures, with the same answers."""
    citizen = register(holder())
    stranger = unique_phone()
    n = settings.JIAOGUAN_LOGIN_MAX_FAILURES + 2
    at = (core_clock.now() + dt.timedelta(minutes=2)).isoformat()
    with django_processes(2) as workers:
        for w in workers:
            w.call("tests.identity.procs:freeze_clock", at=at)
        series = {}
        for login in (citizen.phone, stranger):
            series[login] = [
                workers[i % 2].call("tests.identity.procs:http_post", path=API, as_json=True, ip=f"10.77.{i}.1",
                                    data={"login": login, "password": BAD, "mode": "token"})
                for i in range(n)]
    assert series[citizen.phone] == series[stranger]
    assert _statuses(series[stranger]) == [401] * (settings.JIAOGUAN_LOGIN_MAX_FAILURES - 1) + [423] * 3
