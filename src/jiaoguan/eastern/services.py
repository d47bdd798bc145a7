"""Writes of the eastern scenic areas (东部预约, DOMAIN §6), on top of the capacity engine (``bookings``).

Who answers for a booking (the engine's ``party``) is the *plate*, ``"plate:粤B12345"``: a car may be bound by
several accounts (family members) and booked by a merchant for a guest, and the penalties of DOMAIN §6 (3
cancellations lose the holiday, 3 no-shows blacklist for the year) are about the car coming or not, so they
follow the car whoever books it; an account cannot dodge a ban by letting another account book. The exception is a
plate *typed* by a citizen (a car from another city, which nobody can prove is theirs): there the booker's
person answers (``typed_party_for``), so no one can get a stranger's car banned by booking it and not coming;
a ban the plate already carries still refuses the booking. The exclusive
key ``"eastern:<date>:<plate>"`` makes one live booking per plate per day across all areas (the engine's partial
unique index holds even under a race).

Citizens book for a vehicle they own or have bound (identity's "my vehicles"), or type the plate of a car from
another city (not in this city's register: its owner cannot bind it here), limited to small-car plate types and
to ``MAX_TYPED_PER_DAY`` such bookings per account and day. A plate of this city that is not the citizen's is
refused with the same 404 as a missing vehicle, and nothing is written.

Every write runs in one transaction; seats move only inside ``bookings.services`` (lock, count, insert).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.bookings import selectors as bookings_selectors
from jiaoguan.bookings import services as bookings
from jiaoguan.bookings.rules import penalty_applies
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, Forbidden, InvalidInput, not_found
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import validate_plate
from jiaoguan.core.ids import parse_id
from jiaoguan.core.locks import lock_row
from jiaoguan.eastern import conf, rules
from jiaoguan.eastern.models import Area, AreaBooking, BookingDay, Checkpoint, Exemption, Passage
from jiaoguan.identity.roles import require
from jiaoguan.identity.selectors import my_vehicles
from jiaoguan.registry import selectors as registry
from jiaoguan.violations import services as violations
from jiaoguan.violations import signing

log = logging.getLogger(__name__)

B = bookings_selectors.BookingStatus
KIND = bookings_selectors.ResourceKind.EASTERN
LIVE = (B.CONFIRMED, B.ATTENDED)


def party_for(plate: str) -> str:
    return f"plate:{plate}"


def exclusive_key_for(day: dt.date, plate: str) -> str:
    return f"eastern:{day.isoformat()}:{plate}"


def _city_prefix() -> str:
    return settings.JIAOGUAN_PLATE_PREFIX


def _plate_type(value: str, *, field: str = "plate_type") -> str:
    if value not in registry.PLATE_TYPE_PREFERENCE:  # every plate type of the register
        raise InvalidInput("eastern.plate_type", "号牌种类不正确", "Unknown plate type", field=field)
    return value


# --- Staff: areas, days, exemptions, checkpoints -----------------------------------------------------------------


def area_create(*, code: str, name_zh: str, name_en: str, actor: Actor) -> Area:
    """An area with its bookings resource (kind "eastern", first come)."""
    require(actor, "booking.manage")
    code = (code or "").strip().lower()
    if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        raise InvalidInput("eastern.code", "编码须为1–40位小写字母、数字或连字符",
                           "The code must be 1–40 lower-case letters, digits or hyphens", field="code")
    with transaction.atomic():
        if Area.objects.filter(code=code).exists():
            raise Conflict("eastern.code_taken", f"编码“{code}”已存在", f"The code “{code}” is already used",
                           field="code")
        resource = bookings.resource_create(kind=KIND, code=f"eastern-{code}", name_zh=name_zh, name_en=name_en,
                                            actor=actor, policy=bookings_selectors.ResourcePolicy.FIRST_COME)
        area = Area.objects.create(code=code, name_zh=resource.name_zh, name_en=resource.name_en,
                                   resource=resource, created_at=clock.now())
        audit_record(actor=actor, action="eastern.area_create", obj=area,
                     new={"code": code, "name_zh": area.name_zh, "resource": resource.code})
    return area


@dataclass(frozen=True)
class DaySpec:
    daily_quota: int
    merchant_quota: int
    first_slot: dt.time = dt.time(6, 0)
    slot_minutes: int = 120
    slots: int = 6
    period_key: str = ""
    opens_at: dt.datetime | None = None


def day_create(*, area: Area, date: dt.date, spec: DaySpec, actor: Actor) -> BookingDay:
    """A day that needs booking: its slots (back to back from ``first_slot``), the daily quota split evenly
    across them, the merchants' share as each slot's "merchant" quota and the rest as "public"."""
    require(actor, "booking.manage")
    errors: dict[str, tuple[str, str]] = {}
    if date <= clock.today():
        errors["date"] = ("预约日期须晚于今天", "The date must be after today")
    if not (1 <= spec.daily_quota <= 1_000_000):
        errors["daily_quota"] = ("每日总量须为1–1000000", "The daily quota must be 1–1,000,000")
    if spec.merchant_quota < 0 or spec.merchant_quota > spec.daily_quota:
        errors["merchant_quota"] = ("商户预留数须在0和每日总量之间", "The merchants' share must be 0 to the daily quota")
    if not (1 <= spec.slots <= 24):
        errors["slots"] = ("时段数须为1–24", "The number of slots must be 1–24")
    if not (15 <= spec.slot_minutes <= 24 * 60):
        errors["slot_minutes"] = ("时段长度须为15–1440分钟", "A slot must be 15–1440 minutes")
    if not errors and not rules.slots_fit_day(first=spec.first_slot, minutes=spec.slot_minutes, count=spec.slots):
        errors["slots"] = ("所有时段须在当天24时前结束", "All slots must end by midnight")
    period_key = (spec.period_key or "").strip() or rules.default_period_key(date)
    if len(period_key) > 40:
        errors["period_key"] = ("时段标识不超过40个字符", "The period key is at most 40 characters")
    if errors:
        first = next(iter(errors.values()))
        raise InvalidInput("eastern.day_invalid", first[0], first[1], fields=errors)
    times = rules.slot_times(day=date, first=spec.first_slot, minutes=spec.slot_minutes, count=spec.slots)
    public = rules.split_quota(spec.daily_quota - spec.merchant_quota, spec.slots)
    merchant = rules.split_quota(spec.merchant_quota, spec.slots)
    with transaction.atomic():
        lock_row(Area, area.pk)
        if BookingDay.objects.filter(area=area, date=date).exists():
            raise Conflict("eastern.day_exists", f"{area.name_zh}已设置{date}为预约日",
                           f"{date} is already a booking day of {area.name_en}", field="date")
        day = BookingDay.objects.create(area=area, date=date, period_key=period_key, daily_quota=spec.daily_quota,
                                        merchant_quota=spec.merchant_quota, created_at=clock.now(),
                                        created_by_id=actor.id)
        for (starts, ends), pub, mer in zip(times, public, merchant):
            bookings.slot_create(
                resource=area.resource, starts_at=starts, ends_at=ends, actor=actor, opens_at=spec.opens_at,
                period_key=period_key,
                quotas=[bookings.QuotaSpec("public", pub, "公众", "Public"),
                        bookings.QuotaSpec("merchant", mer, "酒店和商户", "Hotels and merchants")])
        audit_record(actor=actor, action="eastern.day_create", obj=day, new={
            "area": area.code, "date": date, "period_key": period_key, "daily_quota": spec.daily_quota,
            "merchant_quota": spec.merchant_quota, "slots": spec.slots, "slot_minutes": spec.slot_minutes,
            "first_slot": spec.first_slot.strftime("%H:%M")})
    return day


def exemption_add(*, area: Area, plate: str, reason: str, valid_until: dt.date, actor: Actor) -> Exemption:
    """Register a local vehicle (resident, business inside the area) that needs no booking."""
    require(actor, "booking.manage")
    plate = validate_plate(plate)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("eastern.reason", "请填写登记原因（不超过200字）", "Give the reason (at most 200 characters)",
                           field="reason")
    if valid_until < clock.today():
        raise InvalidInput("eastern.valid_until", "有效期不能早于今天", "The end date cannot be in the past",
                           field="valid_until")
    try:
        with transaction.atomic():
            ex = Exemption.objects.create(area=area, plate=plate, reason=reason, valid_until=valid_until,
                                          created_at=clock.now(), created_by_id=actor.id)
            audit_record(actor=actor, action="eastern.exemption_add", obj=ex,
                         new={"area": area.code, "plate": plate, "reason": reason, "valid_until": valid_until})
    except IntegrityError:
        raise Conflict("eastern.exemption_exists", f"{plate}已在{area.name_zh}的免预约名单中",
                       f"{plate} is already on the list of {area.name_en}", field="plate") from None
    return ex


def exemption_revoke(*, exemption_id: int, actor: Actor, reason: str = "") -> Exemption:
    require(actor, "booking.manage")
    with transaction.atomic():
        pk = parse_id(exemption_id)  # a path's id may be out of any column's range
        ex = lock_row(Exemption, pk) if pk else None
        if ex is None:
            raise not_found("免预约登记", "exemption")
        if ex.revoked_at is None:
            ex.revoked_at = clock.now()
            ex.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="eastern.exemption_revoke", obj=ex, old={"revoked_at": None},
                         new={"revoked_at": ex.revoked_at}, reason=reason)
    return ex


def checkpoint_create(*, area: Area, name: str, actor: Actor) -> tuple[Checkpoint, str]:
    """A roadside camera for ``area``: a violations device (its secret is returned once) mapped to the area."""
    require(actor, "booking.manage")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput("eastern.name", "请填写卡口名称（不超过80字）", "Give the checkpoint's name (at most 80 characters)",
                           field="name")
    with transaction.atomic():
        # scoped: the checkpoint endpoint, the booking code, violations placed in this area only
        device, secret = signing.device_create(name=name, place=f"{area.name_zh}·{name}"[:120],
                                               kind="checkpoint", area=area.name_zh,
                                               codes=[conf.get("VIOLATION_CODE")])
        cp = Checkpoint.objects.create(device=device, area=area, name=name, created_at=clock.now())
        audit_record(actor=actor, action="eastern.checkpoint_create", obj=cp,
                     new={"area": area.code, "name": name, "key_id": device.key_id})
    return cp, secret


# --- Who needs a booking ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Car:
    """What a booking or a checkpoint needs to know about a plate."""

    plate: str
    plate_type: str
    vehicle_id: int | None = None  # in this city's register
    kind: str | None = None
    use: str | None = None
    seats: int | None = None


def listed(*, area: Area, plate: str, on: dt.date) -> bool:
    return Exemption.objects.filter(area=area, plate=plate, revoked_at__isnull=True, valid_until__gte=on).exists()


def exemption_for(*, area: Area, car: Car, on: dt.date) -> rules.Exemption | None:
    """Why ``car`` needs no booking in ``area`` on ``on`` (None: it needs one)."""
    found = rules.exemption_for(kind=car.kind, use=car.use, plate_type=car.plate_type,
                                listed=listed(area=area, plate=car.plate, on=on),
                                exempt_kinds=conf.get("EXEMPT_KINDS"), exempt_uses=conf.get("EXEMPT_USES"),
                                exempt_plate_types=conf.get("EXEMPT_PLATE_TYPES"))
    if found is None and car.seats is not None and car.seats > conf.get("MAX_SEATS"):
        return rules.EXEMPT_SEATS
    return found


def car_from_register(plate: str, plate_type: str | None = None) -> Car:
    vehicle = registry.vehicle_by_plate(plate=plate, plate_type=plate_type or None)
    if vehicle is None:
        return Car(plate=plate, plate_type=plate_type or "02")
    return Car(plate=vehicle.plate, plate_type=vehicle.plate_type, vehicle_id=vehicle.pk, kind=vehicle.kind,
               use=vehicle.use, seats=vehicle.seats)


def _refuse_exempt(area: Area, car: Car, on: dt.date) -> None:
    ex = exemption_for(area=area, car=car, on=on)
    if ex is None:
        return
    if ex is rules.EXEMPT_SEATS:
        max_seats = conf.get("MAX_SEATS")
        raise InvalidInput("eastern.too_many_seats",
                           f"东部预约只适用于{max_seats}座及以下的小型客车；该车核定载客{car.seats}人，按客车管理，无需预约",
                           f"Only cars with at most {max_seats} seats book; this vehicle seats {car.seats} and is "
                           f"treated as a bus: it needs no booking", field="vehicle")
    raise InvalidInput("eastern.exempt", f"{ex.zh}，可直接通行", f"{ex.en}: you may enter without one",
                       field="vehicle")


# --- Citizens: book, delay, cancel ----------------------------------------------------------------------------


def area_get(*, code: str) -> Area:
    area = Area.objects.select_related("resource").filter(code=str(code or "").strip().lower(), active=True).first()
    if area is None:
        raise not_found("景区", "area")
    return area


def _day_and_slot(*, area: Area, date: dt.date, slot_id: int):
    day = BookingDay.objects.filter(area=area, date=date).first()
    if day is None:
        raise InvalidInput("eastern.no_booking_day", f"{area.name_zh}{date}无需预约，可直接通行",
                           f"{area.name_en} needs no booking on {date}: you may enter without one", field="date")
    try:
        slot = bookings_selectors.slot_get(slot_id=int(slot_id))
    except (TypeError, ValueError):
        raise not_found("预约场次", "booking slot") from None
    if slot.resource_id != area.resource_id or timezone.localdate(slot.starts_at) != date:
        raise not_found("预约场次", "booking slot")
    return day, slot


def my_vehicle_summaries(*, user) -> list[registry.VehicleSummary]:
    """The registry's summaries of the citizen's vehicles (own or bound), in identity's order."""
    out = []
    for mv in my_vehicles(user=user):
        assert isinstance(mv.vehicle, registry.VehicleSummary)  # what identity lists (typed object there)
        out.append(mv.vehicle)
    return out


