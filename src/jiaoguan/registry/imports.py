"""CSV import of a city's real registry records (docs/registry-import.md is the format's documentation).

``registry_import(kind=..., data=..., actor=...)`` reads one CSV file of persons, licences, vehicles or
insurance policies. Every row is validated on its own (check digits, plates, dates, references to persons and
vehicles that must already exist); a bad row is reported with its line number and every reason found, in
Chinese and English, and the good rows are loaded, each in its own savepoint, so one bad row never undoes
another. Records are upserted by their natural key (ID number, the holder's ID number for a licence, VIN,
policy number): running the same file again changes nothing. Every created record and every update of an
existing one is audited with its values, old and new (personal data masked); the import as a whole appends one
summary audit row.

The import mirrors the authoritative system the city already runs, but a change of status goes through the
registry's transition services, like a change made at a window:

- a licence's status change is one of ``licence_suspend`` / ``licence_restore`` / ``licence_revoke`` /
  ``licence_cancel`` / ``licence_expire``, each checking the life cycle: a revoked licence never becomes valid
  again, a cancelled one only when it was cancelled for not being renewed (within two years, with the new period
  in the file). An impossible move rejects the row with its line number. An empty status cell keeps a staff
  decision (suspended, revoked, cancelled) and lets the dates decide between valid, expired and cancelled.
- a vehicle's change of owner is ``vehicle_transfer`` and its change of status ``vehicle_set_status``: both
  audited and both announcing the change with an outbox event (bindings of a sold or scrapped car end).
A new record is loaded as the file gives it (there is no earlier state to move from).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import DomainError, InvalidInput
from jiaoguan.core.i18n import bi, zh_en
from jiaoguan.core.identifiers import (
    id_number_birth_date,
    id_number_is_male,
    validate_id_number,
    validate_phone,
    validate_plate,
    validate_uscc,
    validate_vin,
)
from jiaoguan.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from jiaoguan.core.outbox import records_changed
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from jiaoguan.registry.rules import TRANSFERABLE_STATUSES
from jiaoguan.registry.selectors import id_number_hash, inspection_rules
from jiaoguan.registry.services import (
    check_plate_type,
    infer_plate_type,
    inspection_due_for,
    licence_cancel,
    licence_points_imported,
    licence_restore,
    licence_set_status,
    same_owner,
    validate_classes,
    validate_file_number,
    validate_person_name,
    validate_policy_number,
    vehicle_set_status,
    vehicle_transfer,
)

KINDS = ("persons", "licences", "vehicles", "policies")
MAX_FIELD_CHARS = 500


# --- Columns ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...]
    zh: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "persons": (
        Column("id_number", True, ("身份证号码", "身份证号", "公民身份号码"), "身份证号码"),
        Column("name", True, ("姓名",), "姓名"),
        Column("phone", False, ("手机号码", "手机号", "联系电话"), "手机号码"),
        Column("address", False, ("住址", "地址", "联系地址"), "住址"),
    ),
    "licences": (
        Column("id_number", True, ("身份证号码", "身份证号", "驾驶证号"), "身份证号码"),
        Column("file_number", True, ("档案编号",), "档案编号"),
        Column("classes", True, ("准驾车型",), "准驾车型"),
        Column("first_issue_date", True, ("初次领证日期",), "初次领证日期"),
        Column("valid_from", True, ("有效期起始日期", "有效期起始", "有效期起"), "有效期起始日期"),
        Column("valid_until", False, ("有效期至", "有效期止", "有效期截止日期"), "有效期至"),
        Column("status", False, ("状态", "驾驶证状态"), "状态"),
        Column("cycle_points", False, ("累积记分", "记分"), "累积记分"),
        Column("points_cycle_start", False, ("记分周期起始日期", "记分周期起始", "本记分周期起始日期"), "记分周期起始日期"),
        Column("status_reason", False, ("注销原因", "状态原因"), "注销原因"),
        Column("probation_until", False, ("实习期至", "实习期截止日期"), "实习期至"),
        Column("probation_classes", False, ("实习准驾车型",), "实习准驾车型"),
    ),
    "vehicles": (
        Column("vin", True, ("车辆识别代号", "车架号"), "车辆识别代号"),
        Column("plate", True, ("号牌号码", "车牌号"), "号牌号码"),
        Column("plate_type", False, ("号牌种类",), "号牌种类"),
        Column("owner_id_number", False, ("所有人身份证号码", "车主身份证号码"), "所有人身份证号码"),
        Column("owner_company", False, ("所有人单位", "单位名称"), "所有人（单位）"),
        Column("owner_uscc", False, ("统一社会信用代码",), "统一社会信用代码"),
        Column("brand", True, ("品牌型号", "中文品牌"), "品牌型号"),
        Column("kind", True, ("车辆类型",), "车辆类型"),
        Column("use", True, ("使用性质",), "使用性质"),
        Column("seats", False, ("核定载客", "核定载人数"), "核定载客"),
        Column("registration_date", True, ("初次登记日期",), "初次登记日期"),
        Column("inspection_due", False, ("检验有效期至", "检验有效期止"), "检验有效期至"),
        Column("last_inspection_date", False, ("最近检验日期",), "最近检验日期"),
        Column("status", False, ("机动车状态", "状态"), "机动车状态"),
    ),
    "policies": (
        Column("policy_number", True, ("保单号", "保险单号"), "保单号"),
        Column("vin", True, ("车辆识别代号", "车架号"), "车辆识别代号"),
        Column("kind", False, ("险种",), "险种"),
        Column("insurer", True, ("保险公司",), "保险公司"),
        Column("starts_on", True, ("保险起期", "起保日期"), "保险起期"),
        Column("ends_on", True, ("保险止期", "终保日期"), "保险止期"),
    ),
}


# --- Report -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    line: int  # physical line in the file (the header is line 1); 0 for the file as a whole
    field: str  # the column, or "" for the row or file
    code: str
    zh: str
    en: str

    def __str__(self) -> str:
        where = f"第{self.line}行" if self.line else "文件"
        col = f" [{self.field}]" if self.field else ""
        return f"{where} line {self.line}{col}: {self.zh} / {self.en}"


@dataclass
class ImportReport:
    kind: str
    source: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    file_error: bool = False

    @property
    def rejected(self) -> int:
        return len({e.line for e in self.errors if e.line})

    @property
    def loaded(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        zh = (f"{self.kind}: 共{self.rows}行，新增{self.created}，更新{self.updated}，未变{self.unchanged}，"
              f"拒绝{self.rejected}" + ("（试运行，未写入）" if self.dry_run else ""))
        en = (f"{self.rows} rows: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
              f"{self.rejected} rejected" + (" (dry run, nothing written)" if self.dry_run else ""))
        return f"{zh} / {en}"


class RowInvalid(Exception):
    def __init__(self, errors: list[tuple[str, str, str, str]]):
        super().__init__(errors)
        self.errors = errors  # (field, code, zh, en)


# --- Cell parsers -------------------------------------------------------------------------------------------------

_DATE_FORMATS = (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
                 re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"), re.compile(r"(\d{4})(\d{2})(\d{2})"),
                 re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"))
_MONTH_FORMATS = (re.compile(r"(\d{4})-(\d{1,2})"), re.compile(r"(\d{4})/(\d{1,2})"), re.compile(r"(\d{4})年(\d{1,2})月"))
LONG_TERM_WORDS = frozenset({"长期", "long", "long-term", "longterm"})


def parse_date(text: str, *, field: str, allow_month: bool = False) -> dt.date:
    """YYYY-MM-DD (also YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日); with ``allow_month`` also YYYY-MM,
    meaning the last day of that month (how 检验有效期 is printed)."""
    value = text.strip()
    for pattern in _DATE_FORMATS:
        m = pattern.fullmatch(value)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    else:
        if allow_month:
            for pattern in _MONTH_FORMATS:
                m = pattern.fullmatch(value)
                if m and 1 <= int(m[2]) <= 12:
                    return rules.month_end(dt.date(int(m[1]), int(m[2]), 1))
    raise InvalidInput("import.date", f"日期“{value}”无效，应为 YYYY-MM-DD", f"“{value}” is not a valid date: use YYYY-MM-DD",
                       field=field)


def _choice(text: str, choices, *, field: str, extra: dict[str, str] | None = None) -> str:
    """A choice given by its code, its Chinese label or its English label (case-insensitive)."""
    value = text.strip()
    lookup: dict[str, str] = {}
    for code, label in choices:
        zh, en = zh_en(label)
        for key in (code, zh, en, label):
            lookup[key.lower()] = code
    lookup.update({k.lower(): v for k, v in (extra or {}).items()})
    code = lookup.get(value.lower())
    if code is None:
        codes = "、".join(c for c, _ in choices)
        raise InvalidInput("import.choice", f"“{value}”不是有效取值，可选：{codes}",
                           f"“{value}” is not a valid value; choose one of: {', '.join(c for c, _ in choices)}",
                           field=field)
    return code


def _int(text: str, *, field: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise InvalidInput("import.number", f"应为{low}至{high}之间的整数", f"Must be a whole number from {low} to {high}",
                           field=field)
    return value


class _Row:
    """One CSV row: collects every field error before giving up."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.errors: list[tuple[str, str, str, str]] = []

    def raw(self, name: str) -> str:
        return (self.values.get(name) or "").strip()

    def get(self, name: str, parse: Callable[[str], object] | None = None, *, required: bool = False):
        text = self.raw(name)
        if not text:
            if required:
                self.errors.append((name, "import.required", "此项必填", "This column is required"))
            return None
        if parse is None:
            return text
        try:
            return parse(text)
        except DomainError as exc:
            zh, en = exc.fields.get(exc.field or name, (exc.zh, exc.en)) if exc.fields else (exc.zh, exc.en)
            self.errors.append((name, exc.code, zh, en))
        except ValueError as exc:
            self.errors.append((name, "import.invalid", f"取值无效：{exc}", f"Invalid value: {exc}"))
        return None

    def error(self, name: str, code: str, zh: str, en: str) -> None:
        self.errors.append((name, code, zh, en))

    def check(self) -> None:
        if self.errors:
            raise RowInvalid(self.errors)


