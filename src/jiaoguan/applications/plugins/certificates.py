"""证明与信息单, issued at once (auto-approved) as signed e-certificates through the credentials engine: 驾驶人信息单
(the driver's record), 机动车信息单 (a vehicle's record), 无车证明 (no vehicle registered to the person) and 无违法证明
(no traffic violation in a period). Each is derived from the registry and the violations ledger at the moment of
issue, states the moment, expires (``valid_days``), and can be revoked by staff in the credentials console; anyone
holding its QR code verifies it on the public page, which shows the masked fields.

Eligibility refuses with the reason when the statement would not be true (a vehicle is registered; a violation is
on record in the period), so a certificate is never issued that says something false.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import choice_text, issue_credential, revoke_credential
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.core.masking import mask_id_number, mask_name
from jiaoguan.registry import selectors as registry
from jiaoguan.violations.selectors import violations_of_person_between

KINDS = ("driver_record", "vehicle_record", "no_vehicle", "no_violation")
DEFAULT_VALID_DAYS = 30


def _person(ctx_or_app):
    user = getattr(ctx_or_app, "user", None) or getattr(ctx_or_app, "applicant", None)
    return getattr(user, "person", None) if user is not None and getattr(user, "person_id", None) else None


def _years(data: dict) -> int:
    try:
        return max(1, min(int(str(data.get("years") or 3)), 5))
    except ValueError:
        return 3


def _period(data: dict, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period a 无违法证明 covers: the ``years`` (1–5, default 3) up to today."""
    years = _years(data)
    try:
        start = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - years, day=28)
    return start, today


@eligibility_rule("certificate.has_licence", before_form=True)
def has_licence(ctx: RuleContext) -> list[Refusal]:
    person = _person(ctx)
    if person is None or registry.licence_for_person(person=person) is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证，不能出具驾驶人信息单",
                        "No driving licence of yours is on record, so there is no driver's record to issue")]
    return []


@eligibility_rule("certificate.no_vehicle", before_form=True)
def owns_no_vehicle(ctx: RuleContext) -> list[Refusal]:
    person = _person(ctx)
    if person is None:
        return [Refusal("account.no_person", "账户未关联实名身份", "The account is not linked to a real-name identity")]
    count = registry.vehicles_owned_by(person=person).count()
    if count:
        return [Refusal("certificate.has_vehicles", f"您名下登记有{count}辆机动车，不能出具无车证明",
                        f"{count} vehicle(s) are registered to you, so a no-vehicle certificate cannot be issued")]
    return []


@eligibility_rule("certificate.no_violation")
def no_violation(ctx: RuleContext) -> list[Refusal]:
    person = _person(ctx)
    if person is None:
        return [Refusal("account.no_person", "账户未关联实名身份", "The account is not linked to a real-name identity")]
    start, end = _period(ctx.data, clock.today())
    found = violations_of_person_between(person=person, start=start, end=end)
    if found:
        return [Refusal("certificate.violations_on_record",
                        f"{start:%Y-%m-%d}至{end:%Y-%m-%d}期间有{found}条交通违法记录，不能出具无违法证明",
                        f"{found} traffic violation record(s) from {start:%Y-%m-%d} to {end:%Y-%m-%d}: a "
                        "no-violation certificate cannot be issued")]
    return []


def _driver_fields(person, today: dt.date) -> list[tuple]:
    licence = registry.licence_for_person(person=person)
    if licence is None:
        raise Conflict("licence.none", "未查询到申请人的驾驶证", "The applicant has no driving licence on record")
    s = registry.licence_summary(licence=licence, on=today)
    return [("准驾车型", "Licence classes", s.class_codes),
            ("初次领证日期", "First issued", s.first_issue_date.isoformat()),
            ("有效期", "Valid", f"{s.valid_from:%Y-%m-%d} — {s.valid_until:%Y-%m-%d}" if s.valid_until
             else f"{s.valid_from:%Y-%m-%d} — 长期 long-term"),
            ("驾驶证状态", "Status", f"{s.status_zh} {s.status_en}"),
            ("本记分周期累积记分", "Points in this scoring cycle",
             f"{s.points}（{s.cycle_start:%Y-%m-%d} — {s.cycle_end:%Y-%m-%d}）")]