def _my_car(*, user, vehicle_id: int | None, plate: str, plate_type: str) -> Car:
    """The car a citizen books for: one of their vehicles (own or bound), or a typed plate from another city."""
    mine = {s.vehicle_id: s for s in my_vehicle_summaries(user=user)}
    if vehicle_id is None and plate:
        plate = validate_plate(plate)
        if plate.startswith(_city_prefix()):
            # a local plate: only one of the citizen's own or bound vehicles (the same 404 as any other)
            match = [vid for vid, s in mine.items()
                     if s.plate == plate and (not plate_type or s.plate_type == plate_type)]
            if not match:
                raise not_found("车辆", "vehicle")
            vehicle_id = match[0]
        else:
            plate_type = _plate_type(plate_type or "02")
            if plate_type not in conf.get("TYPED_PLATE_TYPES"):
                raise InvalidInput("eastern.typed_plate_type", "外地车辆只能按小型汽车号牌预约",
                                   "A car from another city can be booked only with a small-car plate",
                                   field="plate_type")
            return Car(plate=plate, plate_type=plate_type)
    if vehicle_id is None:
        raise InvalidInput("eastern.vehicle_required", "请选择车辆或填写外地号牌", "Choose a vehicle or type a plate",
                           field="vehicle")
    if vehicle_id not in mine:
        raise not_found("车辆", "vehicle")
    vehicle = registry.vehicle_get(vehicle_id=vehicle_id)
    if vehicle is None:  # pragma: no cover - my_vehicles only lists vehicles that exist
        raise not_found("车辆", "vehicle")
    return Car(plate=vehicle.plate, plate_type=vehicle.plate_type, vehicle_id=vehicle.pk, kind=vehicle.kind,
               use=vehicle.use, seats=vehicle.seats)


