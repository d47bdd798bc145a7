"""Reads of the registry. Other apps read persons, licences and vehicles only through these functions.

Summaries (``licence_summary``, ``vehicle_summary``) are plain frozen dataclasses with every label in Chinese
and English, computed for a date (default: today from ``core.clock``), so pages and the API show the same thing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from jiaoguan.core import clock
from jiaoguan.core.errors import not_found
from jiaoguan.core.fields import EncryptedField
from jiaoguan.core.i18n import Bi, bi, choice_label, zh_en
from jiaoguan.core.identifiers import validate_id_number, validate_plate
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, InspectionRule, InsurancePolicy, Person, Vehicle

# With no plate type given, a plate that exists under several types resolves in this order (small car first).
PLATE_TYPE_PREFERENCE = (
    Vehicle.PlateType.SMALL, Vehicle.PlateType.NEV_SMALL, Vehicle.PlateType.LARGE, Vehicle.PlateType.NEV_LARGE,
    Vehicle.PlateType.MOTORCYCLE, Vehicle.PlateType.COACH, Vehicle.PlateType.TRAILER,
)
NEW_ENERGY_PLATE_TYPES = frozenset({Vehicle.PlateType.NEV_SMALL, Vehicle.PlateType.NEV_LARGE})
LIVE_VEHICLE_EXCLUDED = (Vehicle.Status.SCRAPPED, Vehicle.Status.TRANSFERRED)


# --- Persons ----------------------------------------------------------------------------------------------------

def id_number_hash(id_number: str) -> str:
    return EncryptedField.hash_of(Person, "id_number", id_number)


def registry_is_empty() -> bool:
    """True when no person is registered yet (``demo_city --if-empty``)."""
    return not Person.objects.exists()


def person_by_id_number(*, id_number: str) -> Person | None:
    """The person with this ID number (exact match through the keyed hash), or None. Does not validate."""
    if not id_number or not str(id_number).strip():
        return None
    return Person.objects.filter(id_number_hash=id_number_hash(str(id_number))).first()


def person_get(*, person_id: int) -> Person:
    try:
        return Person.objects.get(pk=int(person_id))
    except (Person.DoesNotExist, ValueError, TypeError):
        raise not_found("人员", "person") from None


def persons_with_phone(*, phone: str) -> list[Person]:
    """Persons whose phone on file is ``phone`` (several people may share one, e.g. family members)."""
    return list(Person.objects.filter(phone_hash=EncryptedField.hash_of(Person, "phone", phone)).order_by("pk"))


def persons_search(*, id_number: str | None = None, plate: str | None = None) -> list[Person]:
    """Staff search: persons matching the ID number, or owning a live vehicle with the plate (either given
    criterion matches; both given = the union). Malformed input raises InvalidInput with the field's message."""
    found: dict[int, Person] = {}
    if id_number:
        person = person_by_id_number(id_number=validate_id_number(id_number))
        if person is not None:
            found[person.pk] = person
    if plate:
        plate = validate_plate(plate)
        owners = (Person.objects.filter(vehicles__plate=plate)
                  .exclude(vehicles__status__in=LIVE_VEHICLE_EXCLUDED).distinct().order_by("pk"))
        for person in owners:
            found.setdefault(person.pk, person)
    return list(found.values())


# --- Licences ---------------------------------------------------------------------------------------------------

def licence_for_person(*, person: Person) -> DrivingLicence | None:
    return DrivingLicence.objects.filter(person=person).first()


def licences_by_id(*, licence_ids) -> dict[int, DrivingLicence]:
    """The licences with these ids, by id (ids with no licence are left out)."""
    return DrivingLicence.objects.in_bulk(list(licence_ids))


def licence_card_points(*, licence_id: int) -> tuple[int, dt.date | None]:
    """The figure on the licence card as stored now: (cycle points, first day of their scoring cycle)."""
    return DrivingLicence.objects.values_list("cycle_points", "points_cycle_start").get(pk=licence_id)


