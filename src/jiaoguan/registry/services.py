"""Writes to the registry. Every function is keyword-only, runs in one transaction, checks its input with the
core validators (field-level InvalidInput), and appends an audit row with old and new values (personal data
masked: the audit log must not become a second copy of the register).

Licence life cycle (one function per transition, each locks the row, then checks the current status and the
actor's role, then writes; ``LICENCE_TRANSITIONS`` is the whole table):

    valid ──suspend──▶ suspended ──restore──▶ valid
      │ └─expire (task)─▶ expired ──renew──▶ valid
      │                      └─cancel (task, > 1 year)─▶ cancelled ──renew after 科目一 (≤ 2 years)──▶ valid
      └─revoke / cancel ─▶ revoked / cancelled (final, unless cancelled for expiry)

A cancelled licence records why (``status_reason``, a code of ``rules.CANCEL_REASONS``): only one cancelled for
not being renewed ("expiry_over_1_year", written by the expiry sweep) can be restored.

Vehicles: ownership changes (``vehicle_transfer``) and status changes (``vehicle_set_status``, table
``VEHICLE_TRANSITIONS``) are services too, and each writes an outbox event in its transaction
(``registry.vehicle_owner_changed``, ``registry.vehicle_status_changed``) so other apps (bindings) can react.

Points belong to a scoring cycle (``points_cycle_start``); ``licences_points_rollover`` moves them into the next
cycle when one ends.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, forbidden
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import (
    id_number_birth_date, id_number_is_male, plate_kind, validate_id_number, validate_phone, validate_plate,
    validate_uscc, validate_vin,
)
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.core.outbox import event_emit
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from jiaoguan.registry.selectors import inspection_rules, person_by_id_number

STAFF_ACTOR_ROLES = frozenset({"clerk", "approver", "admin", "system"})
FILE_NUMBER_PREFIX = "4403"  # 档案编号: 12 digits, beginning with the city's code
RESTORE_AFTER_CANCEL_YEARS = rules.RESTORE_AFTER_CANCEL_YEARS
TOPIC_VEHICLE_OWNER_CHANGED = "registry.vehicle_owner_changed"
TOPIC_VEHICLE_STATUS_CHANGED = "registry.vehicle_status_changed"
TOPIC_LICENCE_POINTS_IMPORTED = "registry.licence_points_imported"
DEFAULT_SEATS = {
    Vehicle.Kind.SMALL_CAR: 5, Vehicle.Kind.BUS: 45, Vehicle.Kind.TRUCK: 3, Vehicle.Kind.TRAILER: 0,
    Vehicle.Kind.MOTORCYCLE: 2,
}
_LETTER = r"\u3400-\u9fff\uf900-\ufaffA-Za-z"  # CJK ideographs and Latin letters
_NAME_RE = re.compile(rf"[{_LETTER}][{_LETTER}·• ]{{0,38}}[{_LETTER}]")
_POLICY_RE = re.compile(r"[A-Z0-9][A-Z0-9\-]{5,39}")
_FILE_NUMBER_RE = re.compile(r"[0-9]{12}")


def _diff(old: dict, new: dict) -> dict:
    """The audit's old/new: only the values that changed."""
    return {"old": {k: v for k, v in old.items() if new[k] != v}, "new": {k: v for k, v in new.items() if old[k] != v}}


def _require_staff(actor: Actor) -> None:
    if actor.role not in STAFF_ACTOR_ROLES:
        raise forbidden()


def _bad(field: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)


# --- Field checks shared with the CSV import --------------------------------------------------------------------

def validate_person_name(value: str, *, field: str = "name") -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise _bad(field, "registry.name_required", "请填写姓名", "Enter the name")
    if not _NAME_RE.fullmatch(name):
        raise _bad(field, "registry.name_invalid", "姓名应为2至40个汉字或字母（可含间隔号·）",
                   "A name has 2 to 40 Chinese characters or letters (the separator · is allowed)")
    return name


def validate_classes(value, *, field: str = "classes") -> list[str]:
    try:
        return rules.parse_classes(value or "")
    except ValueError:
        raise _bad(field, "registry.classes_invalid",
                   "准驾车型不正确，应为 A1 A2 A3 B1 B2 C1 C2 C3 C4 C5 C6 D E F M N P 中的一个或多个",
                   "Unknown licence class: use one or more of A1 A2 A3 B1 B2 C1 C2 C3 C4 C5 C6 D E F M N P") from None


def validate_file_number(value: str, *, field: str = "file_number") -> str:
    number = str(value or "").strip()
    if not _FILE_NUMBER_RE.fullmatch(number):
        raise _bad(field, "registry.file_number_invalid", "档案编号应为12位数字", "A file number has 12 digits")
    return number


def validate_policy_number(value: str, *, field: str = "policy_number") -> str:
    number = str(value or "").strip().upper()
    if not _POLICY_RE.fullmatch(number):
        raise _bad(field, "registry.policy_number_invalid", "保单号应为6至40位字母、数字或连字符",
                   "A policy number has 6 to 40 letters, digits or hyphens")
    return number


def check_choice(value: str, choices, *, field: str) -> str:
    value = str(value or "").strip()
    valid = [c for c, _ in choices]
    if value not in valid:
        raise _bad(field, f"registry.{field}_invalid", f"取值不正确，可选：{'、'.join(valid)}",
                   f"Invalid value; choose one of: {', '.join(valid)}")
    return value


def infer_plate_type(plate: str, kind: str) -> str:
    """The 号牌种类 a plate number implies: new-energy plates by their pattern, 挂/学 by their suffix, else by
    the vehicle kind."""
    shape = plate_kind(plate)
    if shape == "nev_small":
        return Vehicle.PlateType.NEV_SMALL
    if shape == "nev_large":
        return Vehicle.PlateType.NEV_LARGE
    if plate.endswith("挂"):
        return Vehicle.PlateType.TRAILER
    if plate.endswith("学"):
        return Vehicle.PlateType.COACH
    if kind == Vehicle.Kind.MOTORCYCLE:
        return Vehicle.PlateType.MOTORCYCLE
    if kind == Vehicle.Kind.SMALL_CAR:
        return Vehicle.PlateType.SMALL
    return Vehicle.PlateType.LARGE


def check_plate_type(plate: str, plate_type: str, *, field: str = "plate_type") -> str:
    plate_type = check_choice(plate_type, Vehicle.PlateType.choices, field=field)
    shape = plate_kind(plate)
    nev = {Vehicle.PlateType.NEV_SMALL: "nev_small", Vehicle.PlateType.NEV_LARGE: "nev_large"}
    if (plate_type in nev) != (shape in ("nev_small", "nev_large")) or (plate_type in nev and nev[plate_type] != shape):
        raise _bad(field, "registry.plate_type_mismatch", "号牌种类与号牌号码不符（新能源号牌为6位）",
                   "The plate type does not match the plate number (new-energy plates have 6 characters)")
    return plate_type