# --- Upserts (one per kind). Each returns "created", "updated" or "unchanged". --------------------------------------

def _person_ref(row: _Row, column: str, *, required: bool = True) -> Person | None:
    number = row.get(column, lambda t: validate_id_number(t, field=column), required=required)
    if number is None:
        return None
    person = Person.objects.filter(id_number_hash=id_number_hash(number)).first()
    if person is None:
        row.error(column, "import.person_missing", "档案中没有该身份证号码的人员，请先导入人员",
                  "No person with this ID number: import persons first")
    return person


def _apply(obj, changes: dict) -> dict:
    """Set the values that differ; return {field: (old, new)} of what changed."""
    changed = {}
    for key, value in changes.items():
        old = getattr(obj, key)
        if old != value:
            changed[key] = (old, value)
            setattr(obj, key, value)
    return changed


IMPORT_REASON = "CSV import"
IMPORTED_POINTS_SOURCE = "registry.import"


def _records_changed(obj, changed: dict | None = None) -> None:
    """Tell the citizens' read model (core.outbox.records_changed) what a created or updated row touches."""
    if isinstance(obj, Person):
        records_changed(person_ids=[obj.pk])
    elif isinstance(obj, DrivingLicence):
        records_changed(person_ids=[obj.person_id])
    elif isinstance(obj, Vehicle):  # a change of owner goes through vehicle_transfer, which tells it itself
        records_changed(vehicle_ids=[obj.pk])
    elif isinstance(obj, InsurancePolicy):
        moved = (changed or {}).get("vehicle_id")
        records_changed(vehicle_ids=[obj.vehicle_id, *(moved if moved else ())])


