"""Held-material providers backed by the registry (免提交: the applicant is not asked for what we hold)."""
from __future__ import annotations

from jiaoguan.applications.hooks import Held, RuleContext, held_material
from jiaoguan.core import clock
from jiaoguan.registry import selectors as registry
from jiaoguan.registry.health import health_check_valid_for


@held_material("registry.person")
def held_identity(ctx: RuleContext) -> Held | None:
    """The applicant's identity record (身份证明), held once the account is real-name verified."""
    person = ctx.person
    if person is None or getattr(ctx.user, "real_name_verified_at", None) is None:
        return None
    return Held(f"registry.person:{person.pk}", "居民身份证信息（实名认证）", "Identity card record (real-name verified)")


@held_material("registry.licence")
def held_licence(ctx: RuleContext) -> Held | None:
    """The applicant's driving licence record."""
    person = ctx.person
    licence = registry.licence_for_person(person=person) if person is not None else None
    if licence is None:
        return None
    until = licence.valid_until.isoformat() if licence.valid_until else "长期"
    until_en = licence.valid_until.isoformat() if licence.valid_until else "long-term"
    return Held(f"registry.licence:{licence.pk}",
                f"机动车驾驶证（准驾车型{licence.classes}，有效期至{until}）",
                f"Driving licence (classes {licence.classes}, valid until {until_en})",
                {"classes": licence.classes, "valid_until": until, "status": licence.status})


@held_material("registry.vehicle")
def held_vehicle(ctx: RuleContext) -> Held | None:
    """The registration record of the vehicle named in the form field ``plate``, if the applicant owns it."""
    plate = ctx.data.get("plate")
    person = ctx.person
    if not plate or person is None:
        return None
    vehicle = registry.vehicle_by_plate(plate=str(plate))
    if vehicle is None or vehicle.owner_id != person.pk:
        return None
    return Held(f"registry.vehicle:{vehicle.pk}", f"机动车登记信息（{vehicle.plate}）",
                f"Vehicle registration record ({vehicle.plate})", {"plate": vehicle.plate, "kind": vehicle.kind})


@held_material("registry.health_check")
def held_health_check(ctx: RuleContext) -> Held | None:
    """A health-check record (机动车驾驶人身体条件证明) a hospital sent through the partner API, valid today and
    fit for the applicant's licence classes (registry.health decides fitness). The paper form is not asked for."""
    person = ctx.person
    if person is None:
        return None
    licence = registry.licence_for_person(person=person)
    record = health_check_valid_for(person=person, on=clock.today(),
                                    licence_classes=licence.classes if licence is not None else None)
    if record is None:
        return None
    return Held(f"registry.health_check:{record.pk}",
                f"身体条件证明（体检编号{record.record_number}，有效期至{record.valid_until:%Y-%m-%d}）",
                f"Health-check certificate (no. {record.record_number}, valid until {record.valid_until:%Y-%m-%d})",
                {"record_number": record.record_number, "examined_on": record.examined_on.isoformat(),
                 "valid_until": record.valid_until.isoformat(), "result": record.result})