@dataclass(frozen=True)
class LicenceSummary:
    licence_id: int
    person_id: int
    licence_number: str  # the holder's ID number (unmasked: mask it on screen)
    file_number: str
    classes: list[tuple[str, str, str]]  # (code, zh, en)
    first_issue_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None  # None = long-term
    validity: str
    validity_zh: str
    validity_en: str
    status: str  # effective on ``on``
    status_zh: str
    status_en: str
    points: int  # of the current scoring cycle (0 when the points on file belong to an earlier one)
    cycle_start: dt.date  # the current scoring cycle, containing ``on``
    cycle_end: dt.date
    probation_until: dt.date | None
    in_probation: bool
    postponed_until: dt.date | None
    renewal_window_open: bool
    on: dt.date = field(default_factory=clock.today)
    covered_classes: list[str] = field(default_factory=list)  # every class the holder may drive
    # points on file from an earlier cycle that the rollover has not handled yet: not shown to the citizen as
    # this cycle's; staff see the figure and the cycle it belongs to
    points_from_previous_cycle: bool = False
    previous_cycle_points: int = 0
    points_cycle_start: dt.date | None = None  # the cycle the points on file belong to
    status_reason: str = ""  # why the licence has its status (e.g. the cancellation reason code)
    status_reason_zh: str = ""
    status_reason_en: str = ""
    probation_classes: str = ""  # the classes in probation (a first licence's all, or the class added: 增驾)
    review_postponed_until: dt.date | None = None  # 延期审验 granted: the review is due by then; no driving meanwhile
    health_report_deadline: dt.date | None = None  # 70+: the health report owed for the last cycle, due by then
    health_report_overdue: bool = False
    health_postponed_until: dt.date | None = None  # 延期提交身体条件证明 granted

    @property
    def class_codes(self) -> str:
        return " ".join(code for code, _, _ in self.classes)

    @property
    def validity_label(self) -> Bi:
        return bi(self.validity_zh, self.validity_en)

    @property
    def status_label(self) -> Bi:
        return bi(self.status_zh, self.status_en)

    @property
    def points_left(self) -> int:
        return max(0, rules.FULL_SCORE - self.points)

    @property
    def full_score(self) -> int:
        return rules.FULL_SCORE

    @property
    def at_full_score(self) -> bool:
        """The cycle's points reached the full score (study and a test before driving again)."""
        return self.points >= rules.FULL_SCORE


def licence_summary(*, licence: DrivingLicence, on: dt.date | None = None) -> LicenceSummary:
    on = on or clock.today()
    codes = licence.class_list
    try:
        codes = rules.parse_classes(codes)
        covered = sorted(rules.classes_covered(codes), key=list(rules.LICENCE_CLASSES).index)
    except ValueError:  # an unknown code in imported data: show it as it is
        covered = list(codes)
    classes = []
    for code in codes:
        known = rules.LICENCE_CLASSES.get(code)
        classes.append((code, known.zh, known.en) if known else (code, code, code))
    status = rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=on,
                                     postponed_until=licence.postponed_until)
    status_zh, status_en = rules.STATUS_LABELS.get(status, (status, status))
    validity_zh, validity_en = rules.VALIDITY_LABELS.get(licence.validity, (licence.validity, licence.validity))
    cycle_start, cycle_end = rules.scoring_cycle(licence.first_issue_date, max(on, licence.first_issue_date))
    current = licence.points_cycle_start == cycle_start
    stale = not current and licence.points_cycle_start is not None and licence.points_cycle_start < cycle_start
    # stored valid/expired but more than a year past expiry: cancelled for expiry by the dates (sweep pending)
    status_reason = licence.status_reason if status == licence.status else (
        rules.CANCEL_EXPIRY if status == rules.STATUS_CANCELLED else "")
    reason_zh, reason_en = rules.status_reason_label(status_reason)
    licence_number = licence.person.id_number
    assert licence_number is not None  # a NOT NULL column (core's EncryptedField reads as str | None)
    health = health_report_owed(licence=licence, on=on) if status == rules.STATUS_VALID else None
    return LicenceSummary(
        licence_id=licence.pk,
        person_id=licence.person_id,
        licence_number=licence_number,
        file_number=licence.file_number,
        classes=classes,
        first_issue_date=licence.first_issue_date,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        validity=licence.validity,
        validity_zh=validity_zh,
        validity_en=validity_en,
        status=status,
        status_zh=status_zh,
        status_en=status_en,
        points=licence.cycle_points if current else 0,
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        probation_until=licence.probation_until,
        in_probation=rules.in_probation(licence.probation_until, on),
        postponed_until=licence.postponed_until,
        renewal_window_open=status == rules.STATUS_VALID and rules.renewal_window_open(licence.valid_until, on),
        on=on,
        covered_classes=covered,
        points_from_previous_cycle=stale and licence.cycle_points > 0,
        previous_cycle_points=licence.cycle_points if stale else 0,
        points_cycle_start=licence.points_cycle_start,
        status_reason=status_reason,
        status_reason_zh=reason_zh,
        status_reason_en=reason_en,
        probation_classes=licence.probation_classes,
        review_postponed_until=licence.review_postponed_until
        if licence.review_postponed_until is not None and licence.review_postponed_until >= on
        and licence.review_postponed_for is not None
        and (licence.reviewed_through is None or licence.reviewed_through < licence.review_postponed_for) else None,
        health_report_deadline=health.deadline if health is not None else None,
        health_report_overdue=health is not None and health.overdue(on),
        health_postponed_until=licence.health_postponed_until
        if health is not None and licence.health_postponed_until is not None
        and licence.health_postponed_until >= on else None,
    )