def _audit_update(actor: Actor, action: str, obj, changed: dict, subject: int | None,
                  mask: dict[str, Callable[[str], str]] | None = None) -> None:
    _records_changed(obj, changed)
    mask = mask or {}
    old = {k: mask.get(k, lambda v: v)(o) for k, (o, _) in changed.items()}
    new = {k: mask.get(k, lambda v: v)(n) for k, (_, n) in changed.items()}
    audit_record(actor=actor, action=action, obj=obj, old=old, new=new, reason=IMPORT_REASON,
                 subject_person_id=subject)


def _audit_create(actor: Actor, action: str, obj, values: dict, subject: int | None) -> None:
    _records_changed(obj)
    audit_record(actor=actor, action=action, obj=obj, new=values, reason=IMPORT_REASON, subject_person_id=subject)


def _refused(exc: DomainError, columns: dict[str, str] | None = None, default: str = "status") -> RowInvalid:
    """A service's refusal as this row's error, on the column it concerns."""
    field = (columns or {}).get(exc.field or "", exc.field) or default
    return RowInvalid([(field, exc.code, exc.zh, exc.en)])


def _import_person(row: _Row, actor: Actor, today: dt.date) -> str:
    number = row.get("id_number", lambda t: validate_id_number(t, field="id_number"), required=True)
    name = row.get("name", validate_person_name, required=True)
    phone = row.get("phone", lambda t: validate_phone(t, field="phone"))
    address = row.get("address", lambda t: " ".join(t.split()))
    if number is not None and id_number_birth_date(number) > today:
        row.error("id_number", "import.birth_future", "出生日期晚于今天", "The birth date is in the future")
    row.check()
    now = clock.now()
    person = Person.objects.select_for_update().filter(id_number_hash=id_number_hash(number)).first()
    if person is None:
        person = Person.objects.create(
            name=name, id_number=number, phone=phone, address=address or "",
            gender=Person.Gender.MALE if id_number_is_male(number) else Person.Gender.FEMALE,
            birth_date=id_number_birth_date(number), created_at=now, updated_at=now)
        _audit_create(actor, "person.import_create", person,
                      {"name": mask_name(name), "id_number": mask_id_number(number), "phone": mask_phone(phone),
                       "address": mask_address(address or ""), "gender": person.gender}, person.pk)
        return "created"
    changes = {"name": name}
    if phone is not None:  # an empty cell keeps what is on file
        changes["phone"] = phone
    if address is not None:
        changes["address"] = address
    changed = _apply(person, changes)
    if not changed:
        return "unchanged"
    person.updated_at = now
    person.save()
    _audit_update(actor, "person.import_update", person, changed, person.pk,
                  {"name": mask_name, "phone": mask_phone, "address": mask_address})
    return "updated"


_LICENCE_STATUS_WORDS = {"暂扣": "suspended", "满分": "suspended", "过期": "expired", "超过有效期": "expired",
                         "正常": "valid", "吊销": "revoked", "注销": "cancelled"}


_CANCEL_REASON_CHOICES = [(code, bi(zh, en)) for code, (zh, en) in rules.CANCEL_REASONS.items()]
_PERIOD_FIELDS = ("valid_from", "valid_until", "validity")