def _label(area: Area, car: Car) -> str:
    return f"{car.plate} {area.name_zh}"


def typed_party_for(user) -> str:
    """Who answers for a booking of a typed plate (a car from another city, not verified as the booker's): the
    booker's real-name person, never the plate, so nobody can pile cancellations or no-shows onto a stranger's
    car and get it banned."""
    person_id = getattr(user, "person_id", None)
    return f"person:{person_id}" if person_id else f"user:{user.pk}"


def _refuse_banned_plate(*, plate: str, slot) -> None:
    """A typed plate is booked under the booker's party; a ban the plate itself carries (from bookings made by
    its owner or a merchant) still applies."""
    now = clock.now()
    for p in bookings_selectors.penalties_active(party=party_for(plate), kind=KIND, at=now):
        if penalty_applies(starts_at=p.starts_at, ends_at=p.ends_at, period_key=p.period_key, lifted=False,
                           now=now, slot_period_key=slot.period_key):
            raise Forbidden("eastern.plate_banned", f"号牌{plate}因{p.reason_zh}，暂不能预约",
                            f"The plate {plate} cannot book now because of {p.reason_en}")


def _book(*, user, area: Area, day: BookingDay, slot, car: Car, quota: str, actor: Actor,
          enterprise_id: int | None = None, party: str | None = None) -> AreaBooking:
    with transaction.atomic():
        b = bookings.seat_book(
            slot_id=slot.pk, user=user, subject=party_for(car.plate),
            exclusive_key=exclusive_key_for(day.date, car.plate), party=party or party_for(car.plate), actor=actor,
            quota=quota, subject_label=_label(area, car), confirm=True,
            meta={"area": area.code, "plate": car.plate, "plate_type": car.plate_type})
        ab = AreaBooking.objects.create(
            booking=b, area=area, day=day, plate=car.plate, plate_type=car.plate_type, vehicle_id=car.vehicle_id,
            enterprise_id=enterprise_id, starts_at=slot.starts_at, slot_ends_at=slot.ends_at,
            entry_ends_at=slot.ends_at, created_at=clock.now())
        audit_record(actor=actor, action="eastern.book", obj=ab, new={
            "booking": b.reference, "area": area.code, "date": day.date, "slot": slot.pk, "plate": car.plate,
            "quota": quota, "enterprise": enterprise_id}, subject_person_id=getattr(user, "person_id", None))
    return ab


