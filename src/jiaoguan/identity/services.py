"""Every write of the identity app: SMS codes, real-name registration, login and lockout, password reset,
API tokens, staff accounts, vehicle bindings (DOMAIN §1).

Conventions (ARCHITECTURE §2–4): keyword-only functions named ``<noun>_<verb>``; every write inside
``transaction.atomic()``; refusals are ``core.errors`` domain errors with a stable code and Chinese and English
messages; "now" comes from ``core.clock``; changes that matter append an audit row.

Two things shape the code below:

* A wrong SMS code or password must be *counted* even though the request then fails. So the counting happens
  in its own short transaction that commits before the error is raised (``_otp_check``, ``_login_failed``),
  and callers never wrap these in an outer transaction that would roll the count back.
* Nobody may learn from our answers whether a phone number has an account: login and reset codes to unknown
  numbers are "sent" (same answer, same rate limits) without sending anything, and a wrong phone and a wrong
  password give the same error.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from jiaoguan.core import clock, crypto
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Locked,
    NotFound,
    RateLimited,
    Unauthenticated,
    forbidden,
    not_found,
)
from jiaoguan.core.i18n import choice_label, zh_en
from jiaoguan.core.identifiers import (
    format_plate,
    validate_id_number,
    validate_phone,
    validate_plate,
)
from jiaoguan.core.masking import mask_name, mask_phone
from jiaoguan.identity import ratelimit, rules
from jiaoguan.identity.models import ApiToken, SmsCode, User, VehicleBinding
from jiaoguan.identity.roles import STAFF_ROLES, Role, has_permission

PUBLIC_OTP_PURPOSES = (SmsCode.Purpose.REGISTER, SmsCode.Purpose.LOGIN, SmsCode.Purpose.RESET)
ACCOUNT_OTP_PURPOSES = (SmsCode.Purpose.PHONE,)  # only for a logged-in account (sms_code_request's ``user``)
CONTEXT_OTP_PURPOSES = (SmsCode.Purpose.BIND, SmsCode.Purpose.PHONE)
TOKEN_PREFIX = "jgt_"
LIVE = (VehicleBinding.Status.PENDING, VehicleBinding.Status.ACTIVE)
_VIN_TAIL = re.compile(r"^[0-9A-HJ-NPR-Z]{4}$")


# --- small helpers ----------------------------------------------------------------------------------------------

def phone_hash(phone: str) -> str:
    """The keyed lookup hash of a (validated) phone number: the same for User.phone, Person.phone and SmsCode."""
    return crypto.lookup_hash(phone, purpose="phone")


def _setting(name: str, default):
    return getattr(settings, name, default)


def _language() -> str:
    lang = translation.get_language() or "zh-hans"
    return "en" if lang.startswith("en") else "zh-hans"


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _plain(value: object, *, limit: int) -> str:
    """Free text to store or look up: control characters dropped (PostgreSQL refuses NUL bytes in text),
    trimmed, cut to ``limit``."""
    text = "".join(ch for ch in str(value or "") if ch in "\t" or ord(ch) >= 32 and ord(ch) != 127)
    return text.strip()[:limit]


def _merge(errors: list[InvalidInput]) -> InvalidInput:
    """Several field errors at once, so a form can mark every bad field in one round trip."""
    if len(errors) == 1:
        return errors[0]
    fields: dict[str, tuple[str, str]] = {}
    for err in errors:
        fields.update(err.fields)
    return InvalidInput("core.invalid_input", "提交的内容有误，请检查标出的项目",
                        "Some fields are invalid; see the details", fields=fields)


def _collect(checks: Iterable) -> tuple[list, list[InvalidInput]]:
    values, errors = [], []
    for check in checks:
        try:
            values.append(check())
        except InvalidInput as err:
            values.append(None)
            errors.append(err)
    return values, errors


def _password_checked(password: str, *, field: str = "password", user: User | None = None) -> str:
    """Django's AUTH_PASSWORD_VALIDATORS, with their messages in both languages."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("identity.password_required", "请设置密码", "Choose a password", field=field)
    if len(password) > 128:
        raise InvalidInput("identity.password_too_long", "密码不能超过128个字符",
                           "The password may have at most 128 characters", field=field)
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError:
        texts = {}
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                try:
                    password_validation.validate_password(password, user=user)
                except ValidationError as err:
                    texts[lang] = " ".join(str(m) for m in err.messages)
        raise InvalidInput("identity.password_weak", texts.get("zh-hans", "密码不符合要求"),
                           texts.get("en", "The password is too weak"), field=field) from None
    return password


def _name_checked(name: str) -> str:
    value = re.sub(r"\s+", "", str(name or ""))
    if not value:
        raise InvalidInput("identity.name_required", "请填写姓名", "Enter your name", field="name")
    if len(value) > 50:
        raise InvalidInput("identity.name_too_long", "姓名不能超过50个字", "The name may have at most 50 characters",
                           field="name")
    return value


def _same_name(a: str | None, b: str | None) -> bool:
    norm = lambda s: re.sub(r"[\s·•．.]", "", str(s or ""))  # noqa: E731 - "阿卜杜·热合曼" == "阿卜杜热合曼"
    return bool(norm(a)) and norm(a) == norm(b)


def _send(**kwargs) -> None:
    # Imported late: notifications depends on identity's User, and a module-level import would be circular.
    from jiaoguan.notifications.services import message_send

    message_send(**kwargs)


def _maybe(fn, **kwargs):
    """Call a registry selector that may answer "nothing" with None or with DoesNotExist/NotFound."""
    try:
        return fn(**kwargs)
    except (ObjectDoesNotExist, NotFound):
        return None


def _registry():
    from jiaoguan.registry import selectors

    return selectors


# --- rate limits ------------------------------------------------------------------------------------------------

def _rate_limited(refusal: ratelimit.Refusal, *, field: str | None) -> RateLimited:
    wait = refusal.retry_after
    if wait >= 120:
        zh_wait, en_wait = f"{(wait + 59) // 60}分钟", f"{(wait + 59) // 60} minutes"
    else:
        zh_wait, en_wait = f"{wait}秒", f"{wait} seconds"
    return RateLimited("identity.rate_limited", f"操作过于频繁，请{zh_wait}后再试",
                       f"Too many requests; try again in {en_wait}", field=field)


def _sms_limits(*, phone_digest: str, ip: str) -> None:
    """Per phone (per minute and per hour) and per client IP; raises RateLimited naming the field concerned."""
    limits = [
        ratelimit.Limit("sms.phone.min", phone_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE_MIN),
        ratelimit.Limit("sms.phone.hour", phone_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE),
        ratelimit.Limit("sms.ip", ip or "unknown", settings.JIAOGUAN_SMS_RATE_PER_IP),
    ]
    refusal = ratelimit.take(limits)
    if refusal is not None:
        raise _rate_limited(refusal, field="phone" if refusal.limit.scope.startswith("sms.phone") else None)


# --- one-time SMS codes -----------------------------------------------------------------------------------------