# --- Vehicles ---------------------------------------------------------------------------------------------------

def vehicles_owned_by(*, person: Person) -> QuerySet[Vehicle]:
    """The person's vehicles that are still theirs (not scrapped, not transferred out), oldest first."""
    return (Vehicle.objects.filter(owner=person).exclude(status__in=LIVE_VEHICLE_EXCLUDED)
            .prefetch_related("policies").order_by("registration_date", "pk"))


def vehicles_of_enterprise(*, uscc: str) -> QuerySet[Vehicle]:
    """The vehicles registered to the company with this unified social credit code (统一社会信用代码) that are still
    its own (not scrapped, not transferred out), by plate. An empty code owns nothing (persons' vehicles carry
    no USCC)."""
    uscc = str(uscc or "").strip().upper()
    if not uscc:
        return Vehicle.objects.none()
    return (Vehicle.objects.filter(owner_uscc=uscc).exclude(status__in=LIVE_VEHICLE_EXCLUDED)
            .prefetch_related("policies").order_by("plate", "pk"))


def vehicle_ids_owned_by(*, person: Person) -> set[int]:
    """The ids of the vehicles ``vehicles_owned_by`` returns, in one light query (no policies)."""
    return set(Vehicle.objects.filter(owner=person).exclude(status__in=LIVE_VEHICLE_EXCLUDED)
               .values_list("pk", flat=True))


def vehicle_ids_registered_to(*, person: Person) -> set[int]:
    """Every vehicle the register has the person as owner of, whatever its status now (scrapped and transferred
    ones included: what happened with them while they were the person's still counts)."""
    return set(Vehicle.objects.filter(owner=person).values_list("pk", flat=True))


def vehicle_by_plate(*, plate: str, plate_type: str | None = None) -> Vehicle | None:
    """The vehicle with this plate (validated; InvalidInput if malformed), or None. Without a plate type and
    several vehicles on the same number, the small-car one (see PLATE_TYPE_PREFERENCE)."""
    plate = validate_plate(plate)
    qs = Vehicle.objects.filter(plate=plate)
    if plate_type:
        return qs.filter(plate_type=plate_type).first()
    order = Case(*[When(plate_type=t, then=Value(i)) for i, t in enumerate(PLATE_TYPE_PREFERENCE)],
                 default=Value(len(PLATE_TYPE_PREFERENCE)), output_field=IntegerField())
    return qs.annotate(_pref=order).order_by("_pref", "pk").first()


def vehicles_by_plates(*, plates: set[str] | list[str]) -> dict[str, list[Vehicle]]:
    """Every vehicle with one of these (already validated) plate numbers, whatever its plate type, by number, each
    list by id: one query for a batch of plates (violations' device batches)."""
    out: dict[str, list[Vehicle]] = {}
    for vehicle in Vehicle.objects.filter(plate__in=sorted(set(plates))).order_by("pk"):
        out.setdefault(vehicle.plate, []).append(vehicle)
    return out


# The 号牌种类 choices (forms that ask for a plate type)
PlateType = Vehicle.PlateType


def plate_type_label(plate_type: str) -> Bi | None:
    """The label of a 号牌种类 code; None for a code the register does not know."""
    # the choices' labels are bi(...) pairs; the stubs say str
    return cast(Bi, Vehicle.PlateType(plate_type).label) if plate_type in Vehicle.PlateType.values else None


def vehicle_by_vin(*, vin: str) -> Vehicle | None:
    return Vehicle.objects.filter(vin=str(vin).strip().upper()).first()


def vehicle_kinds() -> dict[str, Bi]:
    """The vehicle kinds (车辆类型) the register knows, code -> label, in the register's order."""
    return {value: cast(Bi, label) for value, label in Vehicle.Kind.choices}  # the labels are bi() pairs