def booking_create(*, user, area_code: str, date: dt.date, slot_id: int, actor: Actor, vehicle_id: int | None = None,
                   plate: str = "", plate_type: str = "") -> AreaBooking:
    """A citizen books a slot of an area's booking day for a car (public quota, confirmed at once). Nothing is
    written unless everything holds: the car is theirs (or typed from another city), needs a booking, has none
    that day, the plate is not banned, the slot is open and has a seat."""
    area = area_get(code=area_code)
    day, slot = _day_and_slot(area=area, date=date, slot_id=slot_id)
    car = _my_car(user=user, vehicle_id=vehicle_id, plate=(plate or "").strip(), plate_type=(plate_type or "").strip())
    _refuse_exempt(area, car, date)
    if car.vehicle_id is None:
        typed = AreaBooking.objects.filter(booking__user=user, day__date=date, vehicle_id__isnull=True,
                                           enterprise_id__isnull=True, booking__status__in=LIVE).count()
        if typed >= conf.get("MAX_TYPED_PER_DAY"):
            limit = conf.get("MAX_TYPED_PER_DAY")
            raise Conflict("eastern.typed_limit", f"每个账户每天最多为外地车辆预约{limit}次",
                           f"An account may book at most {limit} car(s) from other cities a day", field="plate")
        _refuse_banned_plate(plate=car.plate, slot=slot)
        return _book(user=user, area=area, day=day, slot=slot, car=car, quota="public", actor=actor,
                     party=typed_party_for(user))
    return _book(user=user, area=area, day=day, slot=slot, car=car, quota="public", actor=actor)


