"""Drivers' health checks (机动车驾驶人身体条件证明) received from hospitals over the signed partner API, and the
question licence business asks: "is there a valid health check for this person on this day?".

Receiving (``health_check_receive``): the hospital sends the person's ID number and name; the person must be in
the registry and the name must match the registry's (compared through the keyed lookup hash); the record is
idempotent per hospital and record number: the same content again is a repeat (200), different content a
conflict (409, recorded in the audit log, nothing changed). Every receipt — new, repeat or conflict — is audited
with the person as subject; the audit row holds no name, ID number or conditions text.

Validity: a health check for licence business is valid for ``VALID_MONTHS`` (6) months from the examination day:
examined on 20 May, valid to 19 November inclusive. Fixed on the record (``valid_until``) when it is received.

Which record counts (``health_check_valid_for``): among the person's records examined on or before the day and
still valid that day, the NEWEST decides. If it is "unfit" there is no valid health check (a later unfit finding
overrides an earlier fit one, whichever hospital made it); "fit" and "fit with conditions" count. For the classes
of 公安部令第162号 Art. 14 with stricter conditions (``STRICT_CLASSES``: A1 A2 A3 B1 B2 N P) the record must also
show both eyes at ``STRICT_MIN_VISION`` (5.0 on the logarithmic chart, corrected vision allowed), normal hearing
(no hearing aid) and normal limbs; for the other classes the hospital's conclusion is trusted (it applies the 4.9
vision line and the one-eye and hearing-aid allowances for small cars). Red-green colour blindness is refused for
every class.

Settings: an optional ``JIAOGUAN_HEALTH_CHECKS`` dict overrides ``DEFAULTS``.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, InvalidInput
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.identifiers import validate_id_number
from jiaoguan.registry import rules
from jiaoguan.registry.models import HealthCheck, Partner, Person
from jiaoguan.registry.selectors import person_by_id_number
from jiaoguan.registry.services import validate_person_name

log = logging.getLogger(__name__)

DEFAULTS: dict = {
    "VALID_MONTHS": 6,                                           # 身体条件证明 valid 6 months from the examination
    "STRICT_CLASSES": ("A1", "A2", "A3", "B1", "B2", "N", "P"),  # 162号令 Art. 14: vision 5.0, no hearing aid
    "STRICT_MIN_VISION": "5.0",
    "VISION_MIN": "3.0",                                         # the logarithmic chart's range accepted as input
    "VISION_MAX": "5.3",
}


def conf(name: str):
    overrides = settings.JIAOGUAN_HEALTH_CHECKS or {}
    return overrides.get(name, DEFAULTS[name])


_RECORD_NUMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]{0,39}")
CONDITIONS_MAX = 200


def valid_until_for(examined_on: dt.date) -> dt.date:
    """The last day a health check examined on ``examined_on`` may be used (inclusive)."""
    return rules.add_months(examined_on, int(conf("VALID_MONTHS"))) - dt.timedelta(days=1)


# --- receiving --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    health_check: HealthCheck
    created: bool
    conflict: bool = False  # a repeat of the record number with different content: nothing changed


def conflict_error() -> Conflict:
    return Conflict("registry.health_check_conflict", "该体检编号已提交过不同的内容",
                    "This record number was already sent with different content", field="record_number")


class _Errors:
    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, field: str, code: str, zh: str, en: str) -> None:
        self.errors.append(InvalidInput(code, zh, en, field=field))

    def catch(self, exc: DomainError) -> None:
        self.errors.append(exc)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            fields: dict[str, tuple[str, str]] = {}
            for e in self.errors:
                for name, msgs in e.fields.items():
                    fields.setdefault(name, msgs)
            raise InvalidInput("registry.health_check_invalid", "体检记录有误，请检查标出的项目",
                               "The health-check record is invalid; see the fields", fields=fields)


def _vision(value, field: str, errors: _Errors) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        number = None
    low, high = Decimal(conf("VISION_MIN")), Decimal(conf("VISION_MAX"))
    if number is None or not number.is_finite() or number.as_tuple().exponent < -1 or not low <= number <= high:
        errors.add(field, "registry.vision_invalid", f"视力应为对数视力表数值（{low}至{high}，保留一位小数）",
                   f"Vision is a logarithmic-chart value from {low} to {high} with one decimal")
        return None
    return number.quantize(Decimal("0.1"))


def _clean(*, record_number, id_number, name, examined_on, result, conditions, vision_left, vision_right) -> dict:
    errors = _Errors()
    record_number = str(record_number or "").strip()
    if not _RECORD_NUMBER_RE.fullmatch(record_number):
        errors.add("record_number", "registry.record_number_invalid", "体检编号应为1至40位字母、数字或 -_/.",
                   "A record number has 1–40 letters, digits or -_/.")
    person = None
    try:
        id_number = validate_id_number(id_number, field="id_number")
    except DomainError as exc:
        errors.catch(exc)
    else:
        person = person_by_id_number(id_number=id_number)
        if person is None:
            errors.add("id_number", "registry.person_unknown", "登记档案中没有此身份证号码的人员",
                       "No person with this ID number is in the registry")
    try:
        name = validate_person_name(name, field="name")
    except DomainError as exc:
        errors.catch(exc)
    else:
        if person is not None and EncryptedField.hash_of(Person, "name", name) != person.name_hash:
            errors.add("name", "registry.name_mismatch", "姓名与身份证号码登记的姓名不一致",
                       "The name does not match the registered name for this ID number")
    if not isinstance(examined_on, dt.date) or isinstance(examined_on, dt.datetime):
        errors.add("examined_on", "registry.date_invalid", "体检日期格式应为 YYYY-MM-DD",
                   "The examination date must be YYYY-MM-DD")
    elif examined_on > clock.today():
        errors.add("examined_on", "registry.date_in_future", "体检日期不能晚于今天",
                   "The examination date cannot be in the future")
    elif person is not None and examined_on < person.birth_date:
        errors.add("examined_on", "registry.date_before_birth", "体检日期早于出生日期",
                   "The examination date is before the birth date")
    result = str(result or "").strip()
    if result not in HealthCheck.Result.values:
        errors.add("result", "registry.result_invalid", f"结论应为：{'、'.join(HealthCheck.Result.values)}",
                   f"The result is one of: {', '.join(HealthCheck.Result.values)}")
    conditions = " ".join(str(conditions or "").split())
    if len(conditions) > CONDITIONS_MAX:
        errors.add("conditions", "registry.conditions_too_long", f"限制条件不超过{CONDITIONS_MAX}字",
                   f"Conditions take at most {CONDITIONS_MAX} characters")
    elif result == HealthCheck.Result.FIT_WITH_CONDITIONS and not conditions:
        errors.add("conditions", "registry.conditions_required", "有条件合格须写明限制条件（如：驾车时须戴眼镜）",
                   "Fit with conditions needs the conditions (e.g. corrective lenses)")
    elif result == HealthCheck.Result.FIT and conditions:
        errors.add("conditions", "registry.conditions_unexpected", "合格的记录不应有限制条件，请使用“有条件合格”",
                   "A fit record has no conditions; use fit_with_conditions")
    left = _vision(vision_left, "vision_left", errors)
    right = _vision(vision_right, "vision_right", errors)
    errors.raise_any()
    return {"person": person, "record_number": record_number, "examined_on": examined_on, "result": result,
            "conditions": conditions, "vision_left": left, "vision_right": right}


def _content(hc: HealthCheck) -> dict:
    """What makes two submissions of a record number the same record."""
    return {"person_id": hc.person_id, "examined_on": hc.examined_on, "result": hc.result,
            "conditions": hc.conditions, "vision_left": Decimal(hc.vision_left).quantize(Decimal("0.1")),
            "vision_right": Decimal(hc.vision_right).quantize(Decimal("0.1")),
            "colour_vision_normal": hc.colour_vision_normal, "hearing_normal": hc.hearing_normal,
            "limbs_normal": hc.limbs_normal}


def _summary(hc: HealthCheck) -> dict:
    # the audit log must not become a copy of medical data: the record's identity and conclusion only
    return {"hospital": hc.hospital.key_id, "record_number": hc.record_number, "examined_on": hc.examined_on,
            "result": hc.result, "valid_until": hc.valid_until}


def partner_actor(partner: Partner) -> Actor:
    return Actor(id=None, label=f"partner:{partner.key_id}", role="partner")


def health_check_receive(*, hospital: Partner, record_number: str, id_number: str, name: str,
                         examined_on: dt.date, result: str, vision_left, vision_right, colour_vision_normal: bool,
                         hearing_normal: bool, limbs_normal: bool, conditions: str = "",
                         actor: Actor | None = None) -> Received:
    """Store a hospital's health-check record (idempotent per hospital and record number). Invalid input raises
    InvalidInput with field messages and writes nothing; a conflicting repeat returns ``conflict=True`` (the
    caller answers 409 with ``conflict_error()``) after auditing the attempt."""
    if hospital.kind != Partner.Kind.HOSPITAL:
        raise InvalidInput("registry.not_a_hospital", "只有医院可以提交体检记录", "Only hospitals send health checks")
    values = _clean(record_number=record_number, id_number=id_number, name=name, examined_on=examined_on,
                    result=result, conditions=conditions, vision_left=vision_left, vision_right=vision_right)
    actor = actor or partner_actor(hospital)
    candidate = HealthCheck(hospital=hospital, colour_vision_normal=bool(colour_vision_normal),
                            hearing_normal=bool(hearing_normal), limbs_normal=bool(limbs_normal),
                            valid_until=valid_until_for(values["examined_on"]), received_at=clock.now(), **values)
    person = values["person"]
    with transaction.atomic():
        existing = HealthCheck.objects.filter(hospital=hospital, record_number=candidate.record_number).first()
        if existing is None:
            try:
                with transaction.atomic():
                    candidate.save(force_insert=True)
            except IntegrityError:
                # the same record sent at the same moment: the other request's row is committed now
                existing = HealthCheck.objects.get(hospital=hospital, record_number=candidate.record_number)
            else:
                audit_record(actor=actor, action="health_check.receive", obj=candidate, new=_summary(candidate),
                             subject_person_id=person.pk)
                return Received(candidate, created=True)
        differs = sorted(k for k, v in _content(candidate).items() if _content(existing)[k] != v)
        if not differs:
            audit_record(actor=actor, action="health_check.receive_repeat", obj=existing, new=_summary(existing),
                         subject_person_id=existing.person_id)
            return Received(existing, created=False)
        audit_record(actor=actor, action="health_check.receive_conflict", obj=existing,
                     new={"differs": differs, "record_number": existing.record_number},
                     reason="同一体检编号内容不同，未更改 same record number, different content: nothing changed",
                     subject_person_id=existing.person_id)
        log.warning("health check %s from %s sent again with different %s", existing.record_number,
                    hospital.key_id, ", ".join(differs))
        return Received(existing, created=False, conflict=True)


# --- reading ----------------------------------------------------------------------------------------------------

def health_checks_for(*, person: Person) -> QuerySet[HealthCheck]:
    """The person's health checks, newest examination first."""
    return (HealthCheck.objects.filter(person=person).select_related("hospital")
            .order_by("-examined_on", "-received_at", "-id"))