def _licence_record(licence: DrivingLicence) -> dict:
    """What the audit keeps of an imported licence (no personal data: the holder is the row's subject)."""
    return {"file_number": licence.file_number, "status": licence.status, "status_reason": licence.status_reason,
            "classes": licence.classes, "first_issue_date": licence.first_issue_date,
            "valid_from": licence.valid_from, "valid_until": licence.valid_until, "validity": licence.validity,
            "probation_until": licence.probation_until, "cycle_points": licence.cycle_points,
            "points_cycle_start": licence.points_cycle_start, "imported_points": licence.imported_points,
            "imported_points_cycle_start": licence.imported_points_cycle_start}


def _licence_move(licence: DrivingLicence, target: str, *, reason_code: str, period: tuple, actor: Actor,
                  today: dt.date) -> None:
    """Move an existing licence to the file's status through the one transition service for it."""
    try:
        if target == rules.STATUS_VALID:
            # the city's system restores a licence cancelled for expiry only after 科目一; the file's period is
            # the new one
            licence_restore(licence=licence, actor=actor, reason=IMPORT_REASON, passed_theory_test=True,
                            new_period=period)
        elif target == rules.STATUS_CANCELLED:
            code = reason_code or (rules.CANCEL_EXPIRY if rules.cancelled_for_expiry_on(licence.valid_until, today,
                                                                                        licence.postponed_until)
                                   else rules.CANCEL_OTHER)
            licence_cancel(licence=licence, actor=actor, reason=IMPORT_REASON, reason_code=code)
        else:
            licence_set_status(licence=licence, status=target, actor=actor, reason=IMPORT_REASON)
    except DomainError as exc:
        raise _refused(exc, {"reason_code": "status_reason"}) from None