def _masked_person(person: Person) -> dict:
    return {"name": mask_name(person.name), "id_number": mask_id_number(person.id_number),
            "phone": mask_phone(person.phone), "address": mask_address(person.address)}


# --- Persons ----------------------------------------------------------------------------------------------------

def person_create(*, name: str, id_number: str, actor: Actor, phone: str | None = None, address: str = "") -> Person:
    """Add a person to the register. Gender and birth date come from the ID number."""
    _require_staff(actor)
    errors: dict[str, tuple[str, str]] = {}
    values: dict = {}
    checks = (("name", lambda: validate_person_name(name)), ("id_number", lambda: validate_id_number(id_number)),
              ("phone", lambda: validate_phone(phone) if phone else None))
    for key, check in checks:
        try:
            values[key] = check()
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        first = next(iter(errors))
        raise InvalidInput("registry.person_invalid", *errors[first], field=None, fields=errors)
    number = values["id_number"]
    now = clock.now()
    with transaction.atomic():
        if person_by_id_number(id_number=number) is not None:
            raise Conflict("registry.person_exists", "该身份证号码的人员已在档案中",
                           "A person with this ID number is already registered", field="id_number")
        try:
            with transaction.atomic():
                person = Person.objects.create(
                    name=values["name"], id_number=number, phone=values["phone"], address=(address or "").strip(),
                    gender=Person.Gender.MALE if id_number_is_male(number) else Person.Gender.FEMALE,
                    birth_date=id_number_birth_date(number), created_at=now, updated_at=now,
                )
        except IntegrityError:  # a concurrent insert of the same ID number
            raise Conflict("registry.person_exists", "该身份证号码的人员已在档案中",
                           "A person with this ID number is already registered", field="id_number") from None
        audit_record(actor=actor, action="person.create", obj=person, new=_masked_person(person),
                     subject_person_id=person.pk)
    return person


def person_update_phone(*, person: Person, phone: str, actor: Actor, reason: str) -> Person:
    """Change the phone on file (预留手机号), e.g. at a window after checking the holder's ID card."""
    _require_staff(actor)
    phone = validate_phone(phone)
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        old = locked.phone
        if old == phone:
            return person
        locked.phone = phone
        locked.updated_at = clock.now()
        locked.save(update_fields=["phone", "phone_hash", "updated_at"])
        audit_record(actor=actor, action="person.update_phone", obj=locked, old={"phone": mask_phone(old)},
                     new={"phone": mask_phone(phone)}, reason=reason, subject_person_id=locked.pk)
    person.phone, person.phone_hash, person.updated_at = locked.phone, locked.phone_hash, locked.updated_at
    return person


def person_update_address(*, person: Person, address: str, actor: Actor, reason: str) -> Person:
    _require_staff(actor)
    address = " ".join(str(address or "").split())
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        old = locked.address
        if old == address:
            return person
        locked.address = address
        locked.updated_at = clock.now()
        locked.save(update_fields=["address", "updated_at"])
        audit_record(actor=actor, action="person.update_address", obj=locked, old={"address": mask_address(old)},
                     new={"address": mask_address(address)}, reason=reason, subject_person_id=locked.pk)
    person.address, person.updated_at = locked.address, locked.updated_at
    return person


# --- Licences ---------------------------------------------------------------------------------------------------

def _licence_state(licence: DrivingLicence) -> dict:
    return {"status": licence.status, "status_reason": licence.status_reason, "classes": licence.classes,
            "valid_from": licence.valid_from, "valid_until": licence.valid_until, "validity": licence.validity,
            "probation_until": licence.probation_until}


def next_file_number() -> str:
    """The next free 档案编号 in the city's range (the highest so far + 1)."""
    last = (DrivingLicence.objects.filter(file_number__startswith=FILE_NUMBER_PREFIX)
            .order_by("-file_number").values_list("file_number", flat=True).first())
    n = int(last[len(FILE_NUMBER_PREFIX):]) + 1 if last else 1
    return f"{FILE_NUMBER_PREFIX}{n:0{12 - len(FILE_NUMBER_PREFIX)}d}"


def check_licence_ages(*, birth_date: dt.date, classes: list[str], on: dt.date, field: str = "classes") -> None:
    age = rules.age_on(birth_date, on)
    too_young_or_old = [c for c in classes if not rules.age_allows(c, age)]
    if too_young_or_old:
        classes_ = [rules.LICENCE_CLASSES[c] for c in too_young_or_old]
        limits = "；".join(f"{c.code} {c.min_age}–{c.max_age or ''}" for c in classes_)
        raise _bad(field, "registry.licence_age",
                   f"申领时年龄（{age}岁）不符合准驾车型的年龄条件：{limits}",
                   f"The holder's age on that date ({age}) is outside the age limits of: {limits}")


