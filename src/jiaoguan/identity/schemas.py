"""Request and response shapes of the identity API. Inputs are short strings with hard length limits; their
meaning (check digits, formats) is checked by the services, whose errors carry Chinese and English field
messages. Outputs never carry a full ID number or phone number: both are masked."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from jiaoguan.core.api_schema import examples


class OkOut(Schema):
    ok: bool = True
    message: str = ""


class CsrfOut(Schema):
    csrf_token: str


class SmsCodeIn(Schema):
    phone: str = Field(..., max_length=20, description="11-digit mainland mobile number")
    purpose: str = Field(..., max_length=10, description="register, login or reset; phone or phone_file (logged in only, by "
                         "session or bearer token): a code to the NEW phone for POST me/phone")

    model_config = examples({"phone": "13800138000", "purpose": "register"})


class RegisterIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., max_length=10, description="the 6-digit code from POST auth/sms-code (purpose register)")
    name: str = Field(..., max_length=50, description="real name as on the ID card")
    id_number: str = Field(..., max_length=24, description="18-character resident ID card number")
    password: str = Field(..., max_length=128)

    model_config = examples(
        {"phone": "13800138000", "code": "123456", "name": "张三", "id_number": "11010519491231002X",
         "password": "Correct-Horse-7"})


class LoginIn(Schema):
    login: str | None = Field(None, max_length=64, description="phone number (citizens) or username (staff)")
    phone: str | None = Field(None, max_length=20, description="alternative to login, for SMS-code login")
    password: str | None = Field(None, max_length=128)
    code: str | None = Field(None, max_length=10, description="6-digit code from auth/sms-code (purpose login)")
    mode: Literal["session", "token"] = Field("session", description="session: log this browser in (CSRF "
                                              "required); token: return a bearer token")
    label: str = Field("", max_length=60, description="token label, e.g. the device name")

    model_config = examples(
        {"login": "13800138000", "password": "Correct-Horse-7", "mode": "token", "label": "my phone"},
        {"phone": "13800138000", "code": "123456", "mode": "session"})


class PasswordResetIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., max_length=10)
    new_password: str = Field(..., max_length=128)

    model_config = examples({"phone": "13800138000", "code": "123456", "new_password": "Correct-Horse-8"})


class PhoneChangeIn(Schema):
    new_phone: str = Field(..., max_length=20, description="the new phone (normally the phone on file)")
    code: str = Field(..., max_length=10, description="the code POST auth/sms-code (purpose phone) sent to new_phone")
    password: str = Field(..., max_length=128, description="the account's current password")

    model_config = examples({"new_phone": "13900139000", "code": "123456", "password": "Correct-Horse-7"})


class PhoneFileChangeIn(Schema):
    new_phone: str = Field(..., max_length=20, description="the new phone on file")
    code: str = Field(..., max_length=10,
                      description="the code POST auth/sms-code (purpose phone_file) sent to new_phone")
    password: str = Field(..., max_length=128, description="the account's current password")

    model_config = examples({"new_phone": "13900139000", "code": "123456", "password": "Correct-Horse-7"})


class PhoneFileChangeOut(Schema):
    id: int
    status: str = Field(description="cooling, applied, cancelled, objected or lapsed")
    status_label: str
    new_phone: str = Field(description="masked, e.g. 139****9000")
    requested_at: dt.datetime
    effective_at: dt.datetime = Field(description="when it takes effect, if still cooling")
    ended_at: dt.datetime | None


class ObjectionIn(Schema):
    code: str = Field(..., max_length=20, description="the objection code the old phone on file received by SMS")

    model_config = examples({"code": "ABCDE-FGHJK"})


class MeOut(Schema):
    id: int
    role: str
    role_label: str
    name: str = Field(description="masked real name (citizens) or display name (staff)")
    phone: str = Field(description="masked, e.g. 138****0000")
    id_number: str = Field(description="masked, e.g. 4403**********123X")
    real_name_verified: bool
    language: str
    phone_mismatch: bool = Field(False, description="the registry's phone on file for the person is not this "
                                 "account's phone: licence and own vehicles are withheld until it is updated")
    phone_missing: bool = Field(False, description="the registry has no phone on file for this licence holder or "
                                "owner: licence and own vehicles are withheld")
    notice: str = Field("", description="what to tell the user about the two flags above, in the request's language")


class LoginOut(Schema):
    mode: str
    user: MeOut
    token: str | None = Field(None, description="bearer token (mode token): send as Authorization: Bearer …")
    token_expires_at: dt.datetime | None = None


class LicenceClassOut(Schema):
    code: str
    label: str


class LicenceOut(Schema):
    licence_number: str = Field(description="masked (the licence number is the holder's ID number)")
    file_number: str
    classes: list[LicenceClassOut]
    covered_classes: list[str]
    first_issue_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None = Field(description="null = long-term")
    validity: str
    validity_label: str
    status: str
    status_label: str
    points: int
    points_left: int
    cycle_start: dt.date
    cycle_end: dt.date
    probation_until: dt.date | None
    in_probation: bool
    probation_classes: list[str]  # the classes in probation (a first licence's all, or the class added: 增驾)
    renewal_window_open: bool


class VehicleOut(Schema):
    binding_id: int
    binding_kind: str = Field(description="own: registered in your name; other: bound with the owner's consent")
    bound_at: dt.datetime | None
    plate: str
    plate_display: str
    plate_type: str
    plate_type_label: str
    is_new_energy: bool
    brand: str
    vehicle_kind: str
    vehicle_kind_label: str
    use: str
    use_label: str
    registration_date: dt.date
    inspection_due: dt.date
    inspection_status: str = Field(description="ok, due_soon or overdue")
    inspection_label: str
    inspection_days_left: int
    insurance_status: str = Field(description="valid, expiring, expired or none")
    insurance_label: str
    insurance_until: dt.date | None
    status: str
    status_label: str
    vin_last4: str


class BindingOut(Schema):
    id: int
    kind: str
    status: str = Field(description="pending, active, ended or expired")
    status_label: str
    plate: str
    plate_type: str
    requested_at: dt.datetime
    bound_at: dt.datetime | None
    ended_at: dt.datetime | None


class BindingRequestIn(Schema):
    plate: str = Field(..., max_length=16, description="e.g. 粤B12345")
    plate_type: str = Field("02", max_length=4, description="GA 36 code: 02 small car, 52 small new-energy")
    vin_last4: str = Field(..., max_length=8, description="last four characters of the VIN")

    model_config = examples({"plate": "粤B12345", "plate_type": "02", "vin_last4": "1234"})


class BindingConfirmIn(Schema):
    code: str = Field(..., max_length=10, description="the code the owner received by SMS")

    model_config = examples({"code": "123456"})