def _import_licence(row: _Row, actor: Actor, today: dt.date) -> str:
    person = _person_ref(row, "id_number")
    file_number = row.get("file_number", validate_file_number, required=True)
    classes = row.get("classes", validate_classes, required=True)
    first_issue = row.get("first_issue_date", lambda t: parse_date(t, field="first_issue_date"), required=True)
    valid_from = row.get("valid_from", lambda t: parse_date(t, field="valid_from"), required=True)
    until_text = row.raw("valid_until")
    long_term = not until_text or until_text.lower() in LONG_TERM_WORDS
    valid_until = None if long_term else row.get("valid_until", lambda t: parse_date(t, field="valid_until"))
    status = row.get("status", lambda t: _choice(t, DrivingLicence.Status.choices, field="status",
                                                 extra=_LICENCE_STATUS_WORDS))
    reason_code = row.get("status_reason", lambda t: _choice(t, _CANCEL_REASON_CHOICES, field="status_reason"))
    points = row.get("cycle_points", lambda t: _int(t, field="cycle_points", low=0, high=99))
    cycle_start = row.get("points_cycle_start", lambda t: parse_date(t, field="points_cycle_start"))
    probation = row.get("probation_until", lambda t: parse_date(t, field="probation_until"))
    probation_classes = row.get("probation_classes", lambda t: validate_classes(t, field="probation_classes"))
    validity = rules.VALIDITY_LONG
    if first_issue and person is not None:
        if first_issue > today:
            row.error("first_issue_date", "import.date_future", "初次领证日期晚于今天", "The first-issue date is in the future")
        elif rules.age_on(person.birth_date, first_issue) < 18:
            row.error("first_issue_date", "import.too_young", "初次领证时未满18周岁", "The holder was under 18 at first issue")
    if first_issue and valid_from:
        if valid_from < first_issue:
            row.error("valid_from", "import.valid_from_early", "有效期起始日期早于初次领证日期",
                      "The validity start is before the first-issue date")
        elif valid_from > today:
            row.error("valid_from", "import.date_future", "有效期起始日期晚于今天", "The validity start is in the future")
    if valid_from and valid_until is not None:
        matches = [v for v in (rules.VALIDITY_6Y, rules.VALIDITY_10Y)
                   if rules.validity_until(valid_from, v) == valid_until]
        if not matches:
            row.error("valid_until", "import.validity_period", "有效期起止应相差6年或10年（长期请留空或填“长期”）",
                      "Validity must run 6 or 10 years (leave empty or write 长期 for long-term)")
        else:
            validity = matches[0]
    if first_issue and cycle_start and (cycle_start > today or not rules.is_cycle_start(first_issue, cycle_start)):
        row.error("points_cycle_start", "import.points_cycle_start",
                  "记分周期起始日期应为初次领证日期的周年日，且不晚于今天",
                  "The scoring cycle start must be an anniversary of the first-issue date, not after today")
    if reason_code and status and status != rules.STATUS_CANCELLED:
        row.error("status_reason", "import.status_reason_unexpected", "只有注销的驾驶证才有注销原因",
                  "Only a cancelled licence has a cancellation reason")
    if probation_classes and classes and not set(probation_classes) <= set(classes):
        row.error("probation_classes", "import.probation_classes", "实习准驾车型应为该驾驶证的准驾车型",
                  "The classes in probation must be classes of the licence")
    row.check()
    current_cycle = rules.scoring_cycle(first_issue, max(today, first_issue))[0]
    probation = probation or rules.probation_end(first_issue)
    probation_classes_given = bool(probation_classes)
    if not probation_classes:  # not given: a first licence's probation is every class
        probation_classes = rules.probation_classes_default(classes=classes, first_issue_date=first_issue,
                                                            probation_until=probation)
    values = {"file_number": file_number, "classes": " ".join(classes), "first_issue_date": first_issue,
              "valid_from": valid_from, "valid_until": valid_until, "validity": validity,
              "probation_until": probation, "probation_classes": " ".join(probation_classes)}
    if points is not None:  # the file's points are those of the cycle it names, else of the current one; they go
        # to the points ledger as that cycle's opening balance (IMPORTED_POINTS_SOURCE), which mirrors the card
        values["imported_points"] = points
        values["imported_points_cycle_start"] = cycle_start or current_cycle
    other = DrivingLicence.objects.filter(file_number=file_number).exclude(person=person).exists()
    if other:
        raise RowInvalid([("file_number", "import.file_number_taken", "该档案编号已属于另一名驾驶人",
                           "This file number belongs to another driver")])
    now = clock.now()
    licence = DrivingLicence.objects.select_for_update().filter(person=person).first()
    if licence is None:
        target = status or rules.effective_status(stored=rules.STATUS_VALID, valid_until=valid_until, on=today)
        if target == rules.STATUS_CANCELLED:
            expiry = rules.cancelled_for_expiry_on(valid_until, today)
            if reason_code == rules.CANCEL_EXPIRY and not expiry:
                raise RowInvalid([("status_reason", "import.cancel_reason_dates",
                                   "驾驶证超过有效期未满一年，注销原因不能为超过有效期一年以上未换证",
                                   "The licence is not more than a year past expiry: it cannot be cancelled for that")])
            reason_code = reason_code or (rules.CANCEL_EXPIRY if expiry else rules.CANCEL_OTHER)
        elif reason_code:
            raise RowInvalid([("status_reason", "import.status_reason_unexpected", "只有注销的驾驶证才有注销原因",
                               "Only a cancelled licence has a cancellation reason")])
        # a new licence has nothing in the ledger yet: its card starts at the figure the opening balance will be
        card = ({"cycle_points": points, "points_cycle_start": values["imported_points_cycle_start"]}
                if points is not None else {"cycle_points": 0, "points_cycle_start": current_cycle})
        licence = DrivingLicence.objects.create(person=person, status=target, status_reason=reason_code or "",
                                                created_at=now, updated_at=now, **values, **card)
        _audit_create(actor, "licence.import_create", licence, _licence_record(licence), person.pk)
        if points:
            licence_points_imported(licences=[(licence.pk, points, licence.imported_points_cycle_start)],
                                    source=IMPORTED_POINTS_SOURCE)
        return "created"
    # an empty status cell keeps a staff decision; between valid / expired / cancelled the dates decide
    # a postponed renewal (延期换证) stands while the file still has the period it postponed
    postponed = licence.postponed_until if valid_until == licence.valid_until else None
    target = status or rules.effective_status(stored=licence.status, valid_until=valid_until, on=today,
                                              postponed_until=postponed)
    if reason_code and target != rules.STATUS_CANCELLED:
        raise RowInvalid([("status_reason", "import.status_reason_unexpected", "只有注销的驾驶证才有注销原因",
                           "Only a cancelled licence has a cancellation reason")])
    if reason_code and licence.status == rules.STATUS_CANCELLED and reason_code != licence.status_reason:
        zh, en = rules.status_reason_label(licence.status_reason or rules.CANCEL_OTHER)
        raise RowInvalid([("status_reason", "import.status_reason_differs",
                           f"档案记载的注销原因为“{zh}”，导入不能更改",
                           f"The register records the cancellation as “{en}”; an import cannot change it")])
    if not probation_classes_given and probation == licence.probation_until:
        values["probation_classes"] = licence.probation_classes  # the record knows (e.g. a class added online)
    restoring = target == rules.STATUS_VALID and licence.status != rules.STATUS_VALID
    # back to valid: the new period is written by licence_restore, in the same audited step
    plain = {k: v for k, v in values.items() if not (restoring and k in _PERIOD_FIELDS)}
    changed = _apply(licence, plain)
    if changed:
        licence.updated_at = now
        licence.save()
        _audit_update(actor, "licence.import_update", licence, changed, person.pk)
    if {"imported_points", "imported_points_cycle_start"} & set(changed) and licence.imported_points is not None:
        # the ledger adds to what it has (violations handled here): the card is never set to the file's figure
        licence_points_imported(licences=[(licence.pk, licence.imported_points, licence.imported_points_cycle_start)],
                                source=IMPORTED_POINTS_SOURCE)
    if target != licence.status:
        _licence_move(licence, target, reason_code=reason_code or "", actor=actor, today=today,
                      period=(valid_from, valid_until, validity))
        return "updated"
    return "updated" if changed else "unchanged"