def licence_issue(*, person: Person, classes: str | list[str], first_issue_date: dt.date, actor: Actor,
                  valid_from: dt.date | None = None, validity: str = rules.VALIDITY_6Y,
                  file_number: str | None = None, issuing_office: str | None = None) -> DrivingLicence:
    """Issue a driving licence to a person who has none. The period is computed from ``valid_from`` (default:
    the first-issue date) and ``validity``; probation runs 12 months from the first issue."""
    _require_staff(actor)
    codes = validate_classes(classes)
    today = clock.today()
    if validity not in rules.VALIDITY_YEARS:
        raise _bad("validity", "registry.validity_invalid", "有效期类型不正确", "Unknown validity period")
    if first_issue_date > today:
        raise _bad("first_issue_date", "registry.date_in_future", "初次领证日期不能晚于今天",
                   "The first-issue date cannot be in the future")
    check_licence_ages(birth_date=person.birth_date, classes=codes, on=first_issue_date)
    valid_from = valid_from or first_issue_date
    if valid_from < first_issue_date or valid_from > today:
        raise _bad("valid_from", "registry.valid_from_invalid", "有效期起始日期应在初次领证日期与今天之间",
                   "The validity start must be between the first-issue date and today")
    valid_until = rules.validity_until(valid_from, validity)
    if rules.effective_status(stored=rules.STATUS_VALID, valid_until=valid_until, on=today) != rules.STATUS_VALID:
        raise _bad("valid_from", "registry.licence_already_expired", "按该有效期计算，驾驶证已过期，请核对日期",
                   "With these dates the licence would already be expired; check them")
    if file_number is not None:
        file_number = validate_file_number(file_number)
    now = clock.now()
    with transaction.atomic():
        if DrivingLicence.objects.filter(person=person).exists():
            raise Conflict("registry.licence_exists", "该人员已有驾驶证，请办理增驾或换证",
                           "This person already holds a licence: add a class or renew it instead", field="classes")
        for _attempt in range(5):
            number = file_number or next_file_number()
            try:
                with transaction.atomic():
                    licence = DrivingLicence.objects.create(
                        person=person, file_number=number, classes=" ".join(codes), first_issue_date=first_issue_date,
                        valid_from=valid_from, valid_until=valid_until, validity=validity,
                        status=DrivingLicence.Status.VALID, probation_until=rules.probation_end(first_issue_date),
                        cycle_points=0, points_cycle_start=rules.scoring_cycle(first_issue_date, today)[0],
                        created_at=now, updated_at=now,
                        **({"issuing_office": issuing_office} if issuing_office else {}),
                    )
                break
            except IntegrityError:
                if file_number is not None or DrivingLicence.objects.filter(person=person).exists():
                    raise Conflict("registry.licence_conflict", "档案编号或驾驶证已存在",
                                   "The file number or the licence already exists", field="file_number") from None
        else:  # pragma: no cover - five concurrent issues in a row
            raise Conflict("registry.licence_conflict", "档案编号分配冲突，请重试", "File number clash; try again")
        audit_record(actor=actor, action="licence.issue", obj=licence, new=_licence_state(licence),
                     subject_person_id=person.pk)
    return licence


LICENCE_TRANSITIONS: dict[str, frozenset[str]] = {
    rules.STATUS_VALID: frozenset({rules.STATUS_SUSPENDED, rules.STATUS_EXPIRED, rules.STATUS_REVOKED,
                                   rules.STATUS_CANCELLED}),
    rules.STATUS_SUSPENDED: frozenset({rules.STATUS_VALID, rules.STATUS_REVOKED, rules.STATUS_CANCELLED}),
    rules.STATUS_EXPIRED: frozenset({rules.STATUS_VALID, rules.STATUS_CANCELLED, rules.STATUS_REVOKED}),
    rules.STATUS_CANCELLED: frozenset({rules.STATUS_VALID}),
    rules.STATUS_REVOKED: frozenset(),
}


def _transition(*, licence: DrivingLicence, to: str, action: str, actor: Actor, reason: str,
                allowed_from: frozenset[str] | None = None, extra: dict | None = None, status_reason: str = "",
                check: Callable[[DrivingLicence], dict | None] | None = None) -> DrivingLicence:
    """Lock, check the current status, write, audit. ``status_reason``: why the licence now has ``to`` (cleared
    otherwise). ``extra``: other fields changed in the same step. ``check(locked)`` runs under the lock after
    the status table: it raises to refuse, and may return more fields to write."""
    _require_staff(actor)
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        current = locked.status
        allowed = LICENCE_TRANSITIONS.get(current, frozenset())
        if to not in allowed or (allowed_from is not None and current not in allowed_from):
            cur_zh, cur_en = rules.STATUS_LABELS.get(current, (current, current))
            to_zh, to_en = rules.STATUS_LABELS.get(to, (to, to))
            raise Conflict("registry.licence_status", f"驾驶证当前状态为“{cur_zh}”，不能变为“{to_zh}”",
                           f"The licence is {cur_en.lower()}; it cannot become {to_en.lower()}", field="status")
        changes = dict(extra or {})
        if check is not None:
            changes.update(check(locked) or {})
        old = _licence_state(locked)
        locked.status = to
        locked.status_reason = status_reason
        for key, value in changes.items():
            setattr(locked, key, value)
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "status_reason", "updated_at", *changes])
        new = _licence_state(locked)
        audit_record(actor=actor, action=action, obj=locked,
                     **_diff(old, new),
                     reason=reason, subject_person_id=locked.person_id)
    for attr in ("status", "status_reason", "updated_at", *changes):
        setattr(licence, attr, getattr(locked, attr))
    return licence


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", "registry.reason_required", "请填写原因", "Give the reason")
    return reason


def _check_restorable(*, locked: DrivingLicence, cancel_reason: str, today: dt.date,
                      passed_theory_test: bool) -> None:
    """A cancelled licence comes back only when it was cancelled for not being renewed, within two years of the
    cancellation, once the holder has passed 科目一 (DOMAIN §3)."""
    if cancel_reason not in rules.RESTORABLE_CANCEL_REASONS:
        why_zh, why_en = rules.status_reason_label(cancel_reason) if cancel_reason else ("未记录原因", "no reason on file")
        raise Conflict("registry.licence_not_restorable",
                       f"驾驶证因“{why_zh}”注销，不能恢复，须重新申领",
                       f"The licence was cancelled ({why_en.lower()}); it cannot be restored: apply for a new one",
                       field="status")
    if locked.valid_until is None or today > rules.restore_deadline(locked.valid_until):
        raise Conflict("registry.restore_too_late", "注销已超过2年，须重新申领驾驶证",
                       "Cancelled more than 2 years ago: the holder must apply for a new licence")
    if not passed_theory_test:
        raise Conflict("registry.theory_test_required", "恢复驾驶资格须先通过科目一考试",
                       "Restoring the licence needs a passed theory test (科目一) first")


def _check_period(period: tuple[dt.date, dt.date | None, str], today: dt.date) -> dict:
    """A new validity period given by the city's system: consistent, started, and covering today."""
    valid_from, valid_until, validity = period
    if validity not in rules.VALIDITY_YEARS or rules.validity_until(valid_from, validity) != valid_until:
        raise _bad("valid_until", "registry.validity_period", "有效期起止应相差6年或10年（或为长期）",
                   "The validity must run 6 or 10 years (or be long-term)")
    if valid_from > today or rules.effective_status(stored=rules.STATUS_VALID, valid_until=valid_until,
                                                    on=today) != rules.STATUS_VALID:
        raise Conflict("registry.period_not_current", "新的有效期不包含今天，驾驶证不能恢复为正常",
                       "The new validity period does not cover today: the licence cannot become valid",
                       field="valid_until")
    return {"valid_from": valid_from, "valid_until": valid_until, "validity": validity}


def licence_suspend(*, licence: DrivingLicence, actor: Actor, reason: str) -> DrivingLicence:
    """暂扣 / 满分: the holder may not drive until restored."""
    return _transition(licence=licence, to=rules.STATUS_SUSPENDED, action="licence.suspend", actor=actor,
                       reason=_need_reason(reason))