def _otp_minutes() -> int:
    return max(1, settings.JIAOGUAN_OTP_TTL_SECONDS // 60)


def _code_digest(code: str, salt: str) -> str:
    # Keyed (HMAC with the lookup-hash key) and salted: a leaked table does not give a million-guess lookup.
    return crypto.lookup_hash(f"{salt}:{code}", purpose="identity.otp")


def _code_matches(stored: str, code: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(digest, _code_digest(code, salt))


def _code_error() -> InvalidInput:
    # One message for wrong, expired, used up and never sent, so the answer says nothing about the account.
    return InvalidInput("identity.code_invalid", "验证码不正确或已失效，请核对或重新获取",
                        "The code is wrong or no longer valid; check it or request a new one", field="code")


def _otp_issue(*, phone_digest: str, purpose: str, context: str = "") -> str:
    """Create a code (6 digits from ``secrets``) and store only its hash; earlier live codes for the same phone
    and purpose stop working. Returns the code for the caller to send. Runs inside the caller's transaction."""
    now = clock.now()
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    live = SmsCode.objects.filter(phone_hash=phone_digest, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
    if purpose in CONTEXT_OTP_PURPOSES:
        # a code tied to one binding or one account: another requester's code for the same phone must not
        # cancel it
        live = live.filter(context=context)
    live.update(expires_at=now)
    SmsCode.objects.create(
        phone_hash=phone_digest,
        purpose=purpose,
        code_hash=f"{salt}${_code_digest(code, salt)}",
        context=context[:64],
        created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.JIAOGUAN_OTP_TTL_SECONDS),
    )
    return code


def _otp_check(*, phone_digest: str, purpose: str, code: str, context: str | None = None) -> int:
    """Check a code against the newest live one; return its id (not yet used up). A wrong code counts an
    attempt, committed before the error is raised; after JIAOGUAN_OTP_MAX_ATTEMPTS the code is dead."""
    code = str(code or "").strip()
    well_formed = bool(re.fullmatch(r"\d{6}", code))
    now = clock.now()
    with transaction.atomic():
        qs = SmsCode.objects.select_for_update().filter(
            phone_hash=phone_digest, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        )
        if context is not None:
            qs = qs.filter(context=context)
        row = qs.order_by("-created_at", "-id").first()
        if row is not None and row.attempts < settings.JIAOGUAN_OTP_MAX_ATTEMPTS:
            if well_formed and _code_matches(row.code_hash, code):
                return row.id
            row.attempts += 1
            row.save(update_fields=["attempts"])
    raise _code_error()


def _otp_burn_attempt(sms_id: int) -> None:
    """Count an attempt on a correct code whose request was refused for another reason (a wrong name for an
    ID number), so one code cannot be used to try many names."""
    with transaction.atomic():
        row = SmsCode.objects.select_for_update().filter(pk=sms_id).first()
        if row is not None:
            row.attempts += 1
            row.save(update_fields=["attempts"])


def _otp_consume(sms_id: int) -> None:
    """Use a checked code up, inside the caller's transaction. The conditional UPDATE makes two requests
    racing with one code end with one winner (the loser waits for the row and then sees it used)."""
    now = clock.now()
    used = SmsCode.objects.filter(pk=sms_id, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if not used:
        raise _code_error()


def sms_code_request(*, phone: str, purpose: str, ip: str, context: str = "", user: User | None = None) -> None:
    """Send a one-time code by SMS for registration, login, password reset, or (``purpose="phone"``, for the
    logged-in ``user`` only) a change of the account's phone, in which case ``phone`` is the NEW phone and the
    code is tied to the account (account_phone_change).

    Rate-limited per phone (JIAOGUAN_SMS_RATE_PER_PHONE_MIN, JIAOGUAN_SMS_RATE_PER_PHONE) and per client IP
    (JIAOGUAN_SMS_RATE_PER_IP); phone-change codes also per account (JIAOGUAN_SMS_RATE_PER_PHONE). For login and
    reset to a number without an (active) account the answer is the same and the limits count the same, but
    nothing is sent. A phone-change code is sent whether or not the new number has an account: only whoever
    holds that number learns it, when the change is refused with the code (409)."""
    if purpose in ACCOUNT_OTP_PURPOSES:
        _phone_change_code_request(user=user, new_phone=phone, ip=ip)
        return
    phone = validate_phone(phone)
    if purpose not in PUBLIC_OTP_PURPOSES:
        raise InvalidInput("identity.sms_purpose", "验证码用途不正确（register、login、reset 或 phone）",
                           "The purpose must be register, login, reset or phone", field="purpose")
    digest = phone_hash(phone)
    _sms_limits(phone_digest=digest, ip=ip)
    user = None
    if purpose != SmsCode.Purpose.REGISTER:
        user = User.objects.filter(phone_hash=digest, is_active=True).first()
        if user is None:
            return
    with transaction.atomic():
        code = _otp_issue(phone_digest=digest, purpose=purpose, context=_plain(context, limit=64))
        _send(template=f"otp.{purpose}", params={"code": code, "minutes": _otp_minutes()}, phone=phone,
              user=user, channels=("sms",), language=user.preferred_language if user else _language())


# --- registration -----------------------------------------------------------------------------------------------

def _real_name_error() -> InvalidInput:
    return InvalidInput(
        "identity.real_name_mismatch",
        "姓名与身份证号码不一致，或本市车管所没有您的登记信息。请核对；如确认无误，请携带身份证到车管所窗口办理",
        "The name and ID number do not match a person on the city's traffic police records. Please check "
        "them; if they are right, bring your ID card to a vehicle administration office window",
        fields={
            "name": ("姓名与身份证号码不一致", "The name does not match the ID number"),
            "id_number": ("未找到与姓名一致的登记信息", "No record with this name and ID number"),
        },
    )


def _phone_mismatch_error() -> InvalidInput:
    return InvalidInput(
        "identity.phone_mismatch",
        "该手机号码与您在车管所预留的手机号码不一致，请使用预留手机号注册；"
        "如需更换，请携带身份证到车管所窗口更新预留手机号",
        "This phone number is not the one on file at the vehicle administration office: register with the "
        "phone number on file. To change it, bring your ID card to a vehicle administration office window",
        field="phone",
    )


def _phone_missing_error() -> InvalidInput:
    return InvalidInput(
        "identity.phone_mismatch",
        "车管所没有您的预留手机号码。驾驶人和车主须使用预留手机号注册，请携带身份证到车管所窗口登记预留手机号",
        "The vehicle administration office has no phone number on file for you. Licence holders and vehicle "
        "owners must register with the phone number on file: bring your ID card to a vehicle administration "
        "office window to add it",
        field="phone",
    )


def citizen_register(*, phone: str, code: str, name: str, id_number: str, password: str, ip: str) -> User:
    """Real-name registration (DOMAIN §1): phone + SMS code + name + ID number + password.

    The name and ID number must match a registry person. Whenever the registry has a phone on file for the
    person, the phone must be that one (knowing someone's name and ID number is not enough to open their
    account); a licence holder or vehicle owner without a phone on file is sent to a window; only a person with
    neither a phone on file nor a licence or vehicle may register with any phone (and sees no licence or own
    vehicle until the phone on file is theirs: selectors.account_standing). One account per person and per
    phone (409). Own vehicles are bound at once; a welcome message goes
    to the inbox; the registration is audited. All or nothing."""
    (phone, id_number, name, password), errors = _collect([
        lambda: validate_phone(phone),
        lambda: validate_id_number(id_number),
        lambda: _name_checked(name),
        lambda: _password_checked(password),
    ])
    if errors:
        raise _merge(errors)
    digest = phone_hash(phone)
    sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.REGISTER, code=code)
    try:
        return _register_atomic(phone=phone, digest=digest, sms_id=sms_id, name=name, id_number=id_number,
                                password=password, ip=ip)
    except InvalidInput as err:
        if err.code in ("identity.real_name_mismatch", "identity.phone_mismatch"):
            _otp_burn_attempt(sms_id)
        raise


def _register_atomic(*, phone: str, digest: str, sms_id: int, name: str, id_number: str, password: str,
                     ip: str) -> User:
    reg = _registry()
    now = clock.now()
    with transaction.atomic():
        # First: use the code up. Two registrations racing with the same phone queue here.
        _otp_consume(sms_id)
        person = _maybe(reg.person_by_id_number, id_number=id_number)
        if person is None or not _same_name(person.name, name):
            raise _real_name_error()
        if User.objects.filter(person_id=person.pk).exists():
            raise Conflict("identity.person_registered", "该身份证号码已注册账户，请直接登录或找回密码",
                           "An account already exists for this ID number; log in or reset the password",
                           field="id_number")
        if User.objects.filter(phone_hash=digest).exists():
            raise Conflict("identity.phone_registered", "该手机号码已注册账户，请直接登录或找回密码",
                           "This phone number already has an account; log in or reset the password",
                           field="phone")
        holds_licence = _maybe(reg.licence_for_person, person=person) is not None
        owns_vehicle = bool(list(reg.vehicles_owned_by(person=person) or []))
        if person.phone:
            if not rules.phone_on_file_matches(on_file=person.phone, account=phone):
                raise _phone_mismatch_error()
        elif holds_licence or owns_vehicle:
            raise _phone_missing_error()
        user = User(
            username=f"c{secrets.token_hex(10)}",  # citizens log in by phone; the username carries no personal data
            role=Role.CITIZEN,
            phone=phone,
            person=person,
            real_name_verified_at=now,
            date_joined=now,
            preferred_language=_language(),
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            # A concurrent registration of the same person or phone committed first.
            if User.objects.filter(phone_hash=digest).exists():
                raise Conflict("identity.phone_registered", "该手机号码已注册账户，请直接登录或找回密码",
                               "This phone number already has an account; log in or reset the password",
                               field="phone") from None
            raise Conflict("identity.person_registered", "该身份证号码已注册账户，请直接登录或找回密码",
                           "An account already exists for this ID number; log in or reset the password",
                           field="id_number") from None
        actor = Actor.of(user, ip)
        audit_record(actor=actor, action="account.register", obj=user, subject_person_id=person.pk,
                     new={"role": user.role, "phone": mask_phone(phone), "person_id": person.pk,
                          "holder_or_owner": holds_licence or owns_vehicle})
        _bindings_sync(user=user, actor=actor)
        _send(template="account.welcome", params={}, user=user, channels=("inbox",), language=user.preferred_language)
        return user


# --- login, lockout, reset --------------------------------------------------------------------------------------

def _bad_credentials() -> Unauthenticated:
    return Unauthenticated("identity.bad_credentials", "账号或密码错误", "Wrong login or password")


def _locked(until: dt.datetime) -> Locked:
    when = _local(until)
    return Locked("identity.account_locked",
                  f"登录失败次数过多，账户已锁定，请于{when}后再试，或通过短信验证码重置密码",
                  f"Too many failed logins: the account is locked until {when} (Beijing time). "
                  f"Try again then, or reset the password by SMS")


def _disabled() -> Forbidden:
    return Forbidden("identity.account_disabled", "该账户已停用，请联系管理员", "This account is disabled; contact an administrator")


def _login_limits(ip: str) -> None:
    rate = _setting("JIAOGUAN_LOGIN_RATE_PER_IP", "60/m")
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
# the shadow one lasts JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS (default 30 days) after its last failure.

def _shadow_cache_key(login_key: str) -> str:
    return "jg:shadowlock:" + crypto.lookup_hash(login_key, purpose="identity.login_shadow")


def _shadow_locked_until(login_key: str | None) -> dt.datetime | None:
    if login_key is None:
        return None
    state = cache.get(_shadow_cache_key(login_key)) or {}
    until = state.get("locked_until")
    until = dt.datetime.fromtimestamp(until, tz=dt.UTC) if until else None
    return until if rules.is_locked(locked_until=until, now=clock.now()) else None


def _shadow_failed(login_key: str | None) -> dt.datetime | None:
    """Count a failed login for a login without an account, exactly as _login_failed counts one for an account.
    Returns the time it is "locked" until, if it is."""
    if login_key is None:
        return None
    key = _shadow_cache_key(login_key)
    with ratelimit.held(key):  # if the lock cannot be had, count anyway: at worst a count is lost in a race
        now = clock.now()
        state = cache.get(key) or {}
        until = state.get("locked_until")
        until = dt.datetime.fromtimestamp(until, tz=dt.UTC) if until else None
        if rules.is_locked(locked_until=until, now=now):
            return until
        outcome = rules.login_failure(failed_logins=int(state.get("failed", 0)), now=now,
                                      max_failures=settings.JIAOGUAN_LOGIN_MAX_FAILURES,
                                      lock_minutes=settings.JIAOGUAN_LOGIN_LOCK_MINUTES)
        ttl = int(_setting("JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS", 30 * 86400))
        cache.set(key, {"failed": outcome.failed_logins,
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
        User(username="-").set_password(password or "")  # the same hashing work as a real check: no timing oracle
        shadow_until = _shadow_failed(key)
        if shadow_until is not None:
            raise _locked(shadow_until)
        raise _bad_credentials()
    now = clock.now()
    if rules.is_locked(locked_until=user.locked_until, now=now):
        raise _locked(user.locked_until)
    if not password or not user.check_password(password):
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
    if user is not None and rules.is_locked(locked_until=user.locked_until, now=now):
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


# --- changing the account's phone -------------------------------------------------------------------------------
#
# The way out of a phone mismatch (selectors.account_standing): the person updates the phone on file at a window
# (registry.services.person_update_phone), then moves the account to that phone here. Proof of the new phone: a
# code sent to it (otp.phone), tied to this account. Proof that the account holder is asking (not someone at an
# unlocked phone or with a stolen session): the current password as well as the session or token. Wrong passwords
# count towards the login lockout. The new phone may be any number no other account uses; the records come back
# only when it is the phone on file (the usual rule), so changing to another number withholds them again.

def _phone_change_account(user: User | None) -> User:
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        raise Unauthenticated("core.unauthenticated", "请先登录", "Please log in first")
    if not user.is_active:
        raise _disabled()
    if user.role != Role.CITIZEN:
        # staff and enterprise accounts: their phone is kept by an administrator
        raise Forbidden("identity.citizen_only", "只有市民账户可以自行更换手机号，民警和单位账户请联系管理员",
                        "Only citizen accounts can change their own phone; staff and company accounts ask an "
                        "administrator")
    return user


def _same_phone_error(field: str) -> InvalidInput:
    return InvalidInput("identity.phone_unchanged", "新手机号与账户当前的手机号相同",
                        "The new phone number is the account's current phone number", field=field)


def _phone_taken_error(field: str) -> Conflict:
    return Conflict("identity.phone_registered", "该手机号码已被其他账户使用，不能更换为该号码",
                    "This phone number is used by another account and cannot be yours as well", field=field)


def _phone_change_code_request(*, user: User | None, new_phone: str, ip: str) -> None:
    user = _phone_change_account(user)
    new_phone = validate_phone(new_phone)
    if user.phone and rules.phone_on_file_matches(on_file=user.phone, account=new_phone):
        raise _same_phone_error("phone")
    digest = phone_hash(new_phone)
    refusal = ratelimit.take([ratelimit.Limit("sms.account", str(user.pk), settings.JIAOGUAN_SMS_RATE_PER_PHONE)])
    if refusal is not None:
        raise _rate_limited(refusal, field=None)
    _sms_limits(phone_digest=digest, ip=ip)
    with transaction.atomic():
        code = _otp_issue(phone_digest=digest, purpose=SmsCode.Purpose.PHONE, context=str(user.pk))
        _send(template="otp.phone", params={"code": code, "minutes": _otp_minutes()}, phone=new_phone, user=user,
              channels=("sms",), language=user.preferred_language)


def account_phone_change(*, user: User, new_phone: str, code: str, password: str, ip: str,
                         keep_token: str | None = None) -> User:
    """Move a citizen's account to a new phone number: ``code`` is the one ``sms_code_request(purpose="phone",
    user=user)`` sent to ``new_phone``; ``password`` is the account's current password (required on top of the
    session or token: the phone is how the account is recovered, so a borrowed session must not be enough).

    Refusals: bad formats (422, per field: new_phone, code, password); the current phone again (422); a wrong
    password (422 on ``password``, counted towards the login lockout; 423 when locked); a wrong or dead code (422
    on ``code``, counted against the code); a number another account uses (409 on ``new_phone``, told only
    after the code proved the number is the requester's). On success, in one transaction: the code is used up,
    the phone changes, every API token but ``keep_token`` is revoked, an audit row records the masked old and
    new numbers, the old number (SMS) and the inbox are told, and own vehicles are synced, so the licence and
    own vehicles reappear when the new phone is the phone on file (and are withheld when it is not)."""
    user = _phone_change_account(user)
    _login_limits(ip)

    def check_password_given():
        if not isinstance(password, str) or not password:
            raise InvalidInput("identity.password_required", "请输入当前登录密码", "Enter your current password",
                               field="password")
        return password

    def check_code_given():
        value = str(code or "").strip()
        if not value:
            raise InvalidInput("identity.code_required", "请输入短信验证码", "Enter the SMS code", field="code")
        return value

    (new_phone, _pw, _code), errors = _collect([
        lambda: validate_phone(new_phone, field="new_phone"), check_password_given, check_code_given])
    if errors:
        raise _merge(errors)
    if user.phone and rules.phone_on_file_matches(on_file=user.phone, account=new_phone):
        raise _same_phone_error("new_phone")
    now = clock.now()
    row = User.objects.get(pk=user.pk)
    if rules.is_locked(locked_until=row.locked_until, now=now):
        raise _locked(row.locked_until)
    if len(password) > 128 or not row.check_password(password):
        locked_until = _login_failed(row, ip=ip)
        if locked_until is not None:
            raise _locked(locked_until)
        raise InvalidInput("identity.password_wrong", "当前登录密码不正确", "The current password is wrong",
                           field="password")
    digest = phone_hash(new_phone)
    sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.PHONE, code=code, context=str(user.pk))
    actor = Actor.of(user, ip)
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        _otp_consume(sms_id)
        if User.objects.filter(phone_hash=digest).exclude(pk=row.pk).exists():
            raise _phone_taken_error("new_phone")
        old_phone = row.phone
        row.phone = new_phone
        try:
            with transaction.atomic():
                row.save(update_fields=["phone", "phone_hash"])
        except IntegrityError:  # another account took the number in the meantime
            raise _phone_taken_error("new_phone") from None
        tokens = ApiToken.objects.filter(user=row, revoked_at__isnull=True)
        if keep_token:
            tokens = tokens.exclude(token_hash=_token_digest(str(keep_token)))
        revoked = tokens.update(revoked_at=now)
        _bindings_sync(user=row, actor=actor)
        audit_record(actor=actor, action="account.phone_change", obj=row, subject_person_id=row.person_id,
                     old={"phone": mask_phone(old_phone) if old_phone else ""},
                     new={"phone": mask_phone(new_phone), "tokens_revoked": revoked,
                          "records_visible": _records_visible(row)})
        params = {"phone": mask_phone(new_phone)}
        _send(template="account.phone_changed", params=params, user=row, channels=("inbox",),
              language=row.preferred_language)
        if old_phone:
            # Not held to the old number's SMS limits: one notice per change, and changes are bounded by the
            # account's code limit (sms.account); a notice that the account moved away must not be dropped.
            _send(template="account.phone_changed", params=params, phone=old_phone, channels=("sms",),
                  language=row.preferred_language)
    user.phone, user.phone_hash = row.phone, row.phone_hash
    return row


# --- API tokens -------------------------------------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_issue(*, user: User, label: str = "") -> str:
    """A bearer token for an app: returned once, stored as a SHA-256, valid JIAOGUAN_TOKEN_TTL_DAYS."""
    if not user.is_active:
        raise _disabled()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        ApiToken.objects.create(user=user, token_hash=_token_digest(token), label=_plain(label, limit=60),
                                created_at=now, expires_at=now + dt.timedelta(days=settings.JIAOGUAN_TOKEN_TTL_DAYS))
    return token


def token_revoke(*, user: User, token: str) -> None:
    """Revoke one of the user's own tokens (404 for anyone else's or an unknown one)."""
    with transaction.atomic():
        done = ApiToken.objects.filter(user=user, token_hash=_token_digest(str(token or "")),
                                       revoked_at__isnull=True).update(revoked_at=clock.now())
    if not done:
        raise not_found("令牌", "token")


def user_for_token(token: str) -> User | None:
    """The active user a live token belongs to, or None. Notes when it was last used (at most every 5 min)."""
    if not token or not isinstance(token, str) or len(token) > 200 or not token.startswith(TOKEN_PREFIX):
        return None
    now = clock.now()
    row = (ApiToken.objects.select_related("user", "user__person")
           .filter(token_hash=_token_digest(token), revoked_at__isnull=True, expires_at__gt=now).first())
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


# --- staff accounts ---------------------------------------------------------------------------------------------

def _staff_insert(*, actor: Actor, username: str, display_name: str, role: str, password: str,
                  phone: str | None) -> User:
    username = str(username or "").strip()
    display_name = _plain(display_name, limit=61)

    def check_role():
        if role not in STAFF_ROLES:
            raise InvalidInput("identity.staff_role", "民警账户的角色只能是窗口民警、审批民警、审计员或管理员",
                               "A staff role is clerk, approver, auditor or admin", field="role")
        return role

    def check_username():
        if not rules.staff_username_ok(username):
            raise InvalidInput("identity.username_format", "用户名为3–32位字母、数字或 _ . -，以字母开头",
                               "A username has 3–32 letters, digits or _ . -, starting with a letter",
                               field="username")
        return username

    def check_display_name():
        if not display_name or len(display_name) > 60:
            raise InvalidInput("identity.display_name", "请填写姓名（不超过60个字）",
                               "Enter a display name (at most 60 characters)", field="display_name")
        return display_name

    (role, username, display_name, password, phone), errors = _collect([
        check_role, check_username, check_display_name,
        lambda: _password_checked(password),
        lambda: validate_phone(phone) if phone else None,
    ])
    if errors:
        raise _merge(errors)
    now = clock.now()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict("identity.username_taken", "该用户名已被使用", "This username is taken", field="username")
        if phone and User.objects.filter(phone_hash=phone_hash(phone)).exists():
            raise Conflict("identity.phone_registered", "该手机号码已被其他账户使用",
                           "This phone number is used by another account", field="phone")
        is_admin = role == Role.ADMIN
        user = User(username=username, display_name=display_name, role=role, phone=phone or None,
                    date_joined=now, is_staff=is_admin, is_superuser=is_admin)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            raise Conflict("identity.username_taken", "该用户名已被使用", "This username is taken",
                           field="username") from None
        audit_record(actor=actor, action="staff.create", obj=user,
                     new={"username": username, "role": role, "display_name": display_name,
                          "phone": mask_phone(phone) if phone else ""})
    return user


def staff_create(*, actor: User, username: str, display_name: str, role: str, password: str,
                 phone: str | None = None) -> User:
    """An administrator creates a staff account (clerk, approver, auditor or admin)."""
    if not has_permission(actor, "staff.manage"):
        raise forbidden()
    return _staff_insert(actor=Actor.of(actor), username=username, display_name=display_name, role=role,
                         password=password, phone=phone)


def staff_bootstrap(*, username: str, display_name: str, password: str, role: str = Role.ADMIN,
                    phone: str | None = None, by: str = "manage.py create_staff") -> User:
    """The first administrator (no actor yet): used by the ``create_staff`` command and the demo."""
    return _staff_insert(actor=Actor.system(by), username=username, display_name=display_name, role=role,
                         password=password, phone=phone)


def staff_set_active(*, actor: User, user: User, active: bool) -> User:
    """An administrator disables or re-enables a staff account; disabling revokes its tokens (its sessions stop
    authenticating because the backend refuses inactive users)."""
    if not has_permission(actor, "staff.manage"):
        raise forbidden()
    if user.role not in STAFF_ROLES:
        raise not_found("民警账户", "staff account")
    if user.pk == actor.pk:
        raise InvalidInput("identity.self_disable", "不能停用或启用自己的账户",
                           "You cannot disable or enable your own account", field="active")
    now = clock.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        if row.is_active == bool(active):
            return row
        old = row.is_active
        row.is_active = bool(active)
        row.save(update_fields=["is_active"])
        revoked = 0
        if not row.is_active:
            revoked = ApiToken.objects.filter(user=row, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(actor=Actor.of(actor), action="staff.activate" if active else "staff.deactivate", obj=row,
                     old={"is_active": old}, new={"is_active": row.is_active, "tokens_revoked": revoked})
    user.is_active = row.is_active
    return row


# --- vehicle bindings (DOMAIN §1) -------------------------------------------------------------------------------
#
# The life cycle of a binding (rules.BINDING_MOVES): a binding is opened pending (someone else's vehicle, waiting
# for the owner's code) or active (an own vehicle); pending → active (confirmed, or the user became the owner),
# pending → ended (withdrawn, owner changed), pending → expired (the owner's code died), active → ended (unbound,
# no longer the owner, the vehicle changed owner or left service). ``_binding_open`` is the one place a binding
# is created and ``_binding_move`` the one place its status changes: each checks the table and appends the
# audit row. The named transitions below (_binding_activate, _binding_end, _binding_expire) are what callers
# use; tests/identity/test_binding_lifecycle.py checks on the source that nothing else assigns a status.

def _binding_state_error(old: str, new: str) -> Conflict:
    zh_old, en_old = zh_en(choice_label(VehicleBinding.Status, old))
    zh_new, en_new = zh_en(choice_label(VehicleBinding.Status, new))
    return Conflict("identity.binding_state", f"该绑定记录当前为“{zh_old}”，不能改为“{zh_new}”",
                    f"This binding is {en_old.lower() or old} and cannot become {en_new.lower() or new}")


def _binding_move(binding: VehicleBinding, *, to: str, actor: Actor, action: str, reason: str = "",
                  new: dict | None = None) -> str:
    """Move a binding (row locked by the caller, inside its transaction) to ``to`` if the table allows it; stamp
    bound_at / ended_at; append the audit row (subject: the owner who authorised it). Returns the old status."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a binding moves only inside the caller's transaction, with its row locked")
    old = binding.status
    if not rules.binding_move_allowed(old, to):
        raise _binding_state_error(old, to)
    now = clock.now()
    binding.status = to
    fields = ["status"]
    extra: dict = {}
    if to == VehicleBinding.Status.ACTIVE:
        binding.bound_at = binding.bound_at or now
        fields.append("bound_at")
        extra["bound_at"] = binding.bound_at
    else:
        binding.ended_at = now
        fields.append("ended_at")
    binding.save(update_fields=fields)
    audit_record(actor=actor, action=action, obj=binding, subject_person_id=binding.owner_person_id,
                 old={"status": old}, new={"status": to, **extra, **(new or {})}, reason=reason)
    return old


def _binding_open(*, user: User, vehicle, kind: str, actor: Actor, action: str, new: dict | None = None
                  ) -> VehicleBinding:
    """Create a binding: an own vehicle starts active, someone else's pending. Records the owner now on file
    as the one who authorises it, and appends the audit row."""
    now = clock.now()
    status = VehicleBinding.Status.ACTIVE if kind == VehicleBinding.Kind.OWN else VehicleBinding.Status.PENDING
    if status not in rules.BINDING_START:
        raise _binding_state_error("", status)
    binding = VehicleBinding.objects.create(
        user=user, vehicle_id=vehicle.pk, kind=kind, status=status, requested_at=now,
        bound_at=now if status == VehicleBinding.Status.ACTIVE else None, owner_person_id=vehicle.owner_id)
    audit_record(actor=actor, action=action, obj=binding, subject_person_id=vehicle.owner_id,
                 new={"status": status, "vehicle_id": vehicle.pk, "plate": vehicle.plate, "kind": kind,
                      **(new or {})})
    return binding


def _binding_activate(binding: VehicleBinding, *, actor: Actor, action: str = "binding.confirm",
                      new: dict | None = None) -> str:
    """pending → active."""
    return _binding_move(binding, to=VehicleBinding.Status.ACTIVE, actor=actor, action=action, new=new)


def _binding_end(binding: VehicleBinding, *, actor: Actor, action: str = "binding.end", reason: str = "",
                 new: dict | None = None, notify: bool = True) -> str:
    """pending or active → ended. With ``notify``, a user whose active binding ended is told in the inbox
    (binding.ended). Returns the old status."""
    old = _binding_move(binding, to=VehicleBinding.Status.ENDED, actor=actor, action=action, reason=reason,
                        new=new)
    if notify and old == VehicleBinding.Status.ACTIVE:
        user = binding.user
        _send(template="binding.ended", params={"plate": format_plate(binding.vehicle.plate)}, user=user,
              channels=("inbox",), language=user.preferred_language)
    return old


def _binding_expire(binding: VehicleBinding, *, actor: Actor) -> str:
    """pending → expired (the owner's code can no longer be used)."""
    return _binding_move(binding, to=VehicleBinding.Status.EXPIRED, actor=actor, action="binding.expire")


def _binding_make_own(binding: VehicleBinding, *, actor: Actor, person_id: int) -> None:
    """The user now owns a vehicle they had bound (or asked to bind) as someone else's: it becomes their own,
    authorised by themselves; a pending request becomes active."""
    old_kind = binding.kind
    binding.kind, binding.owner_person_id = VehicleBinding.Kind.OWN, person_id
    binding.save(update_fields=["kind", "owner_person_id"])
    if binding.status == VehicleBinding.Status.PENDING:
        _binding_activate(binding, actor=actor, action="binding.became_own", new={"kind": "own"})
    else:
        audit_record(actor=actor, action="binding.became_own", obj=binding, subject_person_id=person_id,
                     old={"kind": old_kind, "status": binding.status}, new={"kind": "own", "status": binding.status})


def _owned_now(person) -> dict[int, object]:
    """The vehicles the person owns now, by id (the registry leaves out scrapped and transferred ones)."""
    return {v.pk: v for v in _registry().vehicles_owned_by(person=person) or []}


def _owned_ids(person) -> set[int]:
    """The ids of the vehicles the person owns now: the cheap check every "my vehicles" read makes."""
    return _registry().vehicle_ids_owned_by(person=person)


def _records_visible(user: User) -> bool:
    from jiaoguan.identity.selectors import records_visible

    return records_visible(user=user)


def _bindings_sync(*, user: User, actor: Actor) -> None:
    """Own vehicles: bind every vehicle the person owns now, end own bindings of vehicles no longer owned.
    Only while the account's phone is the person's phone on file: otherwise nothing is bound and live own
    bindings end (the account is not proven to be the owner's: selectors.account_standing)."""
    if user.person_id is None:
        return
    visible = _records_visible(user)
    owned_ids = _owned_ids(user.person) if visible else set()
    # Fast path without locks (this runs on every "my vehicles" read): nothing to do in the usual case.
    live_kinds = dict(VehicleBinding.objects.filter(user=user, status__in=LIVE).values_list("vehicle_id", "kind"))
    if all(live_kinds.get(vid) == VehicleBinding.Kind.OWN for vid in owned_ids) and not any(
            kind == VehicleBinding.Kind.OWN and vid not in owned_ids for vid, kind in live_kinds.items()):
        return
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one sync per user at a time
        owned = _owned_now(user.person) if visible else {}
        live = {b.vehicle_id: b for b in VehicleBinding.objects.select_for_update(of=("self",))
                .select_related("vehicle").filter(user=user, status__in=LIVE)}
        for vehicle_id in sorted(owned):
            binding = live.get(vehicle_id)
            if binding is None:
                _binding_open(user=user, vehicle=owned[vehicle_id], kind=VehicleBinding.Kind.OWN, actor=actor,
                              action="binding.own_bind")
            elif binding.kind != VehicleBinding.Kind.OWN:
                _binding_make_own(binding, actor=actor, person_id=user.person_id)
        for vehicle_id, binding in live.items():
            if binding.kind == VehicleBinding.Kind.OWN and vehicle_id not in owned:
                _binding_end(binding, actor=actor, action="binding.own_end",
                             reason="no longer the owner" if visible else "account phone is not the phone on file",
                             new={"plate": binding.vehicle.plate})


def bindings_sync_own(*, user: User) -> None:
    """Bind every vehicle the user owns (registry) and end own bindings of vehicles no longer owned; while the
    account's phone is not the phone on file, bind nothing and end own bindings."""
    _bindings_sync(user=user, actor=Actor.system("identity.bindings_sync"))


def bindings_reconcile_vehicle(*, vehicle_id: int, reason: str = "") -> list[VehicleBinding]:
    """Bring the bindings of one vehicle in line with the registry after it changed owner or left service
    (outbox events registry.vehicle_owner_changed / registry.vehicle_status_changed, identity.handlers).

    Ends every live binding that no longer stands (rules.binding_stands): all of them when the vehicle is
    scrapped or transferred out; otherwise the previous owner's own binding and other users' bindings that the
    previous owner had agreed to. Each end is audited and a user whose active binding ended is told in the
    inbox (binding.ended). Then the new owner's account, if any, binds the vehicle as its own (the usual
    sync, so only while its phone is the phone on file). Decided from the registry as it is now, not from the
    event: running it again, late or out of order changes nothing more. Returns the bindings it ended."""
    from jiaoguan.registry.models import Vehicle

    actor = Actor.system("identity.vehicle_changed")
    vehicle = Vehicle.objects.filter(pk=vehicle_id).first()
    if vehicle is None:
        return []
    user_ids = set(VehicleBinding.objects.filter(vehicle_id=vehicle.pk, status__in=LIVE)
                   .values_list("user_id", flat=True))
    account = None
    if vehicle.owner_id is not None and vehicle.status not in rules.VEHICLE_GONE_STATUSES:
        account = User.objects.filter(person_id=vehicle.owner_id, is_active=True).first()
        if account is not None:
            user_ids.add(account.pk)
    ended: list[VehicleBinding] = []
    with transaction.atomic():
        # Users first, in one order, then their bindings: the order every other binding write takes.
        list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", flat=True))
        vehicle = Vehicle.objects.get(pk=vehicle.pk)
        live = (VehicleBinding.objects.select_for_update(of=("self",)).select_related("user", "vehicle")
                .filter(vehicle_id=vehicle.pk, status__in=LIVE).order_by("pk"))
        for binding in live:
            if rules.binding_stands(kind=binding.kind, user_person_id=binding.user.person_id,
                                    authorised_by=binding.owner_person_id, owner_id=vehicle.owner_id,
                                    vehicle_status=vehicle.status):
                continue
            _binding_end(binding, actor=actor, action="binding.vehicle_changed", reason=reason,
                         new={"plate": vehicle.plate, "owner_person_id": vehicle.owner_id,
                              "vehicle_status": vehicle.status})
            ended.append(binding)
        if account is not None:
            _bindings_sync(user=account, actor=actor)
    return ended


def _require_citizen(user: User) -> None:
    if user is None or not user.is_active or user.role != Role.CITIZEN or user.person_id is None:
        raise Forbidden("identity.citizen_only", "只有完成实名注册的市民可以绑定车辆",
                        "Only citizens with a verified real name can bind vehicles")


def _vehicle_mismatch() -> InvalidInput:
    return InvalidInput(
        "identity.vehicle_not_matched",
        "号牌号码、号牌种类与车辆识别代号后四位不匹配，请对照行驶证核对",
        "The plate, plate type and last four characters of the VIN do not match a vehicle; check them against "
        "the vehicle licence",
        fields={"plate": ("请核对号牌号码和号牌种类", "Check the plate and plate type"),
                "vin_last4": ("请核对车辆识别代号后四位", "Check the last four characters of the VIN")},
    )


def _expire_stale_pending(*, user: User) -> None:
    """Pending requests whose owner code is no longer usable (expired, used up) end as expired, so they stop
    counting against the user's limit."""
    now = clock.now()
    pending = list(VehicleBinding.objects.filter(user=user, status=VehicleBinding.Status.PENDING))
    actor = Actor.system("identity.binding_expiry")
    for binding in pending:
        live_code = SmsCode.objects.filter(
            purpose=SmsCode.Purpose.BIND, context=str(binding.pk), used_at__isnull=True, expires_at__gt=now,
            attempts__lt=settings.JIAOGUAN_OTP_MAX_ATTEMPTS,
        ).exists()
        if live_code:
            continue
        with transaction.atomic():
            row = (VehicleBinding.objects.select_for_update()
                   .filter(pk=binding.pk, status=VehicleBinding.Status.PENDING).first())
            if row is not None:
                _binding_expire(row, actor=actor)


def _owner_phone(vehicle) -> tuple[object, str]:
    owner = _maybe(_registry().person_get, person_id=vehicle.owner_id) if vehicle.owner_id else None
    if owner is None or not owner.phone:
        raise InvalidInput("identity.owner_no_phone", "车主未在车管所预留手机号码，无法短信确认，请到车管所窗口办理",
                           "The owner has no phone number on file, so the binding cannot be confirmed by SMS; "
                           "please go to a vehicle administration office window", field="plate")
    return owner, owner.phone


def _records_withheld() -> Forbidden:
    from jiaoguan.identity.selectors import PHONE_MISMATCH_EN, PHONE_MISMATCH_ZH

    return Forbidden("identity.phone_mismatch", PHONE_MISMATCH_ZH, PHONE_MISMATCH_EN, field="plate")


def binding_request(*, user: User, plate: str, plate_type: str, vin_last4: str) -> VehicleBinding:
    """Ask to bind someone else's vehicle (DOMAIN §1): proof by plate + plate type + last 4 of the VIN;
    non-commercial small cars only; at most JIAOGUAN_MAX_OTHER_VEHICLES of others per user and
    JIAOGUAN_MAX_USERS_PER_VEHICLE users per vehicle (owner included). The owner gets a code (otp.bind) on the
    phone on file and tells it to the requester if they agree. Asking again while pending sends a new code."""
    from jiaoguan.registry.models import Vehicle

    _require_citizen(user)

    def check_type():
        value = str(plate_type or "").strip()
        if value not in Vehicle.PlateType.values:
            raise InvalidInput("identity.plate_type", "号牌种类不正确", "Unknown plate type", field="plate_type")
        return value

    def check_tail():
        value = re.sub(r"\s", "", str(vin_last4 or "")).upper()
        if not _VIN_TAIL.match(value):
            raise InvalidInput("identity.vin_last4", "请填写车辆识别代号（VIN）的后四位（数字或字母，不含I、O、Q）",
                               "Enter the last four characters of the VIN (digits or letters, no I, O, Q)",
                               field="vin_last4")
        return value

    (plate, plate_type, vin_last4), errors = _collect([lambda: validate_plate(plate), check_type, check_tail])
    if errors:
        raise _merge(errors)
    refusal = ratelimit.take([ratelimit.Limit("bind.user", str(user.pk),
                                              _setting("JIAOGUAN_BIND_RATE_PER_USER", "10/h"))])
    if refusal is not None:
        raise _rate_limited(refusal, field=None)

    vehicle = _maybe(_registry().vehicle_by_plate, plate=plate, plate_type=plate_type)
    if vehicle is None or not hmac.compare_digest(vehicle.vin[-4:].upper(), vin_last4):
        raise _vehicle_mismatch()
    if vehicle.owner_id is not None and vehicle.owner_id == user.person_id:
        if not _records_visible(user):
            raise _records_withheld()
        bindings_sync_own(user=user)
        raise Conflict("identity.own_vehicle", "该车辆登记在您本人名下，已自动绑定，无需申请",
                       "This vehicle is registered in your name and is bound automatically", field="plate")
    if not rules.other_vehicle_bindable(kind=vehicle.kind, use=vehicle.use, plate_type=vehicle.plate_type,
                                        status=vehicle.status, owned_by_person=vehicle.owner_id is not None):
        raise InvalidInput("identity.vehicle_not_bindable",
                           "只能绑定他人名下的非营运小型汽车；营运、单位、货运等车辆请到车管所窗口办理",
                           "Only privately used small cars of other persons can be bound; commercial, company "
                           "and other vehicles are handled at a window", field="plate")
    _owner, owner_phone = _owner_phone(vehicle)
    _expire_stale_pending(user=user)

    actor = Actor.of(user)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        binding = (VehicleBinding.objects.select_for_update(of=("self",)).select_related("vehicle", "user")
                   .filter(user=user, vehicle_id=vehicle.pk, status__in=LIVE).first())
        if binding is not None and binding.owner_person_id != vehicle.owner_id:
            # agreed to (or asked of) a previous owner: that request is over, a new one goes to the new owner
            _binding_end(binding, actor=Actor.system("identity.vehicle_changed"), action="binding.vehicle_changed",
                         reason="owner changed", new={"plate": vehicle.plate})
            binding = None
        if binding is not None and binding.status == VehicleBinding.Status.ACTIVE:
            raise Conflict("identity.already_bound", "您已绑定该车辆", "You have already bound this vehicle", field="plate")
        if binding is None:
            mine = VehicleBinding.objects.filter(user=user, kind=VehicleBinding.Kind.OTHER, status__in=LIVE).count()
            if mine >= settings.JIAOGUAN_MAX_OTHER_VEHICLES:
                raise _too_many_vehicles()
            taken = VehicleBinding.objects.filter(vehicle_id=vehicle.pk, kind=VehicleBinding.Kind.OTHER,
                                                  status=VehicleBinding.Status.ACTIVE).count()
            if rules.seats_left(max_users=settings.JIAOGUAN_MAX_USERS_PER_VEHICLE, other_users_bound=taken) <= 0:
                raise _vehicle_full()
            binding = _binding_open(user=user, vehicle=vehicle, kind=VehicleBinding.Kind.OTHER, actor=actor,
                                    action="binding.request", new={"requester_person_id": user.person_id})
        owner_digest = phone_hash(owner_phone)
        refusal = ratelimit.take([
            ratelimit.Limit("bind.owner.min", owner_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE_MIN),
            ratelimit.Limit("bind.owner.hour", owner_digest, settings.JIAOGUAN_SMS_RATE_PER_PHONE),
        ])
        if refusal is not None:
            raise _rate_limited(refusal, field=None)
        code = _otp_issue(phone_digest=owner_digest, purpose=SmsCode.Purpose.BIND, context=str(binding.pk))
        requester = f"{mask_name(user.person.name)}（{mask_phone(user.phone)}）"
        _send(template="otp.bind", phone=owner_phone, channels=("sms",),
              params={"code": code, "minutes": _otp_minutes(), "plate": format_plate(vehicle.plate),
                      "requester": requester})
    return binding


def _too_many_vehicles() -> Conflict:
    n = settings.JIAOGUAN_MAX_OTHER_VEHICLES
    return Conflict("identity.too_many_vehicles", f"每个账户最多绑定{n}辆他人名下的车辆",
                    f"An account can bind at most {n} vehicles of other persons")


def _vehicle_full() -> Conflict:
    n = settings.JIAOGUAN_MAX_USERS_PER_VEHICLE
    return Conflict("identity.vehicle_full", f"该车辆已有{n}人绑定（含车主），不能再绑定",
                    f"This vehicle is already bound by {n} users (owner included)", field="plate")


def _own_binding(user: User, binding_id: int, *, lock: bool = False) -> VehicleBinding:
    qs = VehicleBinding.objects.select_related("vehicle", "user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        pk = int(binding_id)
    except (TypeError, ValueError):
        pk = 0
    binding = qs.filter(pk=pk, user_id=getattr(user, "pk", None)).first() if 0 < pk < 2**63 else None
    if binding is None:
        # the same answer for "not yours" and "does not exist"
        raise not_found("绑定记录", "binding")
    return binding


def _binding_code_check(*, user: User, binding_id: int, code: str) -> int:
    binding = _own_binding(user, binding_id)
    if binding.status == VehicleBinding.Status.ACTIVE:
        raise Conflict("identity.already_bound", "您已绑定该车辆", "You have already bound this vehicle")
    if binding.status != VehicleBinding.Status.PENDING:
        raise Conflict("identity.binding_not_pending", "该绑定申请已失效，请重新申请",
                       "This binding request is no longer open; please request again")
    _owner, owner_phone = _owner_phone(binding.vehicle)
    return _otp_check(phone_digest=phone_hash(owner_phone), purpose=SmsCode.Purpose.BIND, code=code,
                      context=str(binding.pk))


def _binding_confirm_locked(*, user: User, binding_id: int, sms_id: int) -> VehicleBinding:
    from jiaoguan.registry.models import Vehicle

    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        binding = _own_binding(user, binding_id, lock=True)
        if binding.status != VehicleBinding.Status.PENDING:
            raise Conflict("identity.binding_not_pending", "该绑定申请已失效，请重新申请",
                           "This binding request is no longer open; please request again")
        # Lock the vehicle row, then count: two confirmations for the last seat are serialised here and the
        # second sees the first one's binding (ARCHITECTURE §4: lock, then check, then write). This only locks
        # the registry row; nothing of the registry is written.
        vehicle = Vehicle.objects.select_for_update().get(pk=binding.vehicle_id)
        if vehicle.owner_id != binding.owner_person_id:
            raise Conflict("identity.binding_not_pending", "车辆所有人已变更，该绑定申请已失效，请重新申请",
                           "The vehicle has a new owner since the request; please request again")
        if vehicle.owner_id == user.person_id or not rules.other_vehicle_bindable(
                kind=vehicle.kind, use=vehicle.use, plate_type=vehicle.plate_type, status=vehicle.status,
                owned_by_person=vehicle.owner_id is not None):
            raise InvalidInput("identity.vehicle_not_bindable", "该车辆当前不能绑定，请到车管所窗口咨询",
                               "This vehicle cannot be bound now; ask at a window", field="plate")
        mine = (VehicleBinding.objects.filter(user=user, kind=VehicleBinding.Kind.OTHER,
                                              status=VehicleBinding.Status.ACTIVE).exclude(pk=binding.pk).count())
        if mine >= settings.JIAOGUAN_MAX_OTHER_VEHICLES:
            raise _too_many_vehicles()
        taken = (VehicleBinding.objects.filter(vehicle_id=vehicle.pk, kind=VehicleBinding.Kind.OTHER,
                                               status=VehicleBinding.Status.ACTIVE).exclude(pk=binding.pk).count())
        if rules.seats_left(max_users=settings.JIAOGUAN_MAX_USERS_PER_VEHICLE, other_users_bound=taken) <= 0:
            raise _vehicle_full()
        _otp_consume(sms_id)
        _binding_activate(binding, actor=Actor.of(user), action="binding.confirm", new={"plate": vehicle.plate})
        plate = format_plate(vehicle.plate)
        # The owner agreed by handing over the code sent to them; the requester is told in the inbox.
        _send(template="binding.confirmed", params={"plate": plate}, user=user, channels=("inbox",),
              language=user.preferred_language)
        _notify_owner(vehicle=vehicle, template="binding.owner_confirmed", plate=plate)
    return binding


def _notify_owner(*, vehicle, template: str, plate: str) -> None:
    """Tell the owner, by SMS to the phone on file, that someone else's binding of their vehicle changed."""
    owner = vehicle.owner
    if owner is not None and owner.phone:
        _send(template=template, params={"plate": plate}, phone=owner.phone, channels=("sms",))


def binding_confirm(*, user: User, binding_id: int, code: str, idempotency_key: str | None = None) -> VehicleBinding:
    """Confirm a pending request with the code the owner received. The limits are checked again under a lock
    of the vehicle row, so concurrent confirmations cannot exceed them. With ``idempotency_key`` a repeated
    request returns the first result (core.idempotency) instead of "already bound"."""
    if not idempotency_key:
        sms_id = _binding_code_check(user=user, binding_id=binding_id, code=code)
        return _binding_confirm_locked(user=user, binding_id=binding_id, sms_id=sms_id)

    from jiaoguan.core.idempotency import idempotent, validate_key
    from jiaoguan.core.models import IdempotencyKey

    key = validate_key(idempotency_key)
    scope = f"identity.binding_confirm:{user.pk}"
    fingerprint = f"{binding_id}:{code}"
    if not IdempotencyKey.objects.filter(scope=scope, key=key).exists():
        # Check the code before entering ``idempotent``: its transaction would roll back a counted attempt.
        _binding_code_check(user=user, binding_id=binding_id, code=code)

    def run():
        sms_id = _binding_code_check(user=user, binding_id=binding_id, code=code)
        binding = _binding_confirm_locked(user=user, binding_id=binding_id, sms_id=sms_id)
        return 200, {"binding_id": binding.pk}

    _status, body = idempotent(scope=scope, key=key, fingerprint=fingerprint, run=run)
    return _own_binding(user, body["binding_id"])


def binding_end(*, user: User, binding_id: int) -> VehicleBinding:
    """End (or withdraw) a binding of one's own. A vehicle still owned cannot be unbound. Ending an already
    ended binding changes nothing and returns it."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=getattr(user, "pk", None)).first()
        binding = _own_binding(user, binding_id, lock=True)
        if binding.status not in LIVE:
            return binding
        if binding.kind == VehicleBinding.Kind.OWN and binding.vehicle_id in _owned_ids(user.person):
            raise Conflict("identity.own_vehicle_unbind", "登记在您本人名下的车辆不能解除绑定",
                           "A vehicle registered in your name cannot be unbound")
        vehicle = binding.vehicle
        old = _binding_end(binding, actor=Actor.of(user), action="binding.end", new={"plate": vehicle.plate})
        if old == VehicleBinding.Status.ACTIVE and binding.kind == VehicleBinding.Kind.OTHER:
            _notify_owner(vehicle=vehicle, template="binding.owner_ended", plate=format_plate(vehicle.plate))
    return binding


__all__ = [
    "account_phone_change",
    "binding_confirm",
    "binding_end",
    "binding_request",
    "bindings_reconcile_vehicle",
    "bindings_sync_own",
    "citizen_register",
    "login_with_password",
    "login_with_sms",
    "password_reset",
    "phone_hash",
    "sms_code_request",
    "staff_bootstrap",
    "staff_create",
    "staff_set_active",
    "token_issue",
    "token_revoke",
    "user_for_token",
]