_VEHICLE_STATUS_WORDS = {"注销": "scrapped", "报废": "scrapped", "转出": "transferred", "被盗抢": "stolen"}
_VEHICLE_COLUMNS = {"owner": "owner_id_number", "owner_uscc": "owner_uscc", "status": "status"}


def _vehicle_record(vehicle: Vehicle) -> dict:
    return {"vin": vehicle.vin, "plate": vehicle.plate, "plate_type": vehicle.plate_type, "owner_id": vehicle.owner_id,
            "owner_company": vehicle.owner_company, "owner_uscc": vehicle.owner_uscc, "kind": vehicle.kind,
            "use": vehicle.use, "registration_date": vehicle.registration_date,
            "inspection_due": vehicle.inspection_due, "last_inspection_date": vehicle.last_inspection_date,
            "status": vehicle.status}


def _import_vehicle(row: _Row, actor: Actor, today: dt.date) -> str:
    vin = row.get("vin", lambda t: validate_vin(t, field="vin"), required=True)
    plate = row.get("plate", lambda t: validate_plate(t, field="plate"), required=True)
    kind = row.get("kind", lambda t: _choice(t, Vehicle.Kind.choices, field="kind"), required=True)
    use = row.get("use", lambda t: _choice(t, Vehicle.Use.choices, field="use"), required=True)
    plate_type = row.get("plate_type", lambda t: _choice(t, Vehicle.PlateType.choices, field="plate_type"))
    if plate and plate_type:
        try:
            check_plate_type(plate, plate_type)
        except InvalidInput as exc:
            row.error("plate_type", exc.code, exc.zh, exc.en)
    owner = _person_ref(row, "owner_id_number", required=False) if row.raw("owner_id_number") else None
    company = row.raw("owner_company")[:120]
    uscc = row.get("owner_uscc", lambda t: validate_uscc(t, field="owner_uscc"))
    if not row.raw("owner_id_number") and not company:
        row.error("owner_id_number", "import.owner_required", "请填写所有人身份证号码或所有人单位",
                  "Give the owner's ID number or the owning company")
    brand = row.get("brand", lambda t: " ".join(t.split())[:60], required=True)
    seats = row.get("seats", lambda t: _int(t, field="seats", low=0, high=99))
    registered = row.get("registration_date", lambda t: parse_date(t, field="registration_date"), required=True)
    due = row.get("inspection_due", lambda t: parse_date(t, field="inspection_due", allow_month=True))
    last = row.get("last_inspection_date", lambda t: parse_date(t, field="last_inspection_date"))
    status = row.get("status", lambda t: _choice(t, Vehicle.Status.choices, field="status",
                                                 extra=_VEHICLE_STATUS_WORDS))
    if registered and registered > today:
        row.error("registration_date", "import.date_future", "初次登记日期晚于今天", "The registration date is in the future")
    if registered and last and last < registered:
        row.error("last_inspection_date", "import.inspection_before_registration", "最近检验日期早于初次登记日期",
                  "The last inspection is before the registration")
    if registered and due and due < registered:
        row.error("inspection_due", "import.due_before_registration", "检验有效期早于初次登记日期",
                  "The inspection due date is before the registration")
    if not row.errors and due is None:
        # no due date in the file: from the last inspection, or from registration while the first one is ahead
        rule_rows = inspection_rules()
        try:
            if last is not None:
                satisfied = rules.inspection_point_on(registration_date=registered, kind=kind, use=use, rules=rule_rows,
                                                      due=last)
                due = inspection_due_for(registration_date=registered, kind=kind, use=use,
                                         after=satisfied.due if satisfied else last, rule_rows=rule_rows)
            else:
                due = inspection_due_for(registration_date=registered, kind=kind, use=use, rule_rows=rule_rows)
                if due < today:
                    row.error("inspection_due", "import.inspection_due_required",
                              "该车已过首次检验日期，请填写检验有效期至或最近检验日期",
                              "The vehicle is past its first inspection: give inspection_due or last_inspection_date")
        except InvalidInput as exc:
            row.error("kind", exc.code, exc.zh, exc.en)
    row.check()
    plate_type = plate_type or infer_plate_type(plate, kind)
    if Vehicle.objects.filter(plate=plate, plate_type=plate_type).exclude(vin=vin).exists():
        raise RowInvalid([("plate", "import.plate_taken", "该号牌已属于另一辆车", "This plate belongs to another vehicle")])
    values = {"plate": plate, "plate_type": plate_type, "brand": brand, "kind": kind, "use": use,
              "registration_date": registered, "inspection_due": due, "last_inspection_date": last}
    if seats is not None:
        values["seats"] = seats
    now = clock.now()
    vehicle = Vehicle.objects.select_for_update().filter(vin=vin).first()
    if vehicle is None:
        values.setdefault("seats", {"small_car": 5, "bus": 45, "truck": 3, "trailer": 0, "motorcycle": 2}[kind])
        vehicle = Vehicle.objects.create(vin=vin, owner=owner, owner_company=company, owner_uscc=uscc or "",
                                         status=status or Vehicle.Status.NORMAL, created_at=now, updated_at=now,
                                         **values)
        _audit_create(actor, "vehicle.import_create", vehicle, _vehicle_record(vehicle), vehicle.owner_id)
        return "created"
    sold = not same_owner((vehicle.owner_id, vehicle.owner_company, vehicle.owner_uscc),
                          (owner.pk if owner else None, company, uscc or ""))
    if not sold:  # the same owner: its company name or USCC written differently is a plain correction
        values.update({"owner_company": company, "owner_uscc": uscc or ""})
    changed = _apply(vehicle, values)
    if changed:
        vehicle.updated_at = now
        vehicle.save()
        _audit_update(actor, "vehicle.import_update", vehicle, changed, vehicle.owner_id)
    new_status = status if status is not None and status != vehicle.status else None
    # a car coming back into use (transferred back in, released) changes status before it can change hands
    status_first = new_status is not None and vehicle.status not in TRANSFERABLE_STATUSES
    try:
        if status_first:
            vehicle_set_status(vehicle=vehicle, status=new_status, actor=actor, reason=IMPORT_REASON)
        if sold:
            vehicle_transfer(vehicle=vehicle, new_owner=owner, owner_company=company, owner_uscc=uscc or "",
                             actor=actor, reason=IMPORT_REASON, changed_on=today)
        if new_status is not None and not status_first:
            vehicle_set_status(vehicle=vehicle, status=new_status, actor=actor, reason=IMPORT_REASON)
    except DomainError as exc:
        raise _refused(exc, _VEHICLE_COLUMNS) from None
    return "updated" if changed or sold or new_status else "unchanged"