def licence_restore(*, licence: DrivingLicence, actor: Actor, reason: str, passed_theory_test: bool = False,
                    new_period: tuple[dt.date, dt.date | None, str] | None = None) -> DrivingLicence:
    """Back to valid.

    - suspended: the suspension ends (study done and 科目一 passed, or the detention period over);
    - expired: only with a ``new_period`` that covers today (a renewal done in the city's system, recorded by
      the CSV import; renewing here is ``licence_renew``);
    - cancelled: only a licence cancelled for not being renewed (``status_reason`` "expiry_over_1_year"), within
      two years of the cancellation, once the holder has passed 科目一, and with a ``new_period``. Any other
      cancellation, and a revocation, is final.

    ``new_period`` = (valid_from, valid_until or None for long-term, validity), written in the same step."""
    reason = _need_reason(reason)
    today = clock.today()

    def check(locked: DrivingLicence) -> dict:
        period = _check_period(new_period, today) if new_period is not None else {}
        if locked.status == rules.STATUS_EXPIRED and not period:
            raise Conflict("registry.renewal_required", "驾驶证已超过有效期，须办理换证",
                           "The licence has expired: it needs a renewal", field="status")
        if locked.status == rules.STATUS_CANCELLED:
            _check_restorable(locked=locked, cancel_reason=locked.status_reason, today=today,
                              passed_theory_test=passed_theory_test)
            if not period:
                raise Conflict("registry.renewal_required", "恢复驾驶资格须核发新的有效期，请办理换证",
                               "Restoring the licence needs a new validity period: use the renewal", field="status")
        return period

    return _transition(licence=licence, to=rules.STATUS_VALID, action="licence.restore", actor=actor,
                       reason=reason, check=check)


def licence_revoke(*, licence: DrivingLicence, actor: Actor, reason: str) -> DrivingLicence:
    return _transition(licence=licence, to=rules.STATUS_REVOKED, action="licence.revoke", actor=actor,
                       reason=_need_reason(reason))


def licence_cancel(*, licence: DrivingLicence, actor: Actor, reason: str,
                   reason_code: str = rules.CANCEL_OTHER) -> DrivingLicence:
    """注销. ``reason_code`` (a key of ``rules.CANCEL_REASONS``) is recorded as the licence's ``status_reason``:
    it decides whether the licence can ever be restored. "expiry_over_1_year" is accepted only when the dates
    say so (more than a year past expiry)."""
    reason = _need_reason(reason)
    if reason_code not in rules.CANCEL_REASONS:
        raise _bad("reason_code", "registry.cancel_reason_invalid", "注销原因不正确",
                   f"Unknown cancellation reason; choose one of: {', '.join(rules.CANCEL_REASONS)}")
    today = clock.today()

    def check(locked: DrivingLicence) -> None:
        if reason_code == rules.CANCEL_EXPIRY and not rules.cancelled_for_expiry_on(locked.valid_until, today):
            raise _bad("reason_code", "registry.cancel_reason_dates", "驾驶证超过有效期未满一年，不能以此原因注销",
                       "The licence is not more than a year past expiry: it cannot be cancelled for that reason")

    return _transition(licence=licence, to=rules.STATUS_CANCELLED, action="licence.cancel", actor=actor,
                       reason=reason, status_reason=reason_code, check=check)


def licence_expire(*, licence: DrivingLicence, actor: Actor, reason: str = "超过有效期 validity ended") -> DrivingLicence:
    return _transition(licence=licence, to=rules.STATUS_EXPIRED, action="licence.expire", actor=actor, reason=reason,
                       allowed_from=frozenset({rules.STATUS_VALID}))


_SET_STATUS = {
    rules.STATUS_SUSPENDED: licence_suspend,
    rules.STATUS_VALID: licence_restore,
    rules.STATUS_REVOKED: licence_revoke,
    rules.STATUS_CANCELLED: licence_cancel,
    rules.STATUS_EXPIRED: licence_expire,
}


def licence_set_status(*, licence: DrivingLicence, status: str, actor: Actor, reason: str,
                       reason_code: str = "") -> DrivingLicence:
    """Dispatch to the one transition function for ``status`` (for forms that offer a status list).
    ``reason_code``: the cancellation reason when ``status`` is cancelled (default "other")."""
    fn = _SET_STATUS.get(status)
    if fn is None:
        raise _bad("status", "registry.licence_status_invalid", "驾驶证状态不正确", "Unknown licence status")
    if status == rules.STATUS_CANCELLED:
        return licence_cancel(licence=licence, actor=actor, reason=reason, reason_code=reason_code or rules.CANCEL_OTHER)
    if reason_code:
        raise _bad("reason_code", "registry.reason_code_unexpected", "只有注销需要注销原因",
                   "Only a cancellation takes a reason code")
    return fn(licence=licence, actor=actor, reason=reason)


def licence_renew(*, licence: DrivingLicence, actor: Actor, full_score_in_period: bool = False,
                  passed_theory_test: bool = False, reason: str = "") -> DrivingLicence:
    """换证 (DOMAIN §3): within the 90 days before expiry, or late while expired (up to one year after). The new
    period follows the old one (6y → 10y → long-term unless a cycle of the period reached 12 points).

    A licence cancelled for not being renewed (its ``status_reason``, or dates more than a year past expiry
    that the sweep has not acted on yet) is restored instead, within 2 years of the cancellation, once the holder
    passes 科目一: the new period starts today with the *same* length (a lapse earns no step: the holder gets the
    validity they would have had). A licence cancelled for any other reason is not restored."""
    _require_staff(actor)
    today = clock.today()
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        if locked.valid_until is None:
            raise Conflict("registry.licence_long_term", "长期有效的驾驶证无需换证", "A long-term licence needs no renewal")
        status = rules.effective_status(stored=locked.status, valid_until=locked.valid_until, on=today)
        if status == rules.STATUS_VALID and not rules.renewal_window_open(locked.valid_until, today):
            start, _ = rules.renewal_window(locked.valid_until)
            raise Conflict("registry.renewal_not_open", f"有效期满前90日内方可换证（{start:%Y-%m-%d}起）",
                           f"Renewal opens 90 days before expiry (from {start:%Y-%m-%d})")
        restoring = status == rules.STATUS_CANCELLED
        if restoring:
            # stored as cancelled: its recorded reason decides; stored as valid/expired but past the
            # cancellation date: cancelled for expiry by the dates themselves (the sweep has not run yet)
            cancel_reason = locked.status_reason if locked.status == rules.STATUS_CANCELLED else rules.CANCEL_EXPIRY
            _check_restorable(locked=locked, cancel_reason=cancel_reason, today=today,
                              passed_theory_test=passed_theory_test)
        elif status not in (rules.STATUS_VALID, rules.STATUS_EXPIRED):
            zh, en = rules.STATUS_LABELS.get(status, (status, status))
            raise Conflict("registry.licence_status", f"驾驶证状态为“{zh}”，不能换证",
                           f"The licence is {en.lower()}; it cannot be renewed")
        old = _licence_state(locked)
        if restoring:
            validity, valid_from = locked.validity, today
        else:
            validity = rules.validity_after_renewal(locked.validity, full_score_in_period=full_score_in_period)
            valid_from = locked.valid_until
        locked.validity = validity
        locked.valid_from = valid_from
        locked.valid_until = rules.validity_until(valid_from, validity)
        locked.status = rules.STATUS_VALID
        locked.status_reason = ""
        locked.updated_at = clock.now()
        locked.save(update_fields=["validity", "valid_from", "valid_until", "status", "status_reason", "updated_at"])
        new = _licence_state(locked)
        audit_record(actor=actor, action="licence.restore" if restoring else "licence.renew", obj=locked,
                     **_diff(old, new),
                     reason=reason, subject_person_id=locked.person_id)
    for attr in ("validity", "valid_from", "valid_until", "status", "status_reason", "updated_at"):
        setattr(licence, attr, getattr(locked, attr))
    return licence


