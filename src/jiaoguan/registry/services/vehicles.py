"""Vehicles and their insurance: registration, policies, inspections, ownership (转移登记), status
(``rules.VEHICLE_TRANSITIONS``) and the plate chosen online. Ownership and status changes each write an outbox
event in their transaction (``registry.vehicle_owner_changed``, ``registry.vehicle_status_changed``) so other
apps (bindings) can react."""
from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, forbidden
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import validate_plate, validate_uscc, validate_vin
from jiaoguan.core.outbox import event_emit, records_changed
from jiaoguan.registry import rules
from jiaoguan.registry.models import InsurancePolicy, Person, Vehicle
from jiaoguan.registry.rules import TRANSFERABLE_STATUSES, VEHICLE_TRANSITIONS
from jiaoguan.registry.selectors import compulsory_periods, inspection_rules
from jiaoguan.registry.services._helpers import (
    _bad,
    _diff,
    _need_reason,
    _require_staff,
    check_choice,
    check_plate_type,
    infer_plate_type,
    validate_policy_number,
)

TOPIC_VEHICLE_OWNER_CHANGED = "registry.vehicle_owner_changed"
TOPIC_VEHICLE_STATUS_CHANGED = "registry.vehicle_status_changed"
DEFAULT_SEATS: dict[str, int] = {
    Vehicle.Kind.SMALL_CAR: 5, Vehicle.Kind.BUS: 45, Vehicle.Kind.TRUCK: 3, Vehicle.Kind.TRAILER: 0,
    Vehicle.Kind.MOTORCYCLE: 2,
}


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
        records_changed(vehicle_ids=[vehicle.pk])
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
        records_changed(vehicle_ids=[locked.pk])
        audit_record(actor=actor, action="policy.add", obj=policy,
                     new={"vehicle_id": locked.pk, "policy_number": number, "kind": kind, "insurer": insurer,
                          "starts_on": starts_on, "ends_on": ends_on}, subject_person_id=locked.owner_id)
    return policy


def vehicle_record_inspection(*, vehicle: Vehicle, inspected_on: dt.date, actor: Actor) -> Vehicle:
    """A passed inspection (or an online mark for an exempt year): the next due date moves to the schedule
    point after both the current due date and the inspection day. Needs valid compulsory insurance that day
    and is refused more than 90 days before the due date."""
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
        refusal = rules.inspection_date_refusal(due=locked.inspection_due, inspected_on=inspected_on,
                                                on=clock.today())
        if refusal is not None:
            raise Conflict("registry.inspection_too_early", refusal[1], refusal[2])
        old = _vehicle_state(locked)
        locked.inspection_due = inspection_due_for(registration_date=locked.registration_date, kind=locked.kind,
                                                   use=locked.use, after=max(locked.inspection_due, inspected_on))
        locked.last_inspection_date = inspected_on
        locked.updated_at = clock.now()
        locked.save(update_fields=["inspection_due", "last_inspection_date", "updated_at"])
        records_changed(vehicle_ids=[locked.pk])
        new = _vehicle_state(locked)
        audit_record(actor=actor, action="vehicle.inspect", obj=locked,
                     **_diff(old, new),
                     subject_person_id=locked.owner_id)
    vehicle.inspection_due, vehicle.last_inspection_date = locked.inspection_due, locked.last_inspection_date
    vehicle.updated_at = locked.updated_at
    return vehicle


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
            zh, en = VEHICLE_TRANSITIONS.label(locked.status)
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
        # the new owner's and the bound accounts (by the vehicle), and the previous owner's, who no longer has it
        records_changed(vehicle_ids=[locked.pk], person_ids=[old["owner_id"]] if old["owner_id"] else [])
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
        if not VEHICLE_TRANSITIONS.allows(current, status):
            # the registry's own wording (lower-case states in English), not StateMachine.check's
            (cur_zh, cur_en), (to_zh, to_en) = VEHICLE_TRANSITIONS.label(current), VEHICLE_TRANSITIONS.label(status)
            raise Conflict(VEHICLE_TRANSITIONS.code, f"车辆当前状态为“{cur_zh}”，不能变为“{to_zh}”",
                           f"The vehicle is {cur_en.lower()}; it cannot become {to_en.lower()}", field="status")
        locked.status = status
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "updated_at"])
        records_changed(vehicle_ids=[locked.pk])
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
    if expected_owner_id is None:
        _require_staff(actor)
    reason = _need_reason(reason)
    plate = validate_plate(plate)
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if expected_owner_id is not None and locked.owner_id != expected_owner_id:
            raise forbidden()
        if locked.status not in TRANSFERABLE_STATUSES:
            zh, en = VEHICLE_TRANSITIONS.label(locked.status)
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
        records_changed(vehicle_ids=[locked.pk])
        audit_record(actor=actor, action="vehicle.plate_assign", obj=locked, old={"plate": old_plate},
                     new={"plate": plate}, reason=reason, subject_person_id=locked.owner_id)
    vehicle.plate, vehicle.updated_at = locked.plate, locked.updated_at
    return vehicle
