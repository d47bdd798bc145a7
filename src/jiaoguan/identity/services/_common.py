"""Helpers shared by the identity services: free text, field errors gathered into one answer, password
and name checks, sending a message, rate-limit answers, and the refusals more than one section gives."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils import timezone, translation

from jiaoguan.core import clock
from jiaoguan.core.audit import audit_last_at
from jiaoguan.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from jiaoguan.identity import ratelimit, selectors
from jiaoguan.identity.models import User
from jiaoguan.identity.roles import Role
from jiaoguan.notifications.services import message_send

# --- small helpers ----------------------------------------------------------------------------------------------

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
    message_send(**kwargs)


def _maybe(fn, **kwargs):
    """Call a registry selector that may answer "nothing" with None or with DoesNotExist/NotFound."""
    try:
        return fn(**kwargs)
    except (ObjectDoesNotExist, NotFound):
        return None


def _code_given(code: object) -> str:
    """An SMS code typed into a change form (its checking is otp's): 422 on ``code`` when empty."""
    value = str(code or "").strip()
    if not value:
        raise InvalidInput("identity.code_required", "请输入短信验证码", "Enter the SMS code", field="code")
    return value


def _password_given(password: object) -> str:
    """The current password asked again on a change form (its checking is login._password_reconfirm)."""
    if not isinstance(password, str) or not password:
        raise InvalidInput("identity.password_required", "请输入当前登录密码", "Enter your current password",
                           field="password")
    return password


# --- rate limits ------------------------------------------------------------------------------------------------

def _rate_limited(refusal: ratelimit.Throttle, *, field: str | None) -> RateLimited:
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


# --- refusals and checks used by more than one part -------------------------------------------------------------

def _disabled() -> Forbidden:
    return Forbidden("identity.account_disabled", "该账户已停用，请联系管理员", "This account is disabled; contact an administrator")


# the account asking to change its phone: checked by the code request (otp) and by the change itself (phone)
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


# the holder asking to change the phone on file online: checked by the code request (otp) and the request itself
def _phone_file_holder(user: User | None) -> User:
    """The account, fresh from the database with its person, if it may ask for a change of the phone on file:
    a citizen's own active account (401/403 as for the account's phone) whose phone is the phone on file (403
    ``identity.records_withheld``: there must be an old number on file to tell and to object), no change already
    cooling off (409 ``identity.phone_file_pending``), and no objection from the old number in the last
    JIAOGUAN_PHONE_FILE_BLOCK_DAYS days (403 ``identity.phone_file_blocked``: a window only)."""
    try:
        user = _phone_change_account(user)
    except Forbidden as exc:
        if exc.code != "identity.citizen_only":
            raise
        raise Forbidden("identity.citizen_only", "只有市民账户可以在网上变更预留手机号",
                        "Only citizen accounts can change the phone on file online") from None
    row = User.objects.select_related("person").get(pk=user.pk)
    if not row.person_id or not selectors.records_visible(user=row):
        raise Forbidden("identity.records_withheld",
                        "账户手机号与档案预留手机号一致后，方可在网上变更预留手机号；原号码已停用的，请携身份证到车管所窗口办理",
                        "The account's phone must be the phone on file to change it online; if the old number is "
                        "no longer yours, bring your ID card to a vehicle office window")
    assert row.person_id is not None
    until = selectors.phone_file_blocked_until(person_id=row.person_id, now=clock.now())
    if until is not None:
        raise Forbidden("identity.phone_file_blocked",
                        f"原预留手机号已撤销上一次变更，{_local(until)}前请携身份证到车管所窗口办理",
                        f"The old phone on file stopped the last change; until {_local(until)} bring your ID "
                        "card to a vehicle office window")
    recovered = audit_last_at(actions=("account.password_reset", "account.phone_change"), object_type="identity.user",
                              object_id=row.pk, since=clock.now() - dt.timedelta(
                                  hours=settings.JIAOGUAN_PHONE_FILE_COOLING_HOURS))
    if recovered is not None:
        # whoever holds only the old SIM can reset the password with it: the password is then no second factor, so
        # a fresh reset (or a fresh account phone) waits out a cooling-off period before this change is offered
        until = recovered + dt.timedelta(hours=settings.JIAOGUAN_PHONE_FILE_COOLING_HOURS)
        raise Forbidden("identity.phone_file_recent_recovery",
                        f"近期重置过登录密码或更换过账户手机号，{_local(until)}后方可在网上变更预留手机号，或携身份证到车管所窗口办理",
                        f"The password was reset or the account's phone changed recently: the phone on file can be "
                        f"changed online from {_local(until)}, or at a vehicle office window with your ID card")
    if selectors.phone_file_change_pending(person_id=row.person_id) is not None:
        raise _phone_file_pending_error()
    return row


def _phone_file_pending_error() -> Conflict:
    return Conflict("identity.phone_file_pending", "已有一项预留手机号变更正在冷静期中，生效或撤销后方可再次申请",
                    "A change of the phone on file is already cooling off; apply again once it takes effect or is "
                    "withdrawn")