def licences_apply_dates(*, on: dt.date | None = None, actor: Actor | None = None, chunk: int = 500) -> dict[str, int]:
    """Move licences whose dates have passed: valid → expired after ``valid_until``, and valid/expired →
    cancelled more than one year after it. Each licence in its own transaction, audited. Idempotent."""
    on = on or clock.today()
    actor = actor or Actor.system("registry.licence_expiry")
    counts = {"expired": 0, "cancelled": 0}
    candidates = DrivingLicence.objects.filter(
        status__in=(rules.STATUS_VALID, rules.STATUS_EXPIRED), valid_until__lt=on,
    ).order_by("pk").values_list("pk", flat=True)
    last_pk = 0
    while True:
        pks = list(candidates.filter(pk__gt=last_pk)[:chunk])
        if not pks:
            break
        last_pk = pks[-1]
        for licence in DrivingLicence.objects.filter(pk__in=pks).order_by("pk"):
            target = rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=on)
            if target == licence.status:
                continue
            try:
                if target == rules.STATUS_EXPIRED:
                    licence_expire(licence=licence, actor=actor)
                    counts["expired"] += 1
                elif target == rules.STATUS_CANCELLED:
                    _transition(licence=licence, to=rules.STATUS_CANCELLED, action="licence.cancel", actor=actor,
                                reason="超过有效期一年以上未换证 not renewed within one year of expiry",
                                allowed_from=frozenset({rules.STATUS_VALID, rules.STATUS_EXPIRED}),
                                status_reason=rules.CANCEL_EXPIRY)
                    counts["cancelled"] += 1
            except Conflict:  # changed by someone else since it was read: the next run looks again
                continue
    return counts


# --- Points and scoring cycles ---------------------------------------------------------------------------------

UnpaidFinePoints = Callable[[DrivingLicence, dt.date, dt.date], int]


def no_unpaid_fine_points(licence: DrivingLicence, cycle_start: dt.date, cycle_end: dt.date) -> int:
    """How many of the licence's points in the cycle [cycle_start, cycle_end] belong to violations whose fines
    are still unpaid. DOMAIN §3: "with unpaid fines, the points carry into the next cycle".

    There are no fines in the platform yet (no violations or payments app), so no fine can be unpaid and this
    answers 0: at a cycle's end every point under 12 clears. The violations app decides this when it arrives,
    by passing its own function as ``unpaid_fine_points`` to ``licences_points_rollover`` (and scheduling that
    call); the registry does not read fines itself (arrows point down)."""
    return 0


def licence_points_imported(*, licences: list[tuple[int, int, dt.date]], source: str) -> None:
    """Hand points that came with the registry — (licence id, points, first day of their scoring cycle), from the
    CSV import or the demo city — to the points ledger (the violations app), which enters them as opening
    balances and mirrors the card figure back through ``licence_points_set``. The registry never adds to or
    overwrites a licence's points itself. In the caller's transaction (an outbox event)."""
    if licences:
        event_emit(topic=TOPIC_LICENCE_POINTS_IMPORTED,
                   payload={"source": source, "licences": [[pk, points, start.isoformat()]
                                                           for pk, points, start in licences]})


def licence_points_set(*, licence: DrivingLicence, points: int, cycle_start: dt.date, actor: Actor,
                       reason: str) -> DrivingLicence:
    """Mirror the licence's points in the scoring cycle starting on ``cycle_start``: called only by the violations
    app's points ledger (the one authority: opening balances, handled and revoked violations, cycle ends), with
    the ledger's total for the current cycle. Nothing else writes ``cycle_points`` of an existing licence.
    Audited when the figure changes."""
    if points < 0:
        raise InvalidInput("registry.points_negative", "记分不能为负数", "Points cannot be negative", field="points")
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        old = {"points": locked.cycle_points, "cycle_start": locked.points_cycle_start}
        if old == {"points": points, "cycle_start": cycle_start}:
            return locked
        locked.cycle_points, locked.points_cycle_start, locked.updated_at = points, cycle_start, clock.now()
        locked.save(update_fields=["cycle_points", "points_cycle_start", "updated_at"])
        audit_record(actor=actor, action="licence.points_set", obj=locked, old=old,
                     new={"points": points, "cycle_start": cycle_start}, reason=reason,
                     subject_person_id=locked.person_id)
    licence.cycle_points, licence.points_cycle_start = locked.cycle_points, locked.points_cycle_start
    return locked


def licences_points_rollover(*, on: dt.date | None = None, actor: Actor | None = None,
                             unpaid_fine_points: UnpaidFinePoints = no_unpaid_fine_points,
                             chunk: int = 500) -> dict[str, int]:
    """End the scoring cycles that are over on ``on`` (公安部令第163号): a licence whose points belong to an
    earlier cycle than the current one moves to the current cycle. Under 12 points they clear, except the
    points ``unpaid_fine_points(licence, cycle_start, cycle_end)`` says are tied to unpaid fines, which carry
    over; a full score (12+) stays until the study and exam that clear it. Each licence with points is locked,
    changed and audited in its own transaction; licences without points only move to the new cycle. Idempotent.

    Returns counts: cleared (points went to 0), carried (some points kept), moved (no points, new cycle only)."""
    on = on or clock.today()
    actor = actor or Actor.system("registry.points_cycle_rollover")
    counts = {"cleared": 0, "carried": 0, "moved": 0}
    # a cycle lasts at least 365 days, so points of an ended cycle started at least 365 days before ``on``
    candidates = (DrivingLicence.objects.filter(points_cycle_start__lte=on - dt.timedelta(days=365))
                  .order_by("pk").values_list("pk", flat=True))
    last_pk = 0
    while True:
        pks = list(candidates.filter(pk__gt=last_pk)[:chunk])
        if not pks:
            break
        last_pk = pks[-1]
        for pk in pks:
            outcome = _points_roll_one(pk=pk, on=on, actor=actor, unpaid_fine_points=unpaid_fine_points)
            if outcome:
                counts[outcome] += 1
    return counts


