"""联系方式变更 of the phone on file (预留手机号), online, with a cooling-off period.

The phone on file decides who may register and who sees the licence and vehicles (DOMAIN §1): whoever can change
it online can take over a person's records. So the change is guarded four ways:

* **who asks** — the holder's own real-name account, whose phone *is* the phone on file (the same proof that shows
  the records), with the current password on top of the session (counted towards the login lockout);
* **the new number** — a code sent to it (``sms_code_request(purpose="phone_file")``, tied to the account);
* **the old number** — told at once by SMS, with an objection code that stops the change (``phone_on_file_
  change_object``: no login needed, the old phone may be all its owner still has); after an objection, online
  changes are refused for JIAOGUAN_PHONE_FILE_BLOCK_DAYS days and the person goes to a window;
* **time** — the change takes effect only after JIAOGUAN_PHONE_FILE_COOLING_HOURS (``phone_on_file_changes_apply``,
  a periodic job): until then the old number stays on file, so it keeps deciding who may register.

When it takes effect, the phone on file and the holder's account move to the new number together (the account's
other sessions and tokens end), in one transaction, audited. It lapses instead when the circumstances changed
meanwhile: the phone on file was changed at a window, the account was closed or moved away from the person, or
another account took the new number.

Lock order, everywhere here: the person (registry), then the change row, then the account. The objection and the
withdrawal lock only the change row.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from jiaoguan.core import clock, crypto
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, InvalidInput, NotFound
from jiaoguan.core.identifiers import validate_phone
from jiaoguan.core.locks import lock_row
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity import ratelimit, rules, selectors
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import PhoneOnFileChange, SmsCode, User
from jiaoguan.identity.services._common import (
    _code_given,
    _collect,
    _local,
    _merge,
    _password_given,
    _phone_file_holder,
    _phone_file_pending_error,
    _rate_limited,
    _same_phone_error,
    _send,
)
from jiaoguan.identity.services.login import _login_limits, _password_reconfirm
from jiaoguan.identity.services.otp import _otp_check, _otp_consume
from jiaoguan.identity.services.phone import _account_phone_move, _phone_taken_error
from jiaoguan.registry import selectors as registry
from jiaoguan.registry.services import person_update_phone

Status = PhoneOnFileChange.Status
log = logging.getLogger(__name__)


def _objection_digest(code: str) -> str:
    return crypto.lookup_hash(code, purpose="identity.phone_file_objection")


def _new_objection_code() -> tuple[str, str]:
    """A fresh objection code and its digest (unique: a collision, at 50 bits, is simply drawn again)."""
    while True:
        code = "".join(secrets.choice(rules.OBJECTION_ALPHABET) for _ in range(rules.OBJECTION_LENGTH))
        digest = _objection_digest(code)
        if not PhoneOnFileChange.objects.filter(objection_hash=digest).exists():
            return code, digest


def phone_on_file_change_request(*, user: User, new_phone: str, code: str, password: str,
                                 ip: str) -> PhoneOnFileChange:
    """Ask for the phone on file to become ``new_phone``. ``code`` is the one ``sms_code_request(purpose=
    "phone_file", user=user)`` sent to it; ``password`` the account's current password.

    Refusals: the holder checks of ``_phone_file_holder`` (401/403/409); bad formats (422 per field: new_phone,
    code, password); the phone on file again (422); a wrong password (422, counted; 423 when locked); a wrong or
    dead code (422 on ``code``, counted against it); a number another account uses (409 on ``new_phone``, told only
    after the code proved it is the requester's). On success, in one transaction: the code used up, the change
    recorded as cooling off until ``effective_at``, audited, the inbox told, and the old number sent the
    objection code by SMS."""
    row = _phone_file_holder(user)
    _login_limits(ip)

    (new_phone, _code, _pw), errors = _collect([lambda: validate_phone(new_phone, field="new_phone"),
                                                lambda: _code_given(code), lambda: _password_given(password)])
    if errors:
        raise _merge(errors)
    person = row.person
    assert person is not None and person.phone  # _phone_file_holder: the account's phone is the phone on file
    if rules.phone_on_file_matches(on_file=person.phone, account=new_phone):
        raise _same_phone_error("new_phone")
    _password_reconfirm(row, password, ip=ip)
    digest = phone_hash(new_phone)
    sms_id = _otp_check(phone_digest=digest, purpose=SmsCode.Purpose.PHONE_FILE, code=code, context=str(row.pk))
    now = clock.now()
    actor = Actor.of(row, ip)
    objection, objection_digest = _new_objection_code()
    with transaction.atomic():
        locked = registry.person_locked(person_id=person.pk)
        assert locked is not None  # a PROTECT foreign key of the account
        _otp_consume(sms_id)
        if User.objects.filter(phone_hash=digest).exclude(pk=row.pk).exists():
            raise _phone_taken_error("new_phone")
        if locked.phone_hash != person.phone_hash:  # changed at a window since the page was read: ask again
            raise Conflict("identity.phone_file_changed", "预留手机号刚刚发生变化，请刷新页面后重新申请",
                           "The phone on file has just changed; reload the page and apply again")
        change = PhoneOnFileChange(
            person=locked, user=row, old_phone_hash=locked.phone_hash or "", new_phone=new_phone,
            status=Status.COOLING, objection_hash=objection_digest, requested_at=now,
            effective_at=rules.phone_file_effective_at(requested_at=now,
                                                       cooling_hours=settings.JIAOGUAN_PHONE_FILE_COOLING_HOURS))
        try:
            with transaction.atomic():
                change.save()
        except IntegrityError:  # another request for this person won the race (one cooling change per person)
            raise _phone_file_pending_error() from None
        audit_record(actor=actor, action="person.phone_file_request", obj=change, subject_person_id=locked.pk,
                     old={"phone": mask_phone(locked.phone)},
                     new={"phone": mask_phone(new_phone), "effective_at": change.effective_at})
        when = _local(change.effective_at)
        _send(template="account.phone_file_requested", params={"phone": mask_phone(new_phone), "effective": when},
              user=row, channels=("inbox",), language=row.preferred_language)
        # Not held to the old number's SMS limits: one notice per request, and requests are bounded by the
        # account's code limit (sms.account); this is the message that lets the old number stop a takeover.
        _send(template="account.phone_file_objection",
              params={"phone": mask_phone(new_phone), "effective": when,
                      "code": rules.objection_code_display(objection)},
              phone=locked.phone, channels=("sms",), language=row.preferred_language)
    return change


def _end(change: PhoneOnFileChange, *, status: str, reason: str, now: dt.datetime) -> None:
    """The one transition of a change (row locked by the caller, inside its transaction): from cooling to where
    rules.PHONE_FILE_CHANGES allows."""
    rules.PHONE_FILE_CHANGES.check(change.status, status)
    change.status, change.ended_at, change.end_reason = status, now, reason[:200]
    change.save(update_fields=["status", "ended_at", "end_reason"])


def _tell_ended(change: PhoneOnFileChange, *, template: str, old_phone: str | None) -> None:
    """The holder's inbox and the old number (SMS) told that a cooling change ended without taking effect."""
    user = change.user
    params = {"phone": mask_phone(change.new_phone or "")}
    _send(template=template, params=params, user=user, channels=("inbox",), language=user.preferred_language)
    if old_phone:
        _send(template=template, params=params, phone=old_phone, channels=("sms",), language=user.preferred_language)


def phone_on_file_change_cancel(*, user: User, ip: str) -> PhoneOnFileChange:
    """The holder withdraws their change that is still cooling off (404 ``identity.phone_file_none`` if there
    is none, e.g. it has just taken effect). Audited; the inbox and the old number are told."""
    person_id = getattr(user, "person_id", None)
    if person_id is None:
        raise NotFound("identity.phone_file_none", "没有正在冷静期中的预留手机号变更",
                       "There is no change of the phone on file cooling off")
    now = clock.now()
    change_id = (PhoneOnFileChange.objects.filter(person_id=person_id, user_id=user.pk, status=Status.COOLING)
                 .values_list("id", flat=True).first())
    with transaction.atomic():
        change = None if change_id is None else lock_row(
            PhoneOnFileChange.objects.filter(status=Status.COOLING), change_id, related=("user", "person"))
        if change is None:
            raise NotFound("identity.phone_file_none", "没有正在冷静期中的预留手机号变更",
                           "There is no change of the phone on file cooling off")
        _end(change, status=Status.CANCELLED, reason="本人撤销 withdrawn by the holder", now=now)
        audit_record(actor=Actor.of(user, ip), action="person.phone_file_cancel", obj=change,
                     subject_person_id=change.person_id, new={"status": change.status})
        _tell_ended(change, template="account.phone_file_cancelled", old_phone=change.person.phone)
    return change


def _objection_error() -> InvalidInput:
    # one answer for wrong, used, expired and never issued: the form says nothing about anyone's change
    return InvalidInput("identity.objection_code_invalid", "撤销码不正确，或该变更已生效、已撤销",
                        "The objection code is wrong, or that change has already taken effect or been stopped",
                        field="code")


def phone_on_file_change_object(*, code: str, ip: str) -> PhoneOnFileChange:
    """Whoever holds the old number stops a change still cooling off with the objection code it was sent. No
    login: the old phone may be all its owner has left. Limited per client IP
    (JIAOGUAN_PHONE_FILE_OBJECT_RATE_PER_IP); every refusal gives the same answer (422 on ``code``). On success
    the change ends as objected, online changes of this person's phone on file are refused for
    JIAOGUAN_PHONE_FILE_BLOCK_DAYS days, and the holder's inbox and the old number are told."""
    refusal = ratelimit.take([ratelimit.Limit("phone_file.object.ip", ip or "unknown",
                                              settings.JIAOGUAN_PHONE_FILE_OBJECT_RATE_PER_IP)])
    if refusal is not None:
        raise _rate_limited(refusal, field="code")
    normal = rules.objection_code_normal(code)
    if normal is None:
        raise _objection_error()
    now = clock.now()
    change_id = (PhoneOnFileChange.objects.filter(objection_hash=_objection_digest(normal))
                 .values_list("id", flat=True).first())
    with transaction.atomic():
        change = None if change_id is None else lock_row(
            PhoneOnFileChange.objects.filter(status=Status.COOLING), change_id, related=("user", "person"))
        if change is None:
            raise _objection_error()
        _end(change, status=Status.OBJECTED, reason="原预留手机号撤销 stopped from the old phone on file", now=now)
        audit_record(actor=Actor.of(None, ip), action="person.phone_file_object", obj=change,
                     subject_person_id=change.person_id, new={"status": change.status})
        _tell_ended(change, template="account.phone_file_objected", old_phone=change.person.phone)
    return change


def _lapse_reason(change: PhoneOnFileChange, person: Any, account: User) -> str | None:
    if person.phone_hash != change.old_phone_hash:
        return "预留手机号已在窗口变更 the phone on file was changed at a window"
    if not account.is_active or account.person_id != person.pk:
        return "申请账户已停用或已不属于本人 the account is closed or no longer the person's"
    if User.objects.filter(phone_hash=change.new_phone_hash).exclude(pk=account.pk).exists():
        return "新号码已被其他账户使用 another account uses the new number"
    return None


def _apply_one(change_id: int, *, now: dt.datetime) -> str | None:
    """Apply (or lapse) one change whose cooling-off period is over; returns its new status, or None when it
    was no longer due (withdrawn or stopped meanwhile)."""
    person_id = PhoneOnFileChange.objects.filter(pk=change_id).values_list("person_id", flat=True).first()
    if person_id is None:
        return None
    with transaction.atomic():
        person = registry.person_locked(person_id=person_id)
        assert person is not None
        change = lock_row(PhoneOnFileChange.objects.filter(status=Status.COOLING, effective_at__lte=now), change_id)
        if change is None:
            return None
        account = lock_row(User, change.user_id)
        assert account is not None  # PROTECT
        change.user = account
        new_phone = change.new_phone or ""
        reason = _lapse_reason(change, person, account)
        if reason is not None:
            _end(change, status=Status.LAPSED, reason=reason, now=now)
            audit_record(actor=Actor.system("identity.phone_file_apply"), action="person.phone_file_lapse",
                         obj=change, subject_person_id=person.pk, reason=reason, new={"status": change.status})
            _tell_ended(change, template="account.phone_file_lapsed", old_phone=None)
            return change.status
        old_phone = person.phone
        actor = Actor.system("identity.phone_file_apply")
        person_update_phone(person=person, phone=new_phone, actor=actor, by_holder=True,
                            reason=f"本人网上申请，冷静期满生效 asked for online on {_local(change.requested_at)}, "
                                   "in effect after the cooling-off period")
        _account_phone_move(account, new_phone=new_phone, actor=actor, keep_token=None, now=now, notify=False)
        _end(change, status=Status.APPLIED, reason="", now=now)
        audit_record(actor=actor, action="person.phone_file_apply", obj=change, subject_person_id=person.pk,
                     new={"status": change.status})
        params = {"phone": mask_phone(new_phone)}
        _send(template="account.phone_file_applied", params=params, user=account, channels=("inbox",),
              language=account.preferred_language)
        _send(template="account.phone_file_applied", params=params, phone=new_phone, channels=("sms",),
              language=account.preferred_language)
        if old_phone:
            _send(template="account.phone_file_applied", params=params, phone=old_phone, channels=("sms",),
                  language=account.preferred_language)
        return change.status


def phone_on_file_changes_apply(*, now: dt.datetime | None = None) -> int:
    """The periodic job (identity.phone_file_apply): every change whose cooling-off period is over takes effect
    or lapses, one transaction each, walked in keyset pages. Returns how many took effect."""
    now = now or clock.now()
    applied, after = 0, 0
    while ids := selectors.phone_file_changes_due(now=now, after_id=after):
        for change_id in ids:
            try:
                if _apply_one(change_id, now=now) == Status.APPLIED:
                    applied += 1
            except DomainError:  # e.g. the row busy past the lock timeout: the next run takes it up again
                log.exception("phone-on-file change %s not applied this run", change_id)
        after = ids[-1]
    return applied
