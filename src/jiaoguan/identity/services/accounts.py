"""Real-name registration of a citizen account (DOMAIN §1)."""
from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput
from jiaoguan.core.i18n import is_english
from jiaoguan.core.identifiers import validate_id_number, validate_phone
from jiaoguan.core.masking import mask_phone
from jiaoguan.identity import rules
from jiaoguan.identity.hashes import phone_hash
from jiaoguan.identity.models import SmsCode, User
from jiaoguan.identity.roles import Role
from jiaoguan.identity.services._common import (
    _collect,
    _maybe,
    _merge,
    _name_checked,
    _password_checked,
    _same_name,
    _send,
)
from jiaoguan.identity.services.bindings import _bindings_sync
from jiaoguan.identity.services.otp import _otp_burn_attempt, _otp_check, _otp_consume
from jiaoguan.registry import selectors as registry

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
    now = clock.now()
    with transaction.atomic():
        # First: use the code up. Two registrations racing with the same phone queue here.
        _otp_consume(sms_id)
        person = _maybe(registry.person_by_id_number, id_number=id_number)
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
        holds_licence = _maybe(registry.licence_for_person, person=person) is not None
        owns_vehicle = bool(list(registry.vehicles_owned_by(person=person) or []))
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
            preferred_language="en" if is_english() else "zh-hans",
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