def _points_roll_one(*, pk: int, on: dt.date, actor: Actor, unpaid_fine_points: UnpaidFinePoints) -> str:
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=pk)
        first = locked.first_issue_date
        current_start, _ = rules.scoring_cycle(first, max(on, first))
        if locked.points_cycle_start >= current_start:
            return ""  # rolled over already (or by someone else since it was read)
        if locked.cycle_points == 0:
            locked.points_cycle_start = current_start
            locked.save(update_fields=["points_cycle_start"])
            return "moved"
        ended_start, ended_end = rules.scoring_cycle(first, max(locked.points_cycle_start, first))
        old = {"cycle_points": locked.cycle_points, "points_cycle_start": locked.points_cycle_start}
        unpaid = 0 if locked.cycle_points >= rules.FULL_SCORE else int(unpaid_fine_points(locked, ended_start, ended_end))
        kept = rules.points_after_cycle(points=locked.cycle_points, unpaid_points=unpaid)
        locked.cycle_points = kept
        locked.points_cycle_start = current_start
        locked.updated_at = clock.now()
        locked.save(update_fields=["cycle_points", "points_cycle_start", "updated_at"])
        if kept == 0:
            reason = "记分周期届满，记分清除 scoring cycle ended: points cleared"
        elif old["cycle_points"] >= rules.FULL_SCORE:
            reason = "记满12分，须满分学习考试后清除 full score: cleared only after the study and exam"
        else:
            reason = "有罚款未缴纳，相应记分转入下一周期 unpaid fines: their points carry into the next cycle"
        audit_record(actor=actor, action="licence.points_rollover", obj=locked, old=old,
                     new={"cycle_points": kept, "points_cycle_start": current_start}, reason=reason,
                     subject_person_id=locked.person_id)
        return "cleared" if kept == 0 else "carried"


# --- Vehicles and insurance ------------------------------------------------------------------------------------

def _vehicle_state(vehicle: Vehicle) -> dict:
    return {"plate": vehicle.plate, "plate_type": vehicle.plate_type, "owner_id": vehicle.owner_id,
            "status": vehicle.status, "inspection_due": vehicle.inspection_due,
            "last_inspection_date": vehicle.last_inspection_date}


def inspection_due_for(*, registration_date: dt.date, kind: str, use: str, after: dt.date | None = None,
                       rule_rows: list | None = None) -> dt.date:
    """The next due date of the schedule after ``after`` (default: the registration date)."""
    point = rules.next_inspection_due(registration_date=registration_date, kind=kind, use=use,
                                      rules=rule_rows if rule_rows is not None else inspection_rules(),
                                      after=after or registration_date)
    if point is None:
        raise _bad("kind", "registry.no_inspection_rule", "没有适用于该车辆类型和使用性质的检验周期规则",
                   "No inspection rule covers this vehicle kind and use")
    return point.due


def vehicle_register(*, owner: Person | None, plate: str, vin: str, brand: str, kind: str, use: str,
                     registration_date: dt.date, actor: Actor, plate_type: str | None = None,
                     seats: int | None = None, owner_company: str = "", owner_uscc: str = "") -> Vehicle:
    """Register a vehicle (注册登记). Its first inspection due date comes from the schedule (InspectionRule)."""
    _require_staff(actor)
    plate = validate_plate(plate)
    vin = validate_vin(vin)
    kind = check_choice(kind, Vehicle.Kind.choices, field="kind")
    use = check_choice(use, Vehicle.Use.choices, field="use")
    plate_type = check_plate_type(plate, plate_type) if plate_type else infer_plate_type(plate, kind)
    brand = " ".join(str(brand or "").split())
    if not brand or len(brand) > 60:
        raise _bad("brand", "registry.brand_invalid", "请填写品牌型号（60字以内）",
                   "Enter the make and model (up to 60 characters)")
    if registration_date > clock.today():
        raise _bad("registration_date", "registry.date_in_future", "初次登记日期不能晚于今天",
                   "The registration date cannot be in the future")
    if owner is None and not owner_company:
        raise _bad("owner", "registry.owner_required", "请指定车辆所有人", "Give the vehicle's owner")
    owner_uscc = validate_uscc(owner_uscc, field="owner_uscc") if owner_uscc else ""
    due = inspection_due_for(registration_date=registration_date, kind=kind, use=use)
    now = clock.now()
    with transaction.atomic():
        if Vehicle.objects.filter(vin=vin).exists():
            raise Conflict("registry.vin_exists", "该车辆识别代号已登记", "A vehicle with this VIN is already registered",
                           field="vin")
        if Vehicle.objects.filter(plate=plate, plate_type=plate_type).exists():
            raise Conflict("registry.plate_exists", "该号牌已被使用", "This plate is already in use", field="plate")
        try:
            with transaction.atomic():
                vehicle = Vehicle.objects.create(
                    plate=plate, plate_type=plate_type, vin=vin, owner=owner, owner_company=owner_company[:120],
                    owner_uscc=owner_uscc, brand=brand, kind=kind, use=use,
                    seats=DEFAULT_SEATS.get(kind, 5) if seats is None else seats,
                    registration_date=registration_date, inspection_due=due, status=Vehicle.Status.NORMAL,
                    created_at=now, updated_at=now,
                )
        except IntegrityError:
            raise Conflict("registry.vehicle_conflict", "号牌或车辆识别代号已登记",
                           "The plate or the VIN is already registered", field="plate") from None
        audit_record(actor=actor, action="vehicle.register", obj=vehicle, new=_vehicle_state(vehicle),
                     subject_person_id=owner.pk if owner else None)
    return vehicle