def _vehicle_fields(person, plate: str, today: dt.date) -> list[tuple]:
    vehicle = registry.vehicle_of_owner(plate=plate, person=person)
    if vehicle is None:
        raise Conflict("vehicle.not_own", "该机动车不是申请人名下的机动车", "The vehicle is not registered to the applicant")
    v = registry.vehicle_summary(vehicle=vehicle, on=today)
    return [("号牌号码", "Plate", v.plate), ("号牌种类", "Plate type", f"{v.plate_type_zh} {v.plate_type_en}"),
            ("车辆类型", "Vehicle kind", f"{v.kind_zh} {v.kind_en}"), ("品牌型号", "Make", v.brand),
            ("使用性质", "Use", f"{v.use_zh} {v.use_en}"), ("初次登记日期", "Registered", v.registration_date.isoformat()),
            ("机动车状态", "Status", f"{v.status_zh} {v.status_en}"),
            ("检验有效期至", "Inspection valid until", v.inspection_due.isoformat()),
            ("交强险", "Compulsory insurance", f"{v.insurance_zh} {v.insurance_en}"
             + (f"（至{v.insurance_until:%Y-%m-%d}）" if v.insurance_until else ""))]


@output("certificate", revoke=revoke_credential)
def issue_certificate(*, application, actor, params: dict) -> dict:
    """params: ``kind`` (driver_record, vehicle_record, no_vehicle, no_violation), ``valid_days`` (default 30).
    The statement is checked again here, inside the approval's transaction: a record that changed between the
    check and the issue stops it (409) rather than producing a false certificate."""
    kind = str(params.get("kind") or "")
    if kind not in KINDS:
        raise Conflict("certificate.kind", "证明种类未配置", "The certificate kind is not configured")
    person = _person(application)
    if person is None:
        raise Conflict("account.no_person", "账户未关联实名身份", "The account is not linked to a real-name identity")
    now = clock.now()
    today = clock.today()
    data = application.form()
    fields: list[tuple] = [("姓名", "Name", mask_name(person.name)),
                           ("身份证明号码", "ID number", mask_id_number(person.id_number or ""))]
    if kind == "driver_record":
        fields += _driver_fields(person, today)
    elif kind == "vehicle_record":
        fields += _vehicle_fields(person, str(data.get("plate") or ""), today)
    elif kind == "no_vehicle":
        if registry.vehicles_owned_by(person=person).exists():
            raise Conflict("certificate.has_vehicles", "申请人名下登记有机动车", "Vehicles are registered to the applicant")
        fields.append(("证明事项", "Statement", f"截至{clock.localtime(now):%Y-%m-%d %H:%M}，本市机动车登记系统中无登记在"
                                                 "其名下的机动车 No vehicle is registered to this person in the city's "
                                                 "vehicle register at the time stated"))
    else:
        start, end = _period(data, today)
        if violations_of_person_between(person=person, start=start, end=end):
            raise Conflict("certificate.violations_on_record", "期间有交通违法记录", "Violations are on record")
        zh, en = choice_text(application.service(), "years", data.get("years"))
        fields.append(("证明事项", "Statement", f"{start:%Y-%m-%d}至{end:%Y-%m-%d}（{zh}）期间，本市无其本人驾驶证或名下"
                                                 f"机动车的交通违法记录 No traffic violation on record for this "
                                                 f"person's licence or vehicles from {start:%Y-%m-%d} to "
                                                 f"{end:%Y-%m-%d} ({en})"))
    fields.append(("出具时间", "Issued at", f"{clock.localtime(now):%Y-%m-%d %H:%M}"))
    valid_days = int(params.get("valid_days") or DEFAULT_VALID_DAYS)
    return issue_credential(application=application, actor=actor, kind=kind, fields=fields, valid_from=today,
                            valid_until=today + dt.timedelta(days=valid_days))