@dataclass(frozen=True)
class MerchantResult:
    plate: str
    booking: AreaBooking | None = None
    error: DomainError | None = None


def merchant_book(*, user, area_code: str, date: dt.date, slot_id: int, plates: list[tuple[str, str]],
                  actor: Actor) -> list[MerchantResult]:
    """A hotel or merchant (an enterprise account) books seats of the merchants' quota for its guests' plates,
    several at once; each plate succeeds or fails on its own."""
    if not rules.merchant_user(user):
        raise Forbidden("eastern.merchants_only", "只有酒店和商户（企业账户）可使用商户预留名额",
                        "Only hotels and merchants (enterprise accounts) may use the merchants' quota")
    limit = conf.get("MAX_MERCHANT_PLATES")
    if not (1 <= len(plates) <= limit):
        raise InvalidInput("eastern.plates_count", f"每次可预约1–{limit}个号牌", f"Book 1–{limit} plates at a time",
                           field="plates")
    area = area_get(code=area_code)
    day, slot = _day_and_slot(area=area, date=date, slot_id=slot_id)
    results = []
    keys = []
    for plate, _ in plates:
        try:
            keys.append(exclusive_key_for(day.date, validate_plate(plate)))
        except DomainError:
            pass  # refused below, item by item
    with transaction.atomic():
        # one transaction for the batch (each plate still succeeds or fails on its own, in its savepoint): as in
        # a counters batch, the slot's quotas and every plate's key are locked before the first booking writes its
        # audit row (lock order)
        bookings.quotas_lock(slot_ids=[slot.pk])
        bookings.keys_lock(exclusive_keys=keys)
        for plate, plate_type in plates:
            try:
                with transaction.atomic():
                    plate = validate_plate(plate)
                    car = car_from_register(plate, _plate_type(plate_type or "02") if plate_type else None)
                    if car.vehicle_id is None and plate.startswith(_city_prefix()):
                        raise InvalidInput("eastern.unknown_plate", f"号牌“{plate}”在本市机动车登记中不存在",
                                           f"The plate “{plate}” is not registered in this city", field="plate")
                    _refuse_exempt(area, car, date)
                    ab = _book(user=user, area=area, day=day, slot=slot, car=car, quota="merchant", actor=actor,
                               enterprise_id=user.enterprise_id)
                results.append(MerchantResult(plate=plate, booking=ab))
            except DomainError as exc:
                results.append(MerchantResult(plate=str(plate), error=exc))
    return results