def policy_periods_overlap(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def policy_add(*, vehicle: Vehicle, policy_number: str, insurer: str, starts_on: dt.date, ends_on: dt.date,
               actor: Actor, kind: str = InsurancePolicy.Kind.COMPULSORY) -> InsurancePolicy:
    """Record an insurance policy (e-policies come from insurers). Compulsory policies of one vehicle may not
    overlap (no double 交强险) and last at most a year."""
    _require_staff(actor)
    number = validate_policy_number(policy_number)
    kind = check_choice(kind, InsurancePolicy.Kind.choices, field="kind")
    insurer = " ".join(str(insurer or "").split())
    if not insurer or len(insurer) > 60:
        raise _bad("insurer", "registry.insurer_invalid", "请填写保险公司（60字以内）", "Enter the insurer (up to 60 characters)")
    if ends_on < starts_on:
        raise _bad("ends_on", "registry.policy_dates", "保险止期不能早于起期", "The policy cannot end before it starts")
    if kind == InsurancePolicy.Kind.COMPULSORY and ends_on > rules.add_years(starts_on, 1):
        raise _bad("ends_on", "registry.policy_too_long", "交强险保险期间最长一年", "A compulsory policy lasts at most one year")
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if locked.status in (Vehicle.Status.SCRAPPED, Vehicle.Status.TRANSFERRED):
            raise Conflict("registry.vehicle_not_live", "车辆已注销或转出", "The vehicle is scrapped or transferred out")
        if InsurancePolicy.objects.filter(policy_number=number).exists():
            raise Conflict("registry.policy_exists", "该保单号已存在", "This policy number already exists",
                           field="policy_number")
        if kind == InsurancePolicy.Kind.COMPULSORY:
            others = locked.policies.filter(kind=kind, starts_on__lte=ends_on, ends_on__gte=starts_on)
            if others.exists():
                raise Conflict("registry.policy_overlap", "该车辆在此期间已有交强险保单",
                               "The vehicle already has a compulsory policy covering part of this period",
                               field="starts_on")
        policy = InsurancePolicy.objects.create(vehicle=locked, kind=kind, insurer=insurer, policy_number=number,
                                                starts_on=starts_on, ends_on=ends_on, created_at=clock.now())
        audit_record(actor=actor, action="policy.add", obj=policy,
                     new={"vehicle_id": locked.pk, "policy_number": number, "kind": kind, "insurer": insurer,
                          "starts_on": starts_on, "ends_on": ends_on}, subject_person_id=locked.owner_id)
    return policy


def vehicle_record_inspection(*, vehicle: Vehicle, inspected_on: dt.date, actor: Actor) -> Vehicle:
    """A passed inspection (or an online mark for an exempt year): the next due date moves to the schedule
    point after both the current due date and the inspection day. Needs valid compulsory insurance that day
    and is refused more than 90 days before the due date."""
    from jiaoguan.registry.selectors import compulsory_periods

    _require_staff(actor)
    if inspected_on > clock.today():
        raise _bad("inspected_on", "registry.date_in_future", "检验日期不能晚于今天",
                   "The inspection date cannot be in the future")
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if locked.status not in (Vehicle.Status.NORMAL, Vehicle.Status.MORTGAGED):
            zh, en = zh_en(Vehicle.Status(locked.status).label)
            raise Conflict("registry.vehicle_status", f"车辆状态为“{zh}”，不能检验",
                           f"The vehicle is {en.lower()}; it cannot be inspected")
        if not rules.insurance_status(periods=compulsory_periods(locked), on=inspected_on).insured:
            raise Conflict("registry.insurance_required", "检验前须有有效的交强险",
                           "Valid compulsory insurance is needed to inspect")
        if inspected_on < locked.inspection_due - dt.timedelta(days=rules.INSPECTION_SOON_DAYS):
            raise Conflict("registry.inspection_too_early", "检验有效期满前3个月内方可检验",
                           "Inspection is possible in the 3 months before the due date")
        old = _vehicle_state(locked)
        locked.inspection_due = inspection_due_for(registration_date=locked.registration_date, kind=locked.kind,
                                                   use=locked.use, after=max(locked.inspection_due, inspected_on))
        locked.last_inspection_date = inspected_on
        locked.updated_at = clock.now()
        locked.save(update_fields=["inspection_due", "last_inspection_date", "updated_at"])
        new = _vehicle_state(locked)
        audit_record(actor=actor, action="vehicle.inspect", obj=locked,
                     **_diff(old, new),
                     subject_person_id=locked.owner_id)
    vehicle.inspection_due, vehicle.last_inspection_date = locked.inspection_due, locked.last_inspection_date
    vehicle.updated_at = locked.updated_at
    return vehicle


# --- Vehicle ownership and status ----------------------------------------------------------------------------

# 机动车状态: what may follow what. Scrapped is final; a vehicle transferred out of the city can come back
# (转入); a stolen one is found or written off; seizure and mortgage are released.
VEHICLE_TRANSITIONS: dict[str, frozenset[str]] = {
    Vehicle.Status.NORMAL: frozenset({Vehicle.Status.MORTGAGED, Vehicle.Status.SEIZED, Vehicle.Status.STOLEN,
                                      Vehicle.Status.SCRAPPED, Vehicle.Status.TRANSFERRED}),
    Vehicle.Status.MORTGAGED: frozenset({Vehicle.Status.NORMAL, Vehicle.Status.SEIZED, Vehicle.Status.STOLEN,
                                         Vehicle.Status.TRANSFERRED}),
    Vehicle.Status.SEIZED: frozenset({Vehicle.Status.NORMAL, Vehicle.Status.MORTGAGED}),
    Vehicle.Status.STOLEN: frozenset({Vehicle.Status.NORMAL, Vehicle.Status.SCRAPPED}),
    Vehicle.Status.SCRAPPED: frozenset(),
    Vehicle.Status.TRANSFERRED: frozenset({Vehicle.Status.NORMAL}),
}
# 转移登记 is possible while the vehicle is in use here; a mortgage may stay on it (带押过户).
TRANSFERABLE_STATUSES = frozenset({Vehicle.Status.NORMAL, Vehicle.Status.MORTGAGED})


def _status_words(status: str) -> tuple[str, str]:
    return zh_en(Vehicle.Status(status).label) if status in Vehicle.Status.values else (status, status)


def _owner_state(vehicle: Vehicle) -> dict:
    return {"owner_id": vehicle.owner_id, "owner_company": vehicle.owner_company, "owner_uscc": vehicle.owner_uscc,
            "last_change_date": vehicle.last_change_date}


def same_owner(a: tuple[int | None, str, str], b: tuple[int | None, str, str]) -> bool:
    """Do two (owner person id, owning company, its USCC) name the same owner? A person by id; a company by its
    USCC when both sides have one, else by name (a company's name corrected under the same USCC is no sale)."""
    (pa, ca, ua), (pb, cb, ub) = a, b
    if pa is not None or pb is not None:
        return pa == pb
    if ua and ub:
        return ua == ub
    return " ".join(ca.split()) == " ".join(cb.split())


def vehicle_transfer(*, vehicle: Vehicle, new_owner: Person | None, actor: Actor, reason: str,
                     owner_company: str = "", owner_uscc: str = "", changed_on: dt.date | None = None) -> Vehicle:
    """转移登记: the vehicle changes hands (to ``new_owner``, or to a company when ``new_owner`` is None).
    Lock, check (the vehicle is in use here — normal or mortgaged — and the owner really changes), write the
    owner and the last change date (``changed_on``, default today), audit old and new, and emit
    ``registry.vehicle_owner_changed`` {vehicle_id, old_owner_id, new_owner_id} in the same transaction, so
    bindings of the old owner's circle end when it commits."""
    _require_staff(actor)
    reason = _need_reason(reason)
    owner_company = " ".join(str(owner_company or "").split())[:120]
    if new_owner is None and not owner_company:
        raise _bad("owner", "registry.owner_required", "请指定车辆所有人", "Give the vehicle's owner")
    owner_uscc = validate_uscc(owner_uscc, field="owner_uscc") if owner_uscc else ""
    changed_on = changed_on or clock.today()
    if changed_on > clock.today():
        raise _bad("changed_on", "registry.date_in_future", "变更日期不能晚于今天", "The change date cannot be in the future")
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if locked.status not in TRANSFERABLE_STATUSES:
            zh, en = _status_words(locked.status)
            raise Conflict("registry.vehicle_status", f"车辆状态为“{zh}”，不能办理转移登记",
                           f"The vehicle is {en.lower()}; it cannot change owner", field="owner")
        new_key = (new_owner.pk if new_owner else None, owner_company, owner_uscc)
        if same_owner((locked.owner_id, locked.owner_company, locked.owner_uscc), new_key):
            raise Conflict("registry.same_owner", "新所有人与现所有人相同", "The new owner is the current owner",
                           field="owner")
        old = _owner_state(locked)
        locked.owner = new_owner
        locked.owner_company = owner_company
        locked.owner_uscc = owner_uscc
        locked.last_change_date = changed_on
        locked.updated_at = clock.now()
        locked.save(update_fields=["owner", "owner_company", "owner_uscc", "last_change_date", "updated_at"])
        audit_record(actor=actor, action="vehicle.transfer", obj=locked, **_diff(old, _owner_state(locked)),
                     reason=reason, subject_person_id=locked.owner_id or old["owner_id"])
        event_emit(topic=TOPIC_VEHICLE_OWNER_CHANGED,
                   payload={"vehicle_id": locked.pk, "old_owner_id": old["owner_id"], "new_owner_id": locked.owner_id})
    for attr in ("owner", "owner_id", "owner_company", "owner_uscc", "last_change_date", "updated_at"):
        setattr(vehicle, attr, getattr(locked, attr))
    return vehicle


def vehicle_set_status(*, vehicle: Vehicle, status: str, actor: Actor, reason: str) -> Vehicle:
    """Change a vehicle's status (抵押, 查封, 被盗抢, 注销/报废, 转出, back to 正常) along ``VEHICLE_TRANSITIONS``.
    Lock, check, write, audit old and new, and emit ``registry.vehicle_status_changed`` {vehicle_id,
    old_status, new_status} in the same transaction."""
    _require_staff(actor)
    reason = _need_reason(reason)
    status = check_choice(status, Vehicle.Status.choices, field="status")
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        current = locked.status
        if status not in VEHICLE_TRANSITIONS.get(current, frozenset()):
            cur_zh, cur_en = _status_words(current)
            to_zh, to_en = _status_words(status)
            raise Conflict("registry.vehicle_status", f"车辆当前状态为“{cur_zh}”，不能变为“{to_zh}”",
                           f"The vehicle is {cur_en.lower()}; it cannot become {to_en.lower()}", field="status")
        locked.status = status
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="vehicle.set_status", obj=locked, old={"status": current},
                     new={"status": status}, reason=reason, subject_person_id=locked.owner_id)
        event_emit(topic=TOPIC_VEHICLE_STATUS_CHANGED,
                   payload={"vehicle_id": locked.pk, "old_status": current, "new_status": status})
    vehicle.status, vehicle.updated_at = locked.status, locked.updated_at
    return vehicle


