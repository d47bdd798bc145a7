"""Login by password or SMS code, the lockout (with its shadow counter for logins without an account), and
password reset."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from jiaoguan.core import clock, crypto
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import InvalidInput, Locked, Unauthenticated
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.identity import ratelimit, rules
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import ApiToken, SmsCode, User
from jiaoguan.identity.roles import STAFF_ROLES, Role
from jiaoguan.identity.services._common import (
    _disabled,
    _local,
    _password_checked,
    _password_given,
    _plain,
    _rate_limited,
    _send,
)
from jiaoguan.identity.services.bindings import _bindings_sync
from jiaoguan.identity.services.otp import _code_error, _otp_check, _otp_consume

# --- login, lockout, reset --------------------------------------------------------------------------------------

def _bad_credentials() -> Unauthenticated:
    return Unauthenticated("identity.bad_credentials", "账号或密码错误", "Wrong login or password")


def _locked(until: dt.datetime) -> Locked:
    when = _local(until)
    return Locked("identity.account_locked",
                  f"登录失败次数过多，账户已锁定，请于{when}后再试，或通过短信验证码重置密码",
                  f"Too many failed logins: the account is locked until {when} (Beijing time). "
                  f"Try again then, or reset the password by SMS")


def _login_limits(ip: str) -> None:
    rate = settings.JIAOGUAN_LOGIN_RATE_PER_IP
    refusal = ratelimit.take([ratelimit.Limit("login.ip", ip or "unknown", rate)])
    if refusal is not None:
        raise _rate_limited(refusal, field=None)


def _login_key(login: str) -> str | None:
    """The normal form of a login: the 11-digit phone for anything that reads as a phone number, else the
    username as typed; None for what can never name an account (empty, over 64 characters, control characters)."""
    login = str(login or "").strip()
    if not login or len(login) > 64 or _plain(login, limit=64) != login:
        return None
    try:
        return validate_phone(login)
    except InvalidInput:
        return login


def _find_login_user(login: str) -> User | None:
    key = _login_key(login)
    if key is None:
        return None
    if not key.isdigit():
        # Usernames are for staff (and enterprise) accounts; citizens log in by phone.
        return User.objects.filter(username=key).exclude(role=Role.CITIZEN).first()
    return User.objects.filter(phone_hash=phone_hash(key)).first()


# The lockout must not tell which logins have accounts: a login without an account keeps a "shadow" failure
# counter in the cache (keyed by a keyed hash of the login, never the login itself) and locks after the same
# number of failures, for the same time, with the same answer. A real account's counter lasts until a success;
# the shadow one lasts JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS (30 days unless set) after its last failure.

def _shadow_cache_key(login_key: str) -> str:
    return "jg:shadowlock:" + crypto.lookup_hash(login_key, purpose="identity.login_shadow")


def _shadow_locked_until(login_key: str | None) -> dt.datetime | None:
    if login_key is None:
        return None
    try:
        state = cache.get(_shadow_cache_key(login_key)) or {}
    except ratelimit.CACHE_OUTAGE as exc:  # the cache is down: fail closed, like the limits (ratelimit.take)
        raise ratelimit.unavailable() from exc
    until = state.get("locked_until")
    until = dt.datetime.fromtimestamp(until, tz=dt.UTC) if until else None
    return until if rules.is_locked(locked_until=until, now=clock.now()) else None


def _shadow_failed(login_key: str | None) -> dt.datetime | None:
    """Count a failed login for a login without an account, exactly as _login_failed counts one for an account.
    Returns the time it is "locked" until, if it is."""
    if login_key is None:
        return None
    try:
        return _shadow_count(login_key)
    except ratelimit.CACHE_OUTAGE as exc:  # the cache is down: fail closed, like the limits (ratelimit.take)
        raise ratelimit.unavailable() from exc


def _shadow_count(login_key: str) -> dt.datetime | None:
    key = _shadow_cache_key(login_key)
    with ratelimit.locked([key]) as entries:  # atomic across web processes, like the account row's lock
        now = clock.now()
        state = entries.get(key) or {}
        until = state.get("locked_until")
        until = dt.datetime.fromtimestamp(until, tz=dt.UTC) if until else None
        if rules.is_locked(locked_until=until, now=now):
            return until
        outcome = rules.login_failure(failed_logins=int(state.get("failed", 0)), now=now,
                                      max_failures=settings.JIAOGUAN_LOGIN_MAX_FAILURES,
                                      lock_minutes=settings.JIAOGUAN_LOGIN_LOCK_MINUTES)
        ttl = settings.JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS
        entries.set(key, {"failed": outcome.failed_logins,
                          "locked_until": outcome.locked_until.timestamp() if outcome.locked_until else None},
                    max(ttl, settings.JIAOGUAN_LOGIN_LOCK_MINUTES * 60 + 60))
    if outcome.locked and login_key.isdigit():
        # An account's lock sends an SMS that uses up the phone's SMS allowance; use it up here too, or the
        # next code request for this number would tell the two apart.
        _lock_sms_allowed(phone_hash(login_key))
    return outcome.locked_until


def _lock_sms_allowed(phone_digest: str) -> bool:
    """The per-phone SMS limits (per minute, per hour) for the account.locked SMS: an attacker failing logins
    on purpose must not be able to send a phone more texts than a code request could."""
    refusal = ratelimit.take([
        ratelimit.Limit("sms.phone.min", phone_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE_MIN),
        ratelimit.Limit("sms.phone.hour", phone_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE),
    ])
    return refusal is None


def _login_failed(user: User, *, ip: str) -> dt.datetime | None:
    """Count a failure (committed at once); lock, audit and notify when the limit is reached. Returns the
    time the account is locked until, if it is."""
    now = clock.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        if rules.is_locked(locked_until=row.locked_until, now=now):
            return row.locked_until
        outcome = rules.login_failure(failed_logins=row.failed_logins, now=now,
                                      max_failures=settings.JIAOGUAN_LOGIN_MAX_FAILURES,
                                      lock_minutes=settings.JIAOGUAN_LOGIN_LOCK_MINUTES)
        row.failed_logins, row.locked_until = outcome.failed_logins, outcome.locked_until
        row.save(update_fields=["failed_logins", "locked_until"])
        if outcome.locked:
            audit_record(actor=Actor.system("identity.lockout"), action="account.lock", obj=row,
                         subject_person_id=row.person_id, reason="too many failed logins",
                         new={"locked_until": outcome.locked_until, "ip": ip})
            # SMS only within the phone's SMS limits (else the inbox alone): failed logins must not be a way to
            # flood someone's phone with texts.
            channels = ("sms", "inbox") if row.phone and _lock_sms_allowed(phone_hash(row.phone)) else ("inbox",)
            _send(template="account.locked", params={"minutes": settings.JIAOGUAN_LOGIN_LOCK_MINUTES}, user=row,
                  phone=row.phone or None, channels=channels, language=row.preferred_language)
        user.failed_logins, user.locked_until = row.failed_logins, row.locked_until
        return outcome.locked_until


def _password_reconfirm(row: User, password: str, *, ip: str) -> None:
    """The current password, asked again on top of the session before a change of contact details (a borrowed
    session must not be enough): missing (422 on ``password``), wrong (422, counted towards the login lockout),
    or the account locked (423). Call it outside any transaction: the count must commit before the refusal."""
    _password_given(password)
    if row.locked_until is not None and rules.is_locked(locked_until=row.locked_until, now=clock.now()):
        raise _locked(row.locked_until)
    if len(password) > 128 or not row.check_password(password):
        locked_until = _login_failed(row, ip=ip)
        if locked_until is not None:
            raise _locked(locked_until)
        raise InvalidInput("identity.password_wrong", "当前登录密码不正确", "The current password is wrong",
                           field="password")


def _login_succeeded(user: User, *, ip: str, method: str) -> User:
    now = clock.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        row.failed_logins, row.locked_until, row.last_login = 0, None, now
        row.save(update_fields=["failed_logins", "locked_until", "last_login"])
        if row.role in STAFF_ROLES:
            audit_record(actor=Actor.of(row, ip), action="staff.login", obj=row, new={"method": method})
        if row.person_id:
            _bindings_sync(user=row, actor=Actor.of(row, ip))
    return row


def _dummy_password_check(password: str | None) -> None:
    """The password-hash work of a real check (one run of the preferred hasher), for a login without an account:
    a wrong password costs the same time whether or not the account exists (as Django's ModelBackend does)."""
    User(username="-").set_password(password or "")


def login_with_password(*, login: str, password: str, ip: str) -> User:
    """Log in by phone (citizens) or username (staff) and password. Wrong login and wrong password give the
    same 401; after JIAOGUAN_LOGIN_MAX_FAILURES failures the account locks for JIAOGUAN_LOGIN_LOCK_MINUTES
    (423 with the unlock time) and the holder is told by SMS (within the phone's SMS limits) and inbox. A login
    without an account locks the same way (a shadow counter), so the 423 does not tell that an account exists."""
    _login_limits(ip)
    user = _find_login_user(login)
    if user is None:
        key = _login_key(login)
        shadow_until = _shadow_locked_until(key)
        if shadow_until is not None:
            raise _locked(shadow_until)
        _dummy_password_check(password)
        shadow_until = _shadow_failed(key)
        if shadow_until is not None:
            raise _locked(shadow_until)
        raise _bad_credentials()
    now = clock.now()
    if user.locked_until is not None and rules.is_locked(locked_until=user.locked_until, now=now):
        raise _locked(user.locked_until)
    if not user.check_password(password or ""):  # hashes even an empty password: the same work as for nobody
        locked_until = _login_failed(user, ip=ip)
        if locked_until is not None:
            raise _locked(locked_until)
        raise _bad_credentials()
    if not user.is_active:
        raise _disabled()
    return _login_succeeded(user, ip=ip, method="password")


def login_with_sms(*, phone: str, code: str, ip: str) -> User:
    """Log in with a code from ``sms_code_request(purpose="login")``. Wrong codes count towards the lockout."""
    _login_limits(ip)
    phone = validate_phone(phone)
    digest = phone_hash(phone)
    user = User.objects.filter(phone_hash=digest).first()
    now = clock.now()
    if user is not None and user.locked_until is not None and rules.is_locked(locked_until=user.locked_until,
                                                                               now=now):
        raise _locked(user.locked_until)
    if user is None and (shadow_until := _shadow_locked_until(phone)) is not None:
        raise _locked(shadow_until)
    try:
        sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.LOGIN, code=code)
    except InvalidInput:
        # the same counting for a phone without an account (shadow counter) as for one with an account
        locked_until = _login_failed(user, ip=ip) if user is not None else _shadow_failed(phone)
        if locked_until is not None:
            raise _locked(locked_until) from None
        raise
    if user is None:  # cannot happen (no code is sent to unknown numbers), but never log in nobody
        raise _code_error()
    if not user.is_active:
        raise _disabled()
    with transaction.atomic():
        _otp_consume(sms_id)
        return _login_succeeded(user, ip=ip, method="sms")


def password_reset(*, phone: str, code: str, new_password: str, ip: str) -> None:
    """Set a new password with a code from ``sms_code_request(purpose="reset")``. Also unlocks the account,
    revokes every API token, and tells the holder (password.changed)."""
    phone = validate_phone(phone)
    new_password = _password_checked(new_password, field="new_password")
    digest = phone_hash(phone)
    sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.RESET, code=code)
    now = clock.now()
    with transaction.atomic():
        _otp_consume(sms_id)
        user = User.objects.select_for_update().filter(phone_hash=digest).first()
        if user is None:
            raise _code_error()
        was_locked = rules.is_locked(locked_until=user.locked_until, now=now)
        user.set_password(new_password)
        user.failed_logins, user.locked_until = 0, None
        user.save(update_fields=["password", "failed_logins", "locked_until"])
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(actor=Actor.of(user, ip), action="account.password_reset", obj=user,
                     subject_person_id=user.person_id, old={"locked": was_locked},
                     new={"locked": False, "tokens_revoked": revoked})
        _send(template="password.changed", params={}, user=user, phone=phone, channels=("sms", "inbox"),
              language=user.preferred_language)