def _mine_locked(*, user, area_booking_id: int) -> AreaBooking:
    ab = (AreaBooking.objects.select_for_update(of=("self",)).select_related("booking", "area")
          .filter(pk=area_booking_id, booking__user=user).first())
    if ab is None:
        raise not_found("预约", "booking")
    return ab


def booking_delay(*, user, area_booking_id: int, actor: Actor) -> AreaBooking:
    """延误报备: before the slot ends, once per booking, the entry window grows by ``DELAY_HOURS``."""
    now = clock.now()
    with transaction.atomic():
        ab = _mine_locked(user=user, area_booking_id=area_booking_id)
        block = rules.booking_delay_block(ab, now=now)
        if block == "eastern.delay_not_confirmed":
            raise Conflict(block, "只有预约成功且尚未入园的预约才能报备延误",
                           "Only a confirmed booking not yet used can report a delay")
        if block == "eastern.delay_once":
            raise Conflict(block, "每个预约只能报备一次延误", "A delay can be reported once per booking")
        if block == "eastern.delay_too_late":
            raise Conflict(block, "预约时段已结束，不能再报备延误",
                           "The slot has ended: a delay can no longer be reported")
        old = {"entry_ends_at": ab.entry_ends_at, "delay_reported_at": None}
        ab.entry_ends_at = rules.entry_ends(slot_ends_at=ab.slot_ends_at, delayed=True,
                                            delay_hours=conf.get("DELAY_HOURS"))
        ab.delay_reported_at = now
        ab.save(update_fields=["entry_ends_at", "delay_reported_at"])
        audit_record(actor=actor, action="eastern.delay", obj=ab, old=old,
                     new={"entry_ends_at": ab.entry_ends_at, "delay_reported_at": now},
                     subject_person_id=getattr(user, "person_id", None))
    return ab