# --- Plate numbers chosen online (plates app) ------------------------------------------------------------------

def vehicle_plate_assign(*, vehicle: Vehicle, plate: str, actor: Actor, reason: str,
                         expected_owner_id: int | None = None) -> Vehicle:
    """Give a vehicle the number its owner chose online (选号, called by ``plates.services.selection_confirm``).

    Lock, check, write, audit (``vehicle.plate_assign`` with the old and new number). The caller authorises:
    staff (and the system) may call it directly; for anyone else ``expected_owner_id`` is required and must be
    the vehicle's owner at the moment of the lock (so a sale in between refuses it). The number keeps the
    vehicle's plate type (an ordinary number for an ordinary plate, new-energy for new-energy) and must not be on
    any other vehicle row of the register."""
    if actor.role not in STAFF_ACTOR_ROLES and expected_owner_id is None:
        raise forbidden()
    reason = _need_reason(reason)
    plate = validate_plate(plate)
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if expected_owner_id is not None and locked.owner_id != expected_owner_id:
            raise forbidden()
        if locked.status not in TRANSFERABLE_STATUSES:
            zh, en = _status_words(locked.status)
            raise Conflict("registry.vehicle_status", f"车辆状态为“{zh}”，不能变更号牌",
                           f"The vehicle is {en.lower()}; its plate cannot change", field="plate")
        check_plate_type(plate, locked.plate_type, field="plate")
        if locked.plate == plate:
            return locked
        if Vehicle.objects.filter(plate=plate).exclude(pk=locked.pk).exists():
            raise Conflict("registry.plate_exists", "该号牌已被使用", "This plate is already in use", field="plate")
        old_plate = locked.plate
        locked.plate = plate
        locked.updated_at = clock.now()
        try:
            with transaction.atomic():
                locked.save(update_fields=["plate", "updated_at"])
        except IntegrityError:
            raise Conflict("registry.plate_exists", "该号牌已被使用", "This plate is already in use",
                           field="plate") from None
        audit_record(actor=actor, action="vehicle.plate_assign", obj=locked, old={"plate": old_plate},
                     new={"plate": plate}, reason=reason, subject_person_id=locked.owner_id)
    vehicle.plate, vehicle.updated_at = locked.plate, locked.updated_at
    return vehicle