def vehicle_of_owner(*, plate: str, person: Person | None = None, uscc: str | None = None) -> Vehicle | None:
    """The vehicle with this plate owned by the company with this USCC (when ``uscc`` is given) or else by this
    person, whatever its status (a rule that refuses a scrapped vehicle by its status must see it); the oldest
    record first. None without an owner."""
    qs = Vehicle.objects.filter(plate=str(plate))
    if uscc is not None:
        return qs.filter(owner_uscc=uscc).order_by("pk").first()
    if person is None:
        return None
    return qs.filter(owner=person).order_by("pk").first()


def inspection_rules() -> list:
    """The inspection schedule rows; the built-in defaults (DOMAIN §5) when the table is empty."""
    rows = list(InspectionRule.objects.all())
    return rows or list(rules.DEFAULT_INSPECTION_RULES)


def compulsory_periods(vehicle: Vehicle) -> list[tuple[dt.date, dt.date]]:
    cache = getattr(vehicle, "_prefetched_objects_cache", {})
    if "policies" in cache:
        policies = [p for p in cache["policies"] if p.kind == InsurancePolicy.Kind.COMPULSORY]
    else:
        policies = list(vehicle.policies.filter(kind=InsurancePolicy.Kind.COMPULSORY))
    return [(p.starts_on, p.ends_on) for p in policies]


@dataclass(frozen=True)
class VehicleSummary:
    vehicle_id: int
    owner_person_id: int | None
    plate: str
    plate_type: str
    plate_type_zh: str
    plate_type_en: str
    is_new_energy: bool
    brand: str
    kind: str
    kind_zh: str
    kind_en: str
    use: str
    use_zh: str
    use_en: str
    registration_date: dt.date
    inspection_due: dt.date
    inspection_status: str  # ok / due_soon / overdue
    inspection_zh: str
    inspection_en: str
    inspection_days_left: int
    inspection_online: bool  # the due point is an online mark (免检), no on-site test
    insurance_status: str  # valid / expiring / expired / none
    insurance_zh: str
    insurance_en: str
    insurance_until: dt.date | None  # end of the current compulsory cover (None: not covered now)
    status: str
    status_zh: str
    status_en: str
    vin_last4: str
    on: dt.date = field(default_factory=clock.today)

    @property
    def inspection_label(self) -> Bi:
        return bi(self.inspection_zh, self.inspection_en)

    @property
    def insurance_label(self) -> Bi:
        return bi(self.insurance_zh, self.insurance_en)

    @property
    def insured(self) -> bool:
        return self.insurance_until is not None


def vehicle_summary(*, vehicle: Vehicle, on: dt.date | None = None, rule_rows: list | None = None) -> VehicleSummary:
    on = on or clock.today()
    rule_rows = rule_rows if rule_rows is not None else inspection_rules()
    point = rules.inspection_point_on(registration_date=vehicle.registration_date, kind=vehicle.kind,
                                      use=vehicle.use, rules=rule_rows, due=vehicle.inspection_due)
    # the stored due date is authoritative; the schedule only says whether that point is an online mark
    on_site = point.on_site if point is not None and point.due == vehicle.inspection_due else True
    inspection = rules.inspection_status(due=vehicle.inspection_due, on=on, on_site=on_site)
    insurance = rules.insurance_status(periods=compulsory_periods(vehicle), on=on)
    plate_zh, plate_en = zh_en(choice_label(Vehicle.PlateType, vehicle.plate_type))
    kind_zh, kind_en = zh_en(choice_label(Vehicle.Kind, vehicle.kind))
    use_zh, use_en = zh_en(choice_label(Vehicle.Use, vehicle.use))
    status_zh, status_en = zh_en(choice_label(Vehicle.Status, vehicle.status))
    return VehicleSummary(
        vehicle_id=vehicle.pk,
        owner_person_id=vehicle.owner_id,
        plate=vehicle.plate,
        plate_type=vehicle.plate_type,
        plate_type_zh=plate_zh,
        plate_type_en=plate_en,
        is_new_energy=vehicle.plate_type in NEW_ENERGY_PLATE_TYPES,
        brand=vehicle.brand,
        kind=vehicle.kind,
        kind_zh=kind_zh,
        kind_en=kind_en,
        use=vehicle.use,
        use_zh=use_zh,
        use_en=use_en,
        registration_date=vehicle.registration_date,
        inspection_due=vehicle.inspection_due,
        inspection_status=inspection.code,
        inspection_zh=inspection.zh,
        inspection_en=inspection.en,
        inspection_days_left=inspection.days_left,
        inspection_online=inspection.online_mark,
        insurance_status=insurance.code,
        insurance_zh=insurance.zh,
        insurance_en=insurance.en,
        insurance_until=insurance.covered_until,
        status=vehicle.status,
        status_zh=status_zh,
        status_en=status_en,
        vin_last4=vehicle.vin[-4:],
        on=on,
    )


