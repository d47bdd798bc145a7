"""Shared by the registry's services: the staff check, the audit diff, field errors, the reason every change needs,
and the field checks shared with the CSV import (registry.imports)."""
from __future__ import annotations

import re

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.identifiers import plate_kind
from jiaoguan.identity.roles import require
from jiaoguan.registry import rules
from jiaoguan.registry.models import Vehicle

_LETTER = r"\u3400-\u9fff\uf900-\ufaffA-Za-z"  # CJK ideographs and Latin letters
_NAME_RE = re.compile(rf"[{_LETTER}][{_LETTER}·• ]{{0,38}}[{_LETTER}]")
_POLICY_RE = re.compile(r"[A-Z0-9][A-Z0-9\-]{5,39}")
_FILE_NUMBER_RE = re.compile(r"[0-9]{12}")


def _diff(old: dict, new: dict) -> dict:
    """The audit's old/new: only the values that changed."""
    return {"old": {k: v for k, v in old.items() if new[k] != v}, "new": {k: v for k, v in new.items() if old[k] != v}}



def _require_staff(actor: Actor) -> None:
    """Staff who handle records (identity.roles "registry.edit"), and the system (imports, sweeps)."""
    require(actor, "registry.edit")


def _bad(field: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)



def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _bad("reason", "registry.reason_required", "请填写原因", "Give the reason")
    return reason


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
    nev: dict[str, str] = {Vehicle.PlateType.NEV_SMALL: "nev_small", Vehicle.PlateType.NEV_LARGE: "nev_large"}
    if (plate_type in nev) != (shape in ("nev_small", "nev_large")) or (plate_type in nev and nev[plate_type] != shape):
        raise _bad(field, "registry.plate_type_mismatch", "号牌种类与号牌号码不符（新能源号牌为6位）",
                   "The plate type does not match the plate number (new-energy plates have 6 characters)")
    return plate_type