def strict_classes_in(licence_classes: str | list[str] | None) -> list[str]:
    """The classes among ``licence_classes`` ('A2 D', ['C1']) with the stricter conditions (ValueError if unknown)."""
    if not licence_classes:
        return []
    strict = set(conf("STRICT_CLASSES"))
    return [c for c in rules.parse_classes(licence_classes) if c in strict]


def health_check_meets(*, health_check: HealthCheck, licence_classes: str | list[str] | None = None) -> bool:
    """Whether the record's conclusion and measurements are enough for these classes (rules in the module doc)."""
    if health_check.result == HealthCheck.Result.UNFIT or not health_check.colour_vision_normal:
        return False
    if strict_classes_in(licence_classes):
        minimum = Decimal(conf("STRICT_MIN_VISION"))
        return (Decimal(health_check.vision_left) >= minimum and Decimal(health_check.vision_right) >= minimum
                and health_check.hearing_normal and health_check.limbs_normal)
    return True


def health_check_valid_for(*, person: Person, on: dt.date, licence_classes: str | None = None) -> HealthCheck | None:
    """The health check that makes ``person`` fit to drive ``licence_classes`` on day ``on``, or None: the newest
    record examined on or before ``on`` and valid that day, if it is fit (see the module doc for the rules)."""
    classes = rules.parse_classes(licence_classes) if licence_classes else None  # ValueError on unknown classes
    newest = health_checks_for(person=person).filter(examined_on__lte=on, valid_until__gte=on).first()
    if newest is None or not health_check_meets(health_check=newest, licence_classes=classes):
        return None
    return newest
