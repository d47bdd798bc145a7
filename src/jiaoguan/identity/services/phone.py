"""Changing the phone number of a citizen's account."""
from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.masking import mask_phone
from jiaoguan.core.outbox import records_changed
from jiaoguan.identity import rules
from jiaoguan.identity.hashes import phone_hash, token_digest
from jiaoguan.identity.models import ApiToken, SmsCode, User
from jiaoguan.identity.services._common import (
    _code_given,
    _collect,
    _merge,
    _password_given,
    _phone_change_account,
    _same_phone_error,
    _send,
)
from jiaoguan.identity.services.bindings import _bindings_sync, _records_visible
from jiaoguan.identity.services.login import _login_limits, _password_reconfirm
from jiaoguan.identity.services.otp import _otp_check, _otp_consume

# --- changing the account's phone -------------------------------------------------------------------------------
#
# The way out of a phone mismatch (selectors.account_standing): the person updates the phone on file at a window
# (registry.services.person_update_phone), then moves the account to that phone here. Proof of the new phone: a
# code sent to it (otp.phone), tied to this account. Proof that the account holder is asking (not someone at an
# unlocked phone or with a stolen session): the current password as well as the session or token. Wrong passwords
# count towards the login lockout. The new phone may be any number no other account uses; the records come back
# only when it is the phone on file (the usual rule), so changing to another number withholds them again.


def _phone_taken_error(field: str) -> Conflict:
    return Conflict("identity.phone_registered", "该手机号码已被其他账户使用，不能更换为该号码",
                    "This phone number is used by another account and cannot be yours as well", field=field)


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

    (new_phone, _pw, _code), errors = _collect([lambda: validate_phone(new_phone, field="new_phone"),
                                                lambda: _password_given(password), lambda: _code_given(code)])
    if errors:
        raise _merge(errors)
    if user.phone and rules.phone_on_file_matches(on_file=user.phone, account=new_phone):
        raise _same_phone_error("new_phone")
    now = clock.now()
    _password_reconfirm(User.objects.get(pk=user.pk), password, ip=ip)
    digest = phone_hash(new_phone)
    sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.PHONE, code=code, context=str(user.pk))
    actor = Actor.of(user, ip)
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        _otp_consume(sms_id)
        _account_phone_move(row, new_phone=new_phone, actor=actor, keep_token=keep_token, now=now)
    user.phone, user.phone_hash = row.phone, row.phone_hash
    return row


def _account_phone_move(row: User, *, new_phone: str, actor: Actor, keep_token: str | None,
                        now: dt.datetime, notify: bool = True) -> None:
    """Move the locked account ``row`` to ``new_phone``, inside the caller's transaction: refused with 409 when
    another account uses the number; every API token but ``keep_token`` revoked; own vehicles synced; audited;
    the inbox and (SMS) the old number told unless ``notify`` is off (the caller tells them itself)."""
    if User.objects.filter(phone_hash=phone_hash(new_phone)).exclude(pk=row.pk).exists():
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
        tokens = tokens.exclude(token_hash=token_digest(str(keep_token)))
    revoked = tokens.update(revoked_at=now)
    _bindings_sync(user=row, actor=actor)
    records_changed(user_ids=[row.pk])
    audit_record(actor=actor, action="account.phone_change", obj=row, subject_person_id=row.person_id,
                 old={"phone": mask_phone(old_phone) if old_phone else ""},
                 new={"phone": mask_phone(new_phone), "tokens_revoked": revoked,
                      "records_visible": _records_visible(row)})
    if not notify:
        return
    params = {"phone": mask_phone(new_phone)}
    _send(template="account.phone_changed", params=params, user=row, channels=("inbox",),
          language=row.preferred_language)
    if old_phone:
        # Not held to the old number's SMS limits: one notice per change, and changes are bounded by the
        # account's code limit (sms.account); a notice that the account moved away must not be dropped.
        _send(template="account.phone_changed", params=params, phone=old_phone, channels=("sms",),
              language=row.preferred_language)