def vehicle_summaries(*, vehicles, on: dt.date | None = None) -> list[VehicleSummary]:
    """Summaries of several vehicles with one read of the inspection rules (pass a prefetched queryset)."""
    rule_rows = inspection_rules()
    return [vehicle_summary(vehicle=v, on=on, rule_rows=rule_rows) for v in vehicles]


# --- for plate selection (plates app) ----------------------------------------------------------------------------

def vehicles_all() -> QuerySet[Vehicle]:
    """Every vehicle of the register, for other apps' set-based selections (they filter it further)."""
    return Vehicle.objects.all()


def vehicle_get(*, vehicle_id: int) -> Vehicle | None:
    """One vehicle by id, or None (callers decide who may see it)."""
    return Vehicle.objects.filter(pk=vehicle_id).select_related("owner").first()


def plates_in_use(*, prefix: str | None = None, plates=None) -> set[str]:
    """Plate numbers carried by any vehicle row of the register (of any status: a scrapped vehicle's number is
    still unique in the register), among ``plates`` or beginning with ``prefix``."""
    qs = Vehicle.objects.all()
    if plates is not None:
        qs = qs.filter(plate__in=list(plates))
    if prefix:
        qs = qs.filter(plate__startswith=prefix)
    return set(qs.values_list("plate", flat=True))


# --- read by identity (issue 11) ---

from jiaoguan.core.locks import lock_row  # noqa: E402 - kept in this block, which identity's helper owns


def plate_types() -> frozenset[str]:
    """Every plate type (GA 36 号牌种类) the register knows."""
    return frozenset(Vehicle.PlateType.values)


def plate_type_choices(*, codes) -> list[tuple[str, object]]:
    """(code, label) for these plate types, in the register's order: a form's choices."""
    wanted = set(codes)
    return [(t.value, t.label) for t in Vehicle.PlateType if t.value in wanted]


def vehicle_locked(*, vehicle_id: int) -> Vehicle | None:
    """One vehicle row locked (core.locks) inside the caller's transaction, or None: for a caller that counts
    something of the vehicle and must be the only one doing so until it commits. Nothing of it is written."""
    return lock_row(Vehicle, vehicle_id)


def health_report_owed(*, licence: DrivingLicence, on: dt.date | None = None) -> rules.ReviewDue | None:
    """The health report (身体条件证明, drivers aged 70+) the licence owes on ``on``, or None (rules.health_report_due)."""
    return rules.health_report_due(birth_date=licence.person.birth_date, first_issue_date=licence.first_issue_date,
                                   on=on or clock.today(), reported_through=licence.health_reported_through,
                                   postponed_until=licence.health_postponed_until,
                                   postponed_for=licence.health_postponed_for)


def licences_probation_ended(*, since: dt.date, until: dt.date, after_id: int = 0, limit: int = 500) -> list[DrivingLicence]:
    """Valid licences with an A or B class in probation whose probation ended between ``since`` and ``until``
    (inclusive), in id order after ``after_id`` (a keyset page): the candidates of the probation review."""
    large = Q()
    for klass in sorted(rules.PROBATION_EXTENSION_CLASSES):
        large |= Q(probation_classes__contains=klass)
    return list(DrivingLicence.objects.filter(large, status=rules.STATUS_VALID, probation_until__gte=since,
                                              probation_until__lte=until, id__gt=after_id).order_by("id")[:limit])


def person_locked(*, person_id: int) -> Person | None:
    """One person row locked (core.locks) inside the caller's transaction, or None: for a caller whose change
    depends on the person's record (the phone on file) and must not race another change of it."""
    return lock_row(Person, person_id)


def vehicle_owner_ids(*, vehicle_ids) -> QuerySet:
    """The owners' person ids of these vehicles, as a lazy query (a subquery of another app's statement)."""
    return Vehicle.objects.filter(pk__in=list(vehicle_ids), owner_id__isnull=False).values("owner_id")