def booking_cancel(*, user, area_booking_id: int, actor: Actor) -> AreaBooking:
    """The booker cancels (until the slot starts); counts towards the plate's cancellation penalty."""
    ab = AreaBooking.objects.select_related("booking").filter(pk=area_booking_id, booking__user=user).first()
    if ab is None:
        raise not_found("预约", "booking")
    bookings.booking_cancel(booking_id=ab.booking_id, user=user, actor=actor)
    ab.booking.refresh_from_db()
    return ab


# --- Checkpoints -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassageResult:
    passage: Passage
    created: bool


def _answer(p: Passage) -> dict:
    zh, en = zh_en(Passage.Reason(p.reason).label) if p.reason else ("", "")
    return {"allowed": p.allowed, "reason": p.reason, "detail": p.detail, "message_zh": zh, "message_en": en,
            "record_id": p.record_id, "plate": p.plate,
            "booking": p.area_booking.booking.reference if p.area_booking is not None else None,
            "violation_id": p.violation_id}


def checkpoint_pass(*, device, record_id: str, plate: str, plate_type: str, at: dt.datetime,
                    photos: list | None = None) -> PassageResult:
    """A camera saw ``plate`` at ``at``: allowed or not (see the module doc of the API). Idempotent per
    (checkpoint, record id): a repeat returns the first answer. Call inside the request's transaction (with
    ``device_authenticate``)."""
    cp = Checkpoint.objects.select_related("area", "device").filter(device=device).first()
    if cp is None:
        raise Forbidden("eastern.not_a_checkpoint", "该设备不是东部景区卡口", "This device is not an eastern checkpoint")
    record_id = (record_id or "").strip()
    if not record_id or len(record_id) > 64:
        raise InvalidInput("eastern.record_id", "设备记录编号须为1–64个字符", "The record id must be 1–64 characters",
                           field="record_id")
    first = Passage.objects.filter(checkpoint=cp, record_id=record_id).first()
    if first is not None:
        return PassageResult(first, False)
    plate = validate_plate(plate)
    plate_type = _plate_type(plate_type)
    if at.tzinfo is None:
        raise InvalidInput("eastern.time_zone", "时间须带时区", "The time must carry a time zone", field="at")
    now = clock.now()
    if at > now + dt.timedelta(seconds=conf.get("MAX_FUTURE_SECONDS")):
        raise InvalidInput("eastern.future_time", "通行时间不能晚于当前时间", "The time is in the future", field="at")
    try:
        with transaction.atomic():
            p = Passage.objects.create(checkpoint=cp, record_id=record_id, plate=plate, plate_type=plate_type, at=at,
                                       created_at=now)
    except IntegrityError:  # a concurrent repeat committed first (PostgreSQL waited for it)
        return PassageResult(Passage.objects.get(checkpoint=cp, record_id=record_id), False)
    _decide(p, cp=cp, photos=photos or [])
    p.answer = _answer(p)
    p.save()
    audit_record(actor=Actor(id=None, label=f"device:{device.key_id}", role="device"), action="eastern.passage",
                 obj=p, new={"plate": plate, "at": at, "allowed": p.allowed, "reason": p.reason,
                             "violation": p.violation_id})
    return PassageResult(p, True)