def _import_policy(row: _Row, actor: Actor, today: dt.date) -> str:
    number = row.get("policy_number", validate_policy_number, required=True)
    vin = row.get("vin", lambda t: validate_vin(t, field="vin"), required=True)
    kind = (row.get("kind", lambda t: _choice(t, InsurancePolicy.Kind.choices, field="kind"))
            or InsurancePolicy.Kind.COMPULSORY)
    insurer = row.get("insurer", lambda t: " ".join(t.split())[:60], required=True)
    starts = row.get("starts_on", lambda t: parse_date(t, field="starts_on"), required=True)
    ends = row.get("ends_on", lambda t: parse_date(t, field="ends_on"), required=True)
    vehicle = None
    if vin is not None:
        vehicle = Vehicle.objects.filter(vin=vin).first()
        if vehicle is None:
            row.error("vin", "import.vehicle_missing", "档案中没有该车辆识别代号的车辆，请先导入车辆",
                      "No vehicle with this VIN: import vehicles first")
    if starts and ends:
        if ends < starts:
            row.error("ends_on", "import.policy_dates", "保险止期早于起期", "The policy ends before it starts")
        elif kind == InsurancePolicy.Kind.COMPULSORY and ends > rules.add_years(starts, 1):
            row.error("ends_on", "import.policy_too_long", "交强险保险期间最长一年", "A compulsory policy lasts at most one year")
    row.check()
    if kind == InsurancePolicy.Kind.COMPULSORY:
        overlap = (InsurancePolicy.objects.filter(vehicle=vehicle, kind=kind, starts_on__lte=ends, ends_on__gte=starts)
                   .exclude(policy_number=number))
        if overlap.exists():
            raise RowInvalid([("starts_on", "import.policy_overlap", "该车辆在此期间已有另一张交强险保单",
                               "The vehicle has another compulsory policy covering part of this period")])
    values = {"vehicle": vehicle, "kind": kind, "insurer": insurer, "starts_on": starts, "ends_on": ends}
    policy = InsurancePolicy.objects.select_for_update().filter(policy_number=number).first()
    if policy is None:
        policy = InsurancePolicy.objects.create(policy_number=number, created_at=clock.now(), **values)
        _audit_create(actor, "policy.import_create", policy,
                      {"policy_number": number, "vehicle_id": vehicle.pk, "kind": kind, "insurer": insurer,
                       "starts_on": starts, "ends_on": ends}, vehicle.owner_id)
        return "created"
    changed = _apply(policy, values)
    if not changed:
        return "unchanged"
    if "vehicle" in changed:
        old, new = changed.pop("vehicle")
        changed["vehicle_id"] = (old.pk, new.pk)
    policy.save()
    _audit_update(actor, "policy.import_update", policy, changed, vehicle.owner_id)
    return "updated"


IMPORTERS: dict[str, Callable[[_Row, Actor, dt.date], str]] = {
    "persons": _import_person, "licences": _import_licence, "vehicles": _import_vehicle, "policies": _import_policy,
}


# --- Reading the file ---------------------------------------------------------------------------------------------

