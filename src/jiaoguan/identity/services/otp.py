"""One-time SMS codes: issue, check (counting wrong attempts), use up; ``sms_code_request`` sends them."""
from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets

from django.conf import settings
from django.db import transaction

from jiaoguan.core import clock, crypto
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.i18n import is_english
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.identity import ratelimit, rules
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import SmsCode, User
from jiaoguan.identity.services._common import (
    _phone_change_account,
    _phone_file_holder,
    _plain,
    _rate_limited,
    _same_phone_error,
    _send,
    _sms_limits,
)

PUBLIC_OTP_PURPOSES = (SmsCode.Purpose.REGISTER, SmsCode.Purpose.LOGIN, SmsCode.Purpose.RESET)
# only for a logged-in account (sms_code_request's ``user``): the account's phone, and the phone on file
ACCOUNT_OTP_PURPOSES = (SmsCode.Purpose.PHONE, SmsCode.Purpose.PHONE_FILE)
CONTEXT_OTP_PURPOSES = (SmsCode.Purpose.BIND, SmsCode.Purpose.PHONE, SmsCode.Purpose.PHONE_FILE)


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
    """Send a one-time code by SMS for registration, login, password reset, or (``purpose="phone"`` or
    ``"phone_file"``, for the logged-in ``user`` only) a change of the account's phone or of the phone on file, in
    which case ``phone`` is the NEW phone and the code is tied to the account (account_phone_change,
    phone_on_file_change_request).

    Rate-limited per phone (JIAOGUAN_SMS_RATE_PER_PHONE_MIN, JIAOGUAN_SMS_RATE_PER_PHONE) and per client IP
    (JIAOGUAN_SMS_RATE_PER_IP); phone-change codes also per account (JIAOGUAN_SMS_RATE_PER_PHONE). For login and
    reset to a number without an (active) account the answer is the same and the limits count the same, but
    nothing is sent. A phone-change code is sent whether or not the new number has an account: only whoever
    holds that number learns it, when the change is refused with the code (409)."""
    if purpose in ACCOUNT_OTP_PURPOSES:
        _phone_change_code_request(user=user, new_phone=phone, ip=ip, purpose=purpose)
        return
    phone = validate_phone(phone)
    if purpose not in PUBLIC_OTP_PURPOSES:
        raise InvalidInput("identity.sms_purpose", "验证码用途不正确（register、login、reset、phone 或 phone_file）",
                           "The purpose must be register, login, reset, phone or phone_file", field="purpose")
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
              user=user, channels=("sms",),
              language=user.preferred_language if user else ("en" if is_english() else "zh-hans"))


# A code to the new phone of an account (account_phone_change): sms_code_request(purpose="phone", user=...).

def _phone_change_code_request(*, user: User | None, new_phone: str, ip: str, purpose: str) -> None:
    # phone_file: the holder may ask (identity.services.phone_on_file), so no code is sent for a change refused
    user = _phone_file_holder(user) if purpose == SmsCode.Purpose.PHONE_FILE else _phone_change_account(user)
    new_phone = validate_phone(new_phone)
    if user.phone and rules.phone_on_file_matches(on_file=user.phone, account=new_phone):
        raise _same_phone_error("phone")
    digest = phone_hash(new_phone)
    refusal = ratelimit.take([ratelimit.Limit("sms.account", str(user.pk), settings.JIAOGUAN_SMS_RATE_PER_PHONE)])
    if refusal is not None:
        raise _rate_limited(refusal, field=None)
    _sms_limits(phone_digest=digest, ip=ip)
    with transaction.atomic():
        code = _otp_issue(phone_digest=digest, purpose=purpose, context=str(user.pk))
        _send(template=f"otp.{purpose}", params={"code": code, "minutes": _otp_minutes()}, phone=new_phone, user=user,
              channels=("sms",), language=user.preferred_language)