def _decide(p: Passage, *, cp: Checkpoint, photos: list) -> None:
    R = Passage.Reason
    area = cp.area
    on = timezone.localdate(p.at)
    day = BookingDay.objects.filter(area=area, date=on).first()
    if day is None:
        p.allowed, p.reason = True, R.NO_BOOKING_NEEDED
        return
    car = car_from_register(p.plate, p.plate_type)
    ex = exemption_for(area=area, car=car, on=on)
    if ex is not None:
        p.allowed, p.reason, p.detail = True, R.EXEMPT, ex.code
        return
    ab = (AreaBooking.objects.select_related("booking").filter(area=area, day=day, plate=p.plate,
                                                                  booking__status__in=LIVE).first())
    if ab is not None and rules.in_window(at=p.at, starts_at=ab.starts_at, ends_at=ab.entry_ends_at):
        p.allowed, p.reason, p.area_booking = True, R.BOOKED, ab
        _first_entry(ab, at=p.at)
        return
    p.allowed, p.reason, p.area_booking = False, (R.OUTSIDE_WINDOW if ab is not None else R.NOT_BOOKED), ab
    _record_violation(p, cp=cp, photos=photos)


def _first_entry(ab: AreaBooking, *, at: dt.datetime) -> None:
    """The first entry marks the booking attended (the engine's transition, by the system)."""
    if ab.entered_at is None:
        AreaBooking.objects.filter(pk=ab.pk, entered_at__isnull=True).update(entered_at=at)
        ab.entered_at = at
    if ab.booking.status == B.CONFIRMED and clock.now() >= ab.starts_at:
        try:
            with transaction.atomic():
                bookings.booking_mark(booking_id=ab.booking_id, attended=True, actor=Actor.system("eastern.checkpoint"))
        except Conflict:  # already marked by a concurrent camera or the sweep
            pass


def _record_violation(p: Passage, *, cp: Checkpoint, photos: list) -> None:
    try:
        with transaction.atomic():
            r = violations.violation_record(
                plate=p.plate, plate_type=p.plate_type, code=conf.get("VIOLATION_CODE"),
                place=f"{cp.area.name_zh}·{cp.name}"[:120], occurred_at=p.at, source="device",
                actor=Actor(id=None, label=f"device:{cp.device.key_id}", role="device"), device=cp.device,
                device_record_id=p.record_id, photos=photos)
        p.violation = r.violation
    except DomainError as exc:  # e.g. a local plate missing from the register: answered, not recorded
        log.warning("eastern checkpoint %s: violation for %s not recorded: %s", cp.pk, p.plate, exc.code)
        p.violation_error = exc.code[:60]


# --- No-shows ----------------------------------------------------------------------------------------------------


def no_shows_mark(*, now: dt.datetime | None = None) -> int:
    """Confirmed bookings whose entry window ended (plus a grace period for late camera uploads): attended if a
    checkpoint saw the car, otherwise no-show, so the engine's penalty rules apply. Each booking once (the
    engine's conditional update)."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(minutes=conf.get("NO_SHOW_GRACE_MINUTES"))
    actor = Actor.system("eastern.no_shows")
    rows = list(AreaBooking.objects.filter(booking__status=B.CONFIRMED, entry_ends_at__lte=cutoff)
                .values_list("booking_id", "entered_at").order_by("entry_ends_at", "pk")[:5000])
    marked = 0
    for booking_id, entered_at in rows:
        try:
            bookings.booking_mark(booking_id=booking_id, attended=entered_at is not None, actor=actor)
            marked += 1
        except Conflict:
            continue
    return marked