def decode(data: bytes, encoding: str | None = None) -> str:
    """UTF-8 with or without a BOM by default; another encoding (e.g. gb18030) when named. Raises InvalidInput
    naming the line of the first undecodable byte."""
    codec = encoding or "utf-8-sig"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidInput("import.encoding", f"第{line}行不是{codec}编码；请另存为UTF-8，或用 --encoding gb18030 指定编码",
                           f"Line {line} is not valid {codec}: save the file as UTF-8, or pass --encoding gb18030",
                           field="file") from None
    except LookupError:
        raise InvalidInput("import.encoding", f"未知编码“{codec}”", f"Unknown encoding “{codec}”",
                           field="encoding") from None


def _header_map(kind: str, header: list[str]) -> tuple[dict[int, str], list[str], list[str]]:
    """Column index -> canonical name; missing required columns; ignored headers."""
    names: dict[str, str] = {}
    for col in COLUMNS[kind]:
        for alias in (col.name, *col.aliases):
            names[alias.strip().lower()] = col.name
    mapping: dict[int, str] = {}
    ignored = []
    for index, raw in enumerate(header):
        key = raw.strip().lstrip("\ufeff").strip().lower()
        name = names.get(key)
        if name is None or name in mapping.values():
            if key:
                ignored.append(raw.strip())
            continue
        mapping[index] = name
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in mapping.values()]
    return mapping, missing, ignored


class _CsvBroken(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line of the row, values); quoted values may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvBroken(start, str(exc)) from None
        end = reader.line_num
        yield start, values


def registry_import(*, kind: str, data: bytes, actor: Actor, encoding: str | None = None, dry_run: bool = False,
                    source: str = "", today: dt.date | None = None) -> ImportReport:
    """Import one CSV file of ``kind`` (persons, licences, vehicles, policies); see the module docstring."""
    if kind not in IMPORTERS:
        raise InvalidInput("import.kind", f"未知的导入类型“{kind}”，可选：{'、'.join(KINDS)}",
                           f"Unknown import kind “{kind}”; choose one of: {', '.join(KINDS)}", field="kind")
    report = ImportReport(kind=kind, source=source, dry_run=dry_run)
    today = today or clock.today()

    def file_error(code: str, zh: str, en: str, line: int = 0) -> ImportReport:
        report.errors.append(RowError(line, "", code, zh, en))
        report.file_error = True
        return report

    try:
        text = decode(data, encoding)
    except InvalidInput as exc:
        return file_error(exc.code, exc.zh, exc.en)
    rows = _rows(text)
    try:
        header_line, header = next(rows)
    except StopIteration:
        return file_error("import.empty", "文件为空", "The file is empty")
    except _CsvBroken as exc:
        return file_error("import.csv", f"CSV格式错误：{exc}", f"Malformed CSV: {exc}", exc.line)
    mapping, missing, ignored = _header_map(kind, header)
    if missing:
        cols = ", ".join(missing)
        return file_error("import.columns_missing", f"缺少必需的列：{cols}", f"Required columns are missing: {cols}",
                          header_line)
    if ignored:
        report.notes.append(f"忽略的列 ignored columns: {', '.join(ignored)}")
    importer = IMPORTERS[kind]
    width = len(header)

    with transaction.atomic():
        while True:
            try:
                line, values = next(rows)
            except StopIteration:
                break
            except _CsvBroken as exc:  # e.g. a quote never closed: the rest of the file cannot be read
                report.errors.append(RowError(exc.line, "", "import.csv", f"CSV格式错误，之后的内容无法读取：{exc}",
                                              f"Malformed CSV, the rest of the file cannot be read: {exc}"))
                report.file_error = True
                break
            if not any(v.strip() for v in values):
                continue  # blank line
            report.rows += 1
            if len(values) > width and any(v.strip() for v in values[width:]):
                report.errors.append(RowError(line, "", "import.too_many_values", f"本行有{len(values)}个值，表头只有{width}列",
                                              f"The row has {len(values)} values but the header has {width} columns"))
                continue
            too_long = [mapping[i] for i, v in enumerate(values) if i in mapping and len(v) > MAX_FIELD_CHARS]
            if too_long:
                report.errors.append(RowError(line, too_long[0], "import.too_long", "内容过长", "The value is too long"))
                continue
            row = _Row({name: values[i] if i < len(values) else "" for i, name in mapping.items()})
            try:
                with transaction.atomic():
                    outcome = importer(row, actor, today)
            except RowInvalid as exc:
                report.errors.extend(RowError(line, f, code, zh, en) for f, code, zh, en in exc.errors)
                continue
            except DomainError as exc:
                report.errors.append(RowError(line, exc.field or "", exc.code, exc.zh, exc.en))
                continue
            except IntegrityError:
                report.errors.append(RowError(line, "", "import.conflict", "与档案中已有记录冲突（重复的号码）",
                                              "Conflicts with an existing record (a duplicate number)"))
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
        audit_record(actor=actor, action="registry.import", object_type="registry.import", object_id=kind,
                     new={"kind": kind, "source": source[:200], "sha256": hashlib.sha256(data).hexdigest(),
                          "rows": report.rows, "created": report.created, "updated": report.updated,
                          "unchanged": report.unchanged, "rejected": report.rejected, "dry_run": dry_run})
        if dry_run:
            transaction.set_rollback(True)
    return report
