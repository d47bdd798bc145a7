"""Writes of the violations app: recording, status transitions, points, penalty decisions, waivers, disputes.

Every write is in one transaction: lock, then check, then write (ARCHITECTURE §4). Each status has one
transition function here; nothing else assigns ``Violation.status``.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery

from jiaoguan.core import clock, locks
from jiaoguan.core.audit import Actor, Change, audit_record, audit_records
from jiaoguan.core.errors import Conflict, DomainError, Forbidden, InvalidInput, Refusal, not_found
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import validate_id_number, validate_plate
from jiaoguan.core.outbox import events_emit, records_changed
from jiaoguan.identity.roles import require
from jiaoguan.identity.selectors import my_vehicles
from jiaoguan.notifications.services import NotificationError, message_send
from jiaoguan.payments import services as payments_services
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.rules import is_cycle_start, points_after_cycle, scoring_cycle
from jiaoguan.violations import conf, notices, rules, selectors, signing
from jiaoguan.violations.models import (
    DecisionSequence,
    Detention,
    Device,
    Dispute,
    DisputePhoto,
    Evidence,
    PenaltyDecision,
    PointsAccount,
    PointsEntry,
    Violation,
    ViolationCode,
)
from jiaoguan.violations.rules import VIOLATION_TRANSITIONS
from jiaoguan.violations.selectors import waiver_check, waiver_facts, waiver_offer  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from jiaoguan.registry.models import Vehicle

log = logging.getLogger(__name__)

S = Violation.Status
LABEL = Violation._meta.label_lower  # the audit log's object type of a violation
SOURCE_TYPE = "violations.decision"  # payments' source_type for a decision's fine
def _state(v: Violation) -> dict:
    return {"status": v.status, "waiver_rule": v.waiver_rule, "points": v.points, "fine_fen": v.fine_fen}


# --- Evidence ------------------------------------------------------------------------------------------------------

_MAGIC = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", "png")}


@dataclass(frozen=True)
class Photo:
    content: bytes
    content_type: str
    extension: str

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def photo_check(content: bytes, *, field: str = "photos") -> Photo:
    """A JPEG or PNG (by its bytes, not its name) within the size limit; InvalidInput otherwise."""
    limit = conf.get("MAX_PHOTO_BYTES")
    if not content:
        raise InvalidInput("violations.photo_empty", "照片为空", "The photo is empty", field=field)
    if len(content) > limit:
        raise InvalidInput("violations.photo_too_large", f"照片不能超过{limit // 1024} KB",
                           f"A photo may be at most {limit // 1024} KB", field=field)
    for magic, (ctype, ext) in _MAGIC.items():
        if content.startswith(magic):
            return Photo(content, ctype, ext)
    raise InvalidInput("violations.photo_type", "照片须为 JPEG 或 PNG 格式", "A photo must be a JPEG or PNG image",
                       field=field)


def photos_decode(items: list[str], *, field: str = "photos") -> list[Photo]:
    """Base64 photos from a JSON body, checked."""
    if len(items) > conf.get("MAX_PHOTOS"):
        raise InvalidInput("violations.too_many_photos", f"照片最多{conf.get('MAX_PHOTOS')}张",
                           f"At most {conf.get('MAX_PHOTOS')} photos", field=field)
    out = []
    for item in items:
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("violations.photo_base64", "照片须为 Base64 编码", "A photo must be Base64-encoded",
                               field=field) from None
        out.append(photo_check(raw, field=field))
    return out


def evidence_files_store(photos: list[Photo]) -> dict[str, str]:
    """Store the photos' files, named by their content (``violations/evidence/<sha256[:2]>/<sha256>.<ext>``): a
    photo already stored (a resubmitted record, the same picture twice) is not written again, and no name needs
    the violation's id, so a batch writes its files before its transaction and its evidence rows in one insert.
    Returns {sha256: stored name}. Evidence files are never deleted, so rows may share one."""
    storage = Evidence._meta.get_field("file").storage
    names: dict[str, str] = {}
    for photo in photos:
        digest = photo.sha256
        if digest in names:
            continue
        name = f"violations/evidence/{digest[:2]}/{digest}.{photo.extension}"
        if not storage.exists(name):
            name = storage.save(name, ContentFile(photo.content))
        names[digest] = name
    return names


def _evidence_rows(violation: Violation, photos: list[Photo] | tuple[Photo, ...], names: dict[str, str],
                   now: dt.datetime) -> list[Evidence]:
    return [Evidence(violation=violation, file=names[p.sha256], content_type=p.content_type, size=len(p.content),
                     sha256=p.sha256, created_at=now) for p in photos]


def _store_photos(violation: Violation, photos: list[Photo]) -> None:
    if photos:
        Evidence.objects.bulk_create(_evidence_rows(violation, photos, evidence_files_store(photos), clock.now()))


# --- Recording -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    violation: Violation
    created: bool


def _unknown_code(code: str, field: str = "code") -> InvalidInput:
    return InvalidInput("violations.unknown_code", f"违法代码“{code}”不存在", f"Unknown violation code “{code}”",
                        field=field)


def code_get(*, code: str, field: str = "code") -> ViolationCode:
    row = ViolationCode.objects.filter(code=str(code).strip(), active=True).first()
    if row is None:
        raise _unknown_code(code, field)
    return row


def _vehicle_for(plate: str, plate_type: str, candidates: list | None = None):
    """The registry's vehicle for a plate. A plate of this city must exist in the registry (the registry is
    authoritative for it); a plate from another city is recorded without a vehicle. ``candidates``: the vehicles
    with this number, when the caller read them already (a device batch reads all its plates in one query)."""
    chosen = registry_selectors.plate_type_label(plate_type)
    if chosen is None:
        raise InvalidInput("violations.plate_type", "号牌种类不正确", "Unknown plate type", field="plate_type")
    if candidates is None:
        vehicle = registry_selectors.vehicle_by_plate(plate=plate, plate_type=plate_type)
    else:
        vehicle = next((v for v in candidates if v.plate_type == plate_type), None)
    if vehicle is None and plate.startswith(conf.get("CITY_PLATE_PREFIX")):
        other = registry_selectors.vehicle_by_plate(plate=plate) if candidates is None or candidates else None
        if other is not None:  # the number exists, with another 号牌种类: say so, not "does not exist"
            chosen_zh, chosen_en = zh_en(chosen)
            real_zh, real_en = zh_en(registry_selectors.plate_type_label(other.plate_type))
            raise InvalidInput("violations.plate_type_mismatch",
                               f"号牌“{plate}”登记的号牌种类是“{real_zh}”，不是“{chosen_zh}”，请核对号牌种类",
                               f"The plate “{plate}” is registered as “{real_en}”, not “{chosen_en}”; "
                               "check the plate type", field="plate_type")
        raise InvalidInput("violations.unknown_plate", f"号牌“{plate}”在本市机动车登记中不存在",
                           f"The plate “{plate}” is not registered in this city", field="plate")
    return vehicle


def _vehicle_key(plate: str, plate_type: str) -> str:
    return f"violations.vehicle:{plate_type}:{plate}"


def waivers_lock(*, vehicles: list[tuple[str, str]]) -> list[Violation]:
    """Lock what deciding a first-violation waiver of these vehicles (plate, plate type) reads and may change:
    the vehicles' waiver keys (advisory, sorted, one statement), then their waived violations (by id), which are
    returned (with code and vehicle). Every path that waives or takes a waiver back holds the key, so two uploads
    of one vehicle's violations decide one after the other (the second sees the first) and a citizen's waiver
    request cannot cross a late upload. Lock order: the vehicle keys → violations by id → points accounts → …
    (docs/architecture.md). A transaction that records several violations (the device batch) calls this once
    for all of them, before it writes anything."""
    keys = sorted({_vehicle_key(plate, plate_type) for plate, plate_type in vehicles})
    if not keys:
        return []
    q = None
    for plate, plate_type in sorted(set(vehicles)):
        part = Q(plate=plate, plate_type=plate_type)
        q = part if q is None else q | part
    assert q is not None
    with locks.bounded():  # one lock_timeout set/restore for the keys and the rows
        locks.lock_keys(keys)
        return locks.lock_rows(Violation.objects.filter(q, status=S.WAIVED), related=("code", "vehicle"))


def _record_fields(*, place: str, occurred_at: dt.datetime, device: Device | None,
                   device_record_id: str) -> tuple[str, str]:
    """The checks of a record's place, time and device record id (``violation_record`` and the device batch,
    in this order); the place and the record id cleaned."""
    place = (place or "").strip()
    if not place or len(place) > 120:
        raise InvalidInput("violations.place", "请填写违法地点（不超过120字）", "Give the place (at most 120 characters)",
                           field="place")
    if occurred_at.tzinfo is None:
        raise InvalidInput("violations.time_zone", "违法时间须带时区", "The time must carry a time zone",
                           field="occurred_at")
    now = clock.now()
    if occurred_at > now + dt.timedelta(seconds=60):
        raise InvalidInput("violations.future_time", "违法时间不能晚于当前时间", "The violation time is in the future",
                           field="occurred_at")
    if occurred_at < now - dt.timedelta(days=365 * 2):
        raise InvalidInput("violations.too_old", "违法时间超过两年，不能录入",
                           "The violation is more than two years old and cannot be recorded", field="occurred_at")
    device_record_id = (device_record_id or "").strip()
    if device is not None and not device_record_id:
        raise InvalidInput("violations.record_id", "缺少设备记录编号", "The device's record id is missing",
                           field="record_id")
    if len(device_record_id) > 64:
        raise InvalidInput("violations.record_id", "设备记录编号过长", "The device's record id is too long",
                           field="record_id")
    return place, device_record_id


def violation_record(*, plate: str, plate_type: str, code: str, place: str, occurred_at: dt.datetime,
                     source: str, actor: Actor, device: Device | None = None, device_record_id: str = "",
                     photos: list[Photo] | None = None, accident: bool = False,
                     congestion: bool = False) -> Recorded:
    """Record a violation (validated first: nothing is written when anything is wrong). A device's record id is
    recorded once: resubmitting it returns the first violation (``created`` False). A device records only within
    its scope (codes, area: ``signing.device_scope_require``, 403). The first-violation waiver is checked at once,
    and a violation that happened before a waived one of the same vehicle takes that waiver back (it was not the
    first): the waived one is open again, with its fine and points, audited, and its owner is told. (The device
    API records through ``device_records_ingest``, set-based, with the same rules.)"""
    plate = validate_plate(plate)
    code_row = code_get(code=code)
    if source not in Violation.Source.values:
        raise InvalidInput("violations.source", "来源不正确", "Unknown source", field="source")
    if source == Violation.Source.DEVICE and device is None:
        raise InvalidInput("violations.device_required", "非现场违法须由采集设备提交",
                           "A camera-recorded violation must come from a device", field="source")
    if source == Violation.Source.ON_SITE:
        require(actor, "violation.record")
    place, device_record_id = _record_fields(place=place, occurred_at=occurred_at, device=device,
                                             device_record_id=device_record_id)
    if device is not None:
        signing.device_scope_require(device=device, code=code_row.code, place=place)
        first = Violation.objects.filter(device=device, device_record_id=device_record_id).first()
        if first is not None:
            return Recorded(first, False)
    vehicle = _vehicle_for(plate, plate_type)
    photos = photos or []
    now = clock.now()
    try:
        with transaction.atomic():
            # the vehicle's key and its waived violations, locked before anything is written (lock order); the
            # ones that happened after this one may turn out not to be the first
            later = [row for row in waivers_lock(vehicles=[(plate, plate_type)]) if row.occurred_at > occurred_at]
            v = Violation.objects.create(
                plate=plate, plate_type=plate_type, vehicle=vehicle, code=code_row, points=code_row.points,
                fine_fen=code_row.fine_fen, place=place, occurred_at=occurred_at, source=source, device=device,
                device_record_id=device_record_id, accident=accident, congestion=congestion,
                recorded_by_id=actor.id, recorded_at=now, updated_at=now)
            _store_photos(v, photos)
            audit_record(actor=actor, action="violation.record", obj=v,
                         new={"plate": plate, "code": code_row.code, "occurred_at": occurred_at, "source": source,
                              "device_record_id": device_record_id},
                         subject_person_id=vehicle.owner_id if vehicle is not None else None)
            waiver = waiver_check(violation=v)
            if waiver is not None:
                _waive(v, waiver, actor=Actor.system("violations.waiver"))
            notices.violation_recorded_emit(violation=v)  # owner and bound users are told after commit
            _waivers_recheck(later, earlier=v)
    except IntegrityError:
        if device is None:
            raise
        # a concurrent submission of the same record id committed first
        return Recorded(Violation.objects.get(device=device, device_record_id=device_record_id), False)
    return Recorded(v, True)


# --- Device batches: set-based recording ---------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceRecord:
    """One record a device submitted (parsed by the API; checked by ``device_records_ingest``)."""

    record_id: str
    plate: str
    plate_type: str
    code: str
    place: str
    occurred_at: dt.datetime
    photos: tuple[Photo, ...] = ()


@dataclass
class _Fresh:
    """A checked record whose id the device had not used yet, and what became of it."""

    index: int
    record: DeviceRecord
    plate: str
    code: ViolationCode
    place: str
    record_id: str
    vehicle: Vehicle | None
    violation: Violation | None = None
    created: bool = False


def device_records_ingest(*, device: Device, records: list[DeviceRecord],
                          actor: Actor) -> list[Recorded | DomainError]:
    """Record a device's records (the signed API: one record or a batch) with a fixed number of queries whatever
    the batch's size, one audit row per record, and answer each on its own: ``Recorded`` (``created`` False for a record
    id the device used before, in an earlier request or earlier in this one: the first violation is answered) or
    the ``DomainError`` that refuses it (invalid, outside the device's scope, unknown plate), which writes nothing.

    The same checks as ``violation_record``, in the same order; then, with no lock held, the known record ids
    (one query), the plates' vehicles (one query) and the evidence files (by content, ``evidence_files_store``).
    Then one transaction: the vehicles' waiver keys (all at once, sorted) and their waived violations
    (``waivers_lock``), the new violations in one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` in record-id
    order (a record id a concurrent request stored first is skipped — it waits for that request — and answered
    as a duplicate: stored once, whichever commits first), the evidence rows in one insert, the vehicles'
    violations read once to decide every first-violation waiver by occurrence time (``rules.occurrence_key``;
    ids follow record-id order within a batch), the waived ones set in one update, a late earlier violation
    taking back a waiver (``_unwaive_many``), the audit rows in one insert per actor (``core.audit.audit_records``:
    the device's "violation.record" rows, the waiver rule's), and the outbox events in one insert."""
    results: list[Recorded | DomainError | None] = [None] * len(records)
    wanted = {str(r.code).strip() for r in records}
    codes = {c.code: c for c in ViolationCode.objects.filter(code__in=sorted(wanted), active=True)} if wanted else {}
    checked: list[tuple[int, DeviceRecord, str, ViolationCode, str, str]] = []
    for i, r in enumerate(records):
        try:
            plate = validate_plate(r.plate)
            code_row = codes.get(str(r.code).strip())
            if code_row is None:
                raise _unknown_code(r.code)
            place, record_id = _record_fields(place=r.place, occurred_at=r.occurred_at, device=device,
                                              device_record_id=r.record_id)
            signing.device_scope_require(device=device, code=code_row.code, place=place)
        except DomainError as exc:
            results[i] = exc
            continue
        checked.append((i, r, plate, code_row, place, record_id))
    seen: dict[str, Violation] = {}
    if checked:
        seen = {v.device_record_id: v for v in Violation.objects.filter(
            device=device, device_record_id__in=sorted({c[5] for c in checked}))}
    plates = {c[2] for c in checked if c[5] not in seen}
    vehicles = registry_selectors.vehicles_by_plates(plates=plates) if plates else {}
    fresh: dict[str, _Fresh] = {}
    repeats: list[tuple[int, str]] = []
    for i, r, plate, code_row, place, record_id in checked:
        if record_id in seen:
            results[i] = Recorded(seen[record_id], False)
            continue
        if record_id in fresh:  # earlier in this request: answered as that one
            repeats.append((i, record_id))
            continue
        try:
            vehicle = _vehicle_for(plate, r.plate_type, vehicles.get(plate, []))
        except DomainError as exc:
            results[i] = exc
            continue
        fresh[record_id] = _Fresh(i, r, plate, code_row, place, record_id, vehicle)
    if fresh:
        names = evidence_files_store([p for f in fresh.values() for p in f.record.photos])
        # the request's transaction when there is one (the API's, with the nonce): no savepoint of its own
        with transaction.atomic(savepoint=False):
            _fresh_record(list(fresh.values()), device=device, actor=actor, names=names)
    for f in fresh.values():
        assert f.violation is not None
        results[f.index] = Recorded(f.violation, f.created)
    for i, record_id in repeats:
        first = fresh[record_id].violation
        assert first is not None
        results[i] = Recorded(first, False)
    return [r for r in results if r is not None]


def _insert_new(rows: list[Violation]) -> dict[str, int]:
    """The rows in one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite): {record id: id} of
    those inserted; a row whose (device, record id) is stored already — or by a concurrent transaction, which
    this one waits for — is left out. The caller sorts the rows by record id, so two requests of one device
    that share record ids insert them in the same order and cannot deadlock."""
    meta = Violation._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    def qn(name: str | None) -> str:
        return connection.ops.quote_name(str(name))

    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES {', '.join([one] * len(rows))} ON CONFLICT DO NOTHING "
           f"RETURNING {qn(meta.pk.column)}, {qn(meta.get_field('device_record_id').column)}")
    params = [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows for f in fields]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {record_id: pk for pk, record_id in cur.fetchall()}


def _fresh_record(items: list[_Fresh], *, device: Device, actor: Actor, names: dict[str, str]) -> None:
    """``device_records_ingest``'s transaction (see there)."""
    now = clock.now()
    waivers_lock(vehicles=[(f.plate, f.record.plate_type) for f in items])  # every lock, before any write
    rows = {f.record_id: Violation(
        plate=f.plate, plate_type=f.record.plate_type, vehicle=f.vehicle, code=f.code, points=f.code.points,
        fine_fen=f.code.fine_fen, place=f.place, occurred_at=f.record.occurred_at, source=Violation.Source.DEVICE,
        device=device, device_record_id=f.record_id, accident=False, congestion=False, recorded_by_id=actor.id,
        recorded_at=now, updated_at=now) for f in sorted(items, key=lambda f: f.record_id)}
    ids = _insert_new(list(rows.values()))
    lost = sorted(set(rows) - set(ids))
    firsts = ({v.device_record_id: v for v in Violation.objects.filter(device=device, device_record_id__in=lost)}
              if lost else {})
    created: list[Violation] = []
    for f in items:  # in the request's order
        if f.record_id in ids:
            row = rows[f.record_id]
            row.pk = ids[f.record_id]
            row._state.adding, row._state.db = False, connection.alias
            f.violation, f.created = row, True
            created.append(row)
        else:  # a concurrent request stored this record id first
            f.violation = firsts[f.record_id]
    if not created:
        return
    by_pk = {f.violation.pk: f for f in items if f.created and f.violation is not None}
    Evidence.objects.bulk_create([ev for row in created
                                  for ev in _evidence_rows(row, by_pk[row.pk].record.photos, names, now)])
    waive, unwaive, rerule = _waivers_decide(created)
    by_rule: dict[str, list[int]] = {}
    for pk, waiver in waive.items():
        by_rule.setdefault(waiver.rule, []).append(pk)
    if waive:
        VIOLATION_TRANSITIONS.check(S.RECORDED, S.WAIVED)
    for rule, pks in sorted(by_rule.items()):  # a warning: no fine, no points
        Violation.objects.filter(pk__in=pks, status=S.RECORDED).update(status=S.WAIVED, waiver_rule=rule, points=0,
                                                                       fine_fen=0, updated_at=now)
    recorded: list[Change] = []
    waivers: list[Change] = []
    for row in created:
        owner_id = row.vehicle.owner_id if row.vehicle is not None else None
        recorded.append(Change(action="violation.record", object_type=LABEL, object_id=row.pk,
                               new={"plate": row.plate, "code": row.code.code, "occurred_at": row.occurred_at,
                                    "source": row.source, "device_record_id": row.device_record_id},
                               subject_person_id=owner_id))
        granted = waive.get(row.pk)
        if granted is not None:
            old = _state(row)
            row.status, row.waiver_rule, row.points, row.fine_fen = S.WAIVED, granted.rule, 0, 0
            waivers.append(Change(action="violation.waive", object_type=LABEL, object_id=row.pk, old=old,
                                  new=_state(row), reason=f"{granted.zh} {granted.en}", subject_person_id=owner_id))
    if unwaive:
        waivers += _unwaive_many(unwaive, now=now)
    audit_records(actor=actor, changes=recorded)  # one audit row per record, in one insert
    audit_records(actor=Actor.system("violations.waiver"), changes=waivers)
    for row, waiver in rerule:  # rare: a late upload that breaks one rule set's clean period, not the other's
        _waiver_rule_set(row, waiver)
    events_emit(topic=notices.TOPIC_RECORDED, payloads=[notices.recorded_payload(violation=row) for row in created])
    records_changed(vehicle_ids=[row.vehicle_id for row in created]
                    + [earlier.vehicle_id for _, earlier in unwaive])  # one mark for the whole batch


def _waivers_decide(created: list[Violation]) -> tuple[dict[int, rules.Waiver], list[tuple[Violation, Violation]],
                                                         list[tuple[Violation, rules.Waiver]]]:
    """Under the vehicles' keys and their waived rows' locks: every first-violation waiver the new violations
    (``created``, inserted, not yet decided) settle, from one read of their vehicles' violations (revoked ones
    aside), in occurrence order. Returns the new ones to waive (by id), the waived ones that a new one before
    them shows were not the first (each with the nearest new one before it), and the waived ones still waived
    under the other rule set — what ``violation_record`` decides one record at a time."""
    new = {row.pk: row for row in created}
    keys = {(row.plate, row.plate_type) for row in created}
    vehicles: dict[tuple[str, str], list[Violation]] = {}
    for row in (Violation.objects.filter(plate__in=sorted({p for p, _ in keys})).exclude(status=S.REVOKED)
                .select_related("code", "vehicle")):
        if (row.plate, row.plate_type) in keys:
            vehicles.setdefault((row.plate, row.plate_type), []).append(new.get(row.pk, row))
    waive: dict[int, rules.Waiver] = {}
    unwaive: list[tuple[Violation, Violation]] = []
    rerule: list[tuple[Violation, rules.Waiver]] = []
    for rows in vehicles.values():
        rows.sort(key=lambda r: rules.occurrence_key(r.occurred_at, r.pk))
        earliest = min(rules.occurrence_key(r.occurred_at, r.pk) for r in rows if r.pk in new)
        nearest: Violation | None = None  # the latest new violation before the row looked at
        for i, row in enumerate(rows):
            if row.pk in new:
                waiver = waiver_check(violation=row, prior=rows[:i])
                if waiver is not None:
                    waive[row.pk] = waiver
                nearest = row
            elif row.status == S.WAIVED and rules.precedes(earliest, rules.occurrence_key(row.occurred_at, row.pk)):
                assert nearest is not None
                waiver = waiver_check(violation=row, prior=rows[:i])
                if waiver is None:
                    unwaive.append((row, nearest))
                elif waiver.rule != row.waiver_rule:
                    rerule.append((row, waiver))
    return waive, unwaive, rerule


# --- Transitions -----------------------------------------------------------------------------------------------

def _transition(*, violation: Violation, to: str, action: str, actor: Actor, reason: str = "",
                extra: dict | None = None, allowed_from: frozenset[str] | None = None) -> Violation:
    """Lock, check the step against ``rules.VIOLATION_TRANSITIONS`` (and ``allowed_from``: an action that is
    only one of several ways into ``to``), write, audit."""
    with transaction.atomic():
        locked = Violation.objects.select_for_update().get(pk=violation.pk)
        VIOLATION_TRANSITIONS.check(locked.status, to, allowed_from=allowed_from)
        old = _state(locked)
        locked.status = to
        for key, value in (extra or {}).items():
            setattr(locked, key, value)
        locked.updated_at = clock.now()
        locked.save(update_fields=["status", "updated_at", *(extra or {})])
        records_changed(vehicle_ids=[locked.vehicle_id])
        audit_record(actor=actor, action=action, obj=locked, old=old, new=_state(locked), reason=reason,
                     subject_person_id=locked.vehicle.owner_id if locked.vehicle is not None else None)
    violation.status = locked.status
    for key in (extra or {}):
        setattr(violation, key, getattr(locked, key))
    violation.updated_at = locked.updated_at
    return violation


def _waive(v: Violation, waiver: rules.Waiver, *, actor: Actor) -> Violation:
    return _transition(violation=v, to=S.WAIVED, action="violation.waive", actor=actor, reason=f"{waiver.zh} {waiver.en}",
                       extra={"waiver_rule": waiver.rule, "points": 0, "fine_fen": 0})  # a warning: no fine, no points


def _unwaive(v: Violation, *, earlier: Violation) -> Violation:
    """Take back a waiver that ``earlier`` (a violation of the same vehicle that happened before it, recorded
    later) shows was not the first: back to recorded, payable again with the code's fine and points (what a
    waiver set to 0), audited, and everyone who may see it is told (after commit)."""
    rule = v.waiver_rule
    _transition(violation=v, to=S.RECORDED, allowed_from=rules.UNWAIVE_FROM, action="violation.unwaive",
                actor=Actor.system("violations.waiver"), reason=_unwaive_reason(earlier),
                extra={"waiver_rule": "", "points": v.code.points, "fine_fen": v.code.fine_fen})
    notices.waiver_withdrawn_emit(violation=v, earlier=earlier, rule=rule)
    return v


def _unwaive_reason(earlier: Violation) -> str:
    when = clock.localtime(earlier.occurred_at)
    return (f"首违免罚撤回：该车此前（{when:%Y-%m-%d %H:%M}）已有交通违法记录（{earlier.pk}），不是首次违法 "
            f"Waiver withdrawn: the vehicle had an earlier violation ({earlier.pk}, {when:%Y-%m-%d %H:%M}), so "
            "this one was not the first")


def _unwaive_many(pairs: list[tuple[Violation, Violation]], *, now: dt.datetime) -> list[Change]:
    """``_unwaive`` for the waived violations a device batch shows were not the first (each with the new one
    before it), set-based: under the vehicles' keys and these rows' locks (``waivers_lock``), one update back to
    recorded with the code's fine and points, their notices' outbox rows in one insert; returns their audit
    changes (the caller appends them with its others)."""
    VIOLATION_TRANSITIONS.check(S.WAIVED, S.RECORDED, allowed_from=rules.UNWAIVE_FROM)
    code = ViolationCode.objects.filter(pk=OuterRef("code_id"))
    Violation.objects.filter(pk__in=[row.pk for row, _ in pairs], status=S.WAIVED).update(
        status=S.RECORDED, waiver_rule="", points=Subquery(code.values("points")),
        fine_fen=Subquery(code.values("fine_fen")), updated_at=now)
    changes, payloads = [], []
    for row, earlier in pairs:
        old, rule = _state(row), row.waiver_rule
        row.status, row.waiver_rule, row.points, row.fine_fen = S.RECORDED, "", row.code.points, row.code.fine_fen
        row.updated_at = now
        changes.append(Change(action="violation.unwaive", object_type=LABEL, object_id=row.pk, old=old,
                              new=_state(row), reason=_unwaive_reason(earlier),
                              subject_person_id=row.vehicle.owner_id if row.vehicle is not None else None))
        payloads.append(notices.withdrawn_payload(violation=row, earlier=earlier, rule=rule))
    events_emit(topic=notices.TOPIC_UNWAIVED, payloads=payloads)
    return changes


def _waivers_recheck(later: list[Violation], *, earlier: Violation) -> None:
    """Under the vehicle's key and the rows' locks (``waivers_lock``): each waived violation after
    ``earlier`` is checked again now that ``earlier`` counts before it. No longer the first: the waiver is taken
    back. Still waived but under the other rule set (e.g. Shenzhen's 24 clean months broken, the national list's
    6 still clean): the rule is corrected, audited. Adding an earlier violation never makes one waivable that was
    not, so the violations that are not waived need no look."""
    for row in sorted(later, key=lambda r: rules.occurrence_key(r.occurred_at, r.pk)):
        row.refresh_from_db()
        if row.status != S.WAIVED:  # revoked meanwhile (it was locked: not by a concurrent transaction)
            continue
        waiver = waiver_check(violation=row)
        if waiver is None:
            _unwaive(row, earlier=earlier)
        elif waiver.rule != row.waiver_rule:
            _waiver_rule_set(row, waiver)


def _waiver_rule_set(row: Violation, waiver: rules.Waiver) -> None:
    """A waived violation stays waived under the other rule set (an earlier one recorded late broke the first
    set's clean period, not the second's): the rule corrected, audited; nobody is told anything new."""
    old = _state(row)
    row.waiver_rule = waiver.rule
    row.updated_at = clock.now()
    row.save(update_fields=["waiver_rule", "updated_at"])
    records_changed(vehicle_ids=[row.vehicle_id])
    audit_record(actor=Actor.system("violations.waiver"), action="violation.waiver_rule", obj=row, old=old,
                 new=_state(row), reason=f"{waiver.zh} {waiver.en}",
                 subject_person_id=row.vehicle.owner_id if row.vehicle is not None else None)


def _mark_handled(v: Violation, *, actor: Actor) -> Violation:
    return _transition(violation=v, to=S.HANDLED, allowed_from=rules.HANDLE_FROM, action="violation.handle",
                       actor=actor)


def violation_mark_paid(*, violation: Violation, actor: Actor) -> Violation:
    return _transition(violation=violation, to=S.PAID, allowed_from=frozenset({S.HANDLED}),
                       action="violation.paid", actor=actor)


def _dispute_open(v: Violation, *, actor: Actor, reason: str) -> Violation:
    return _transition(violation=v, to=S.DISPUTED, action="violation.dispute", actor=actor, reason=reason,
                       extra={"status_before_dispute": v.status})


def _dispute_reject(v: Violation, *, actor: Actor, reason: str) -> Violation:
    return _transition(violation=v, to=v.status_before_dispute or S.RECORDED, allowed_from=frozenset({S.DISPUTED}),
                       action="violation.dispute_rejected", actor=actor, reason=reason,
                       extra={"status_before_dispute": ""})


def _revoke_lock(violation_ids: list[int]) -> None:
    """Everything a revocation writes, locked before its first audit row, in the lock order of every
    violations path (docs/architecture.md): the violations (by id) → the points accounts their points went to
    (by id) → what is owed for their decisions (payments: order, then item). A revocation that locked the
    account or the payable in another order could deadlock with a handling or a payment that holds them and
    waits for the violation."""
    locks.lock_rows(Violation, violation_ids)
    accounts = PointsEntry.objects.filter(violation_id__in=violation_ids, kind=PointsEntry.Kind.ASSIGN)
    for account in PointsAccount.objects.filter(pk__in=accounts.values("account_id")).order_by("pk"):
        _lock_from(account)  # the account and its licence's later ones (a revocation corrects what they carried)
    for decision_id in sorted(PenaltyDecision.objects.filter(violation_id__in=violation_ids, fine_fen__gt=0)
                              .values_list("pk", flat=True)):
        _payments().payable_lock(source_type=SOURCE_TYPE, source_id=str(decision_id))


def violation_revoke(*, violation: Violation, actor: Actor, reason: str) -> Violation:
    """撤销: the violation is void — its points come off the licence and its fine is cancelled or refunded.
    Approvers only (it moves points and money back): a window clerk records, an approver revokes."""
    require(actor, "violation.revoke")
    if not (reason or "").strip():
        raise InvalidInput("violations.reason", "请填写撤销原因", "Give the reason", field="reason")
    with transaction.atomic():
        _revoke_lock([violation.pk])
        # the points first: their licence is locked (registry) before this transaction's first audit row
        points_reverse(violation=violation, actor=actor)
        v = _transition(violation=violation, to=S.REVOKED, action="violation.revoke", actor=actor, reason=reason)
        decision = PenaltyDecision.objects.filter(violation=v).first()
        if decision is not None and decision.fine_fen > 0:
            _payments().payable_cancel(source_type=SOURCE_TYPE, source_id=str(decision.pk), actor=actor,
                                       reason=reason)
    return v


# --- Waivers -------------------------------------------------------------------------------------------------

# The facts and the check are reads (selectors.waiver_facts / waiver_check / waiver_offer): the page offers the
# waiver from the same function this service enforces.


def violation_request_waiver(*, user, violation_id: int) -> Violation:
    """A citizen asks for the first-violation waiver of an unhandled violation of their vehicle."""
    v = selectors.my_violation(user=user, violation_id=violation_id)
    with transaction.atomic():
        # the vehicle's waiver key first (a late upload of an earlier violation holds it), then the row
        waivers_lock(vehicles=[(v.plate, v.plate_type)])
        locked = locks.lock_row(Violation.objects.select_related("code", "vehicle"), v.pk)
        assert locked is not None  # violations are never deleted
        if locked.status == S.WAIVED:
            return locked
        offer = waiver_offer(violation=locked)  # the same check the detail page offers the button from
        if locked.status != S.RECORDED:
            raise Conflict(rules.NOT_OPEN.code, rules.NOT_OPEN.zh, rules.NOT_OPEN.en, field="status")
        if offer.waiver is None:
            raise Conflict("violations.no_waiver",
                           "不符合首违免罚条件（本市首违免罚六项条件或全国首违警告清单），请按正常程序处理",
                           "The first-violation waiver does not apply (neither the city's six conditions nor the "
                           "national first-violation list); handle it in the normal way")
        return _waive(locked, offer.waiver, actor=Actor.of(user))


# --- Points ledger ---------------------------------------------------------------------------------------------

def _unpaid_points(*, licence, upto: dt.date) -> int:
    """Points of the licence's violations handled in cycles starting on or before ``upto`` whose fines are still
    unpaid (and not reversed): what may carry over at a cycle's end."""
    reversed_ids = PointsEntry.objects.filter(account__licence=licence, kind=PointsEntry.Kind.REVERSE).values(
        "violation_id")
    return sum(PointsEntry.objects.filter(
        account__licence=licence, account__cycle_start__lte=upto, kind=PointsEntry.Kind.ASSIGN,
        violation__status=S.HANDLED, violation__fine_fen__gt=0).exclude(violation_id__in=reversed_ids)
        .values_list("points", flat=True))


def points_carry_into(*, licence, cycle_start: dt.date) -> int:
    """The points a licence brings into the cycle starting on ``cycle_start`` (公安部令第163号, DOMAIN §3/§4):
    from the latest earlier cycle with points, a full score (12+) stays whole; under 12 only the points of
    violations whose fines are still unpaid carry over (bounded by that cycle's total); everything else clears,
    an opening balance (points from outside the ledger, whose fines the platform does not know) included."""
    prev = (PointsAccount.objects.filter(licence=licence, cycle_start__lt=cycle_start)
            .order_by("-cycle_start").first())
    if prev is None or prev.total <= 0:
        return 0
    return points_after_cycle(points=prev.total, unpaid_points=_unpaid_points(licence=licence,
                                                                              upto=prev.cycle_start))


def _mirror_points(*, licence, account: PointsAccount, actor: Actor, reason: str) -> None:
    """Keep the registry's figure (DrivingLicence.cycle_points, shown on every licence card) in step with the
    ledger, for the current cycle only: an account of an earlier cycle changes no current figure. This is the
    only writer of the card's figure: it is always the current account's total, never added to."""
    today = clock.today()
    current_start, _ = scoring_cycle(licence.first_issue_date, max(today, licence.first_issue_date))
    if account.cycle_start != current_start:
        return
    registry_services.licence_points_set(licence=licence, points=max(account.total, 0), cycle_start=account.cycle_start,
                                actor=actor, reason=reason)


def _account_locked(licence, on: dt.date, *, mirror: bool = True, from_card: bool = True) -> PointsAccount:
    """The licence's points account of the cycle containing ``on``, locked; opened (with what the previous
    cycle carries into it) the first time it is needed. The first account a licence ever gets also takes, as
    its opening balance, the figure on the licence card that the ledger has never seen (``from_card``: points
    on file before the ledger, or written by anything but the ledger): the ledger adds to it, never replaces it.

    Lock order, everywhere in the ledger: the violation row (when there is one), then the licence's points
    accounts in cycle order, then the licence row (the mirror). (Audit rows take no lock.)"""
    start, end = scoring_cycle(licence.first_issue_date, max(on, licence.first_issue_date))
    account = PointsAccount.objects.select_for_update().filter(licence=licence, cycle_start=start).first()
    if account is not None:
        return account
    carry = points_carry_into(licence=licence, cycle_start=start)
    first = from_card and not PointsAccount.objects.filter(licence=licence).exists()
    opening = 0
    try:
        with transaction.atomic():
            created = PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=carry,
                                                   carried_in=carry)
            if first:
                opening = _opening_from_card(licence=licence, account=created)
    except IntegrityError:
        opening = 0  # opened concurrently
    account = PointsAccount.objects.select_for_update().get(licence=licence, cycle_start=start)
    if mirror or opening:
        _mirror_points(licence=licence, account=account, actor=Actor.system("violations.points"),
                       reason="新记分周期 new scoring cycle")
    if opening:  # after the mirror's lock on the licence row (lock order)
        audit_record(actor=Actor.system("violations.points"), action="licence.points_opening",
                     object_type="registry.drivinglicence", object_id=licence.pk,
                     old={"points": account.total - opening, "opening": 0},
                     new={"points": account.total, "opening": opening},
                     reason=f"期初记分 opening balance {opening} (registry.card, cycle {start})",
                     subject_person_id=licence.person_id)
    return account


def _card_points(*, licence, cycle_start: dt.date) -> int:
    """What the licence card's figure brings into the cycle starting on ``cycle_start`` when the ledger has never
    seen it (see ``_account_locked``): points of that cycle whole; points of an earlier cycle as that cycle's end
    would carry them (a full score whole, otherwise nothing: the platform knows of no unpaid fine behind them)."""
    points, start = registry_selectors.licence_card_points(licence_id=licence.pk)
    if not points or start is None or start > cycle_start:
        return 0
    return points if start == cycle_start else points_after_cycle(points=points, unpaid_points=0)


def _opening_from_card(*, licence, account: PointsAccount) -> int:
    points = _card_points(licence=licence, cycle_start=account.cycle_start)
    if not points:
        return 0
    PointsEntry.objects.create(account=account, violation=None, kind=PointsEntry.Kind.OPENING, points=points,
                               source="registry.card", created_at=clock.now())
    account.total += points
    if account.total >= conf.get("FULL_SCORE"):
        account.full_score_at = clock.now()
    account.save(update_fields=["total", "full_score_at"])
    return points


def points_cycles_open(*, on: dt.date | None = None, chunk: int = 500) -> int:
    """Open the new cycle's account of every licence whose last account's cycle has ended, so what carries
    over is decided at the cycle's end (fines paid later do not clear carried points). Idempotent; returns how
    many accounts were opened."""
    on = on or clock.today()
    opened = 0
    ended = (PointsAccount.objects.filter(cycle_end__lt=on).values_list("licence_id", flat=True).distinct()
             .order_by("licence_id"))
    last = 0
    while True:
        ids = list(ended.filter(licence_id__gt=last)[:chunk])
        if not ids:
            return opened
        last = ids[-1]
        for licence in registry_selectors.licences_by_id(licence_ids=ids).values():
            with transaction.atomic():
                before = PointsAccount.objects.filter(licence=licence).count()
                _account_locked(licence, on)
                opened += PointsAccount.objects.filter(licence=licence).count() - before


def points_assign(*, violation: Violation, licence, actor: Actor) -> PointsEntry | None:
    """Put a handled violation's points on the licence (in the scoring cycle of today) exactly once. Reaching
    the full score (12) suspends the licence. None when the violation carries no points."""
    if violation.points == 0:
        return None
    with transaction.atomic():
        account = _account_locked(licence, clock.today())
        if PointsEntry.objects.filter(violation=violation, kind=PointsEntry.Kind.ASSIGN).exists():
            raise Conflict("violations.points_assigned", "该违法的记分已记入驾驶证",
                           "This violation's points are already on a licence")
        entry = PointsEntry.objects.create(account=account, violation=violation, kind=PointsEntry.Kind.ASSIGN,
                                           points=violation.points, created_at=clock.now())
        before = account.total
        account.total = before + violation.points
        full = conf.get("FULL_SCORE")
        reached = before < full <= account.total
        if reached:
            account.full_score_at = clock.now()
        account.save(update_fields=["total", "full_score_at"])
        _mirror_points(licence=licence, account=account, actor=actor, reason=f"violation {violation.pk}")
        audit_record(actor=actor, action="licence.points_add", object_type="registry.drivinglicence",
                     object_id=licence.pk, old={"points": before}, new={"points": account.total},
                     reason=f"violation {violation.pk} {violation.code_id}", subject_person_id=licence.person_id)
        if reached:
            _full_score(licence=licence, total=account.total)
        else:
            _probation_points_check(licence=licence)
    return entry


def _full_score(*, licence, total: int) -> None:
    """12 points reached: the licence is suspended until study and exam — and the classes in probation, if any, are
    cancelled (公安部令第162号第七十七条; registry.rules.probation_cancels): a first licence's are all its classes,
    so it is cancelled; an added class (增驾) leaves the record and the rest of the licence is suspended."""
    if licence.status != "valid":  # already suspended, expired…: no new step, but the holder is told
        _notify(licence=licence, template="points.full_score", params={"points": total})
        return
    actor = Actor.system("violations.points")
    cancelled = registry_services.licence_probation_cancel(
        licence=licence, actor=actor,
        reason=f"实习期内记分周期累积记分达到{total}分 {total} points in the scoring cycle during probation")
    if cancelled and licence.status != "valid":  # a first licence: cancelled, a new one must be applied for
        _notify(licence=licence, template="points.probation_full_score", params={"points": total})
    elif cancelled:
        _notify(licence=licence, template="licence.probation_class_cancelled",
                params={"points": total, "classes": " ".join(cancelled)})
    if licence.status == "valid":
        registry_services.licence_suspend(licence=licence, actor=actor,
                                          reason=f"记分周期内累积记分达到{total}分 {total} points in the scoring cycle")
        _notify(licence=licence, template="points.full_score", params={"points": total})


def _probation_points_check(*, licence) -> None:
    """In an extended probation (A/B classes), 6 points or more again cancel the class in probation
    (registry.rules.extended_probation_cancels): checked when points are added below the full score."""
    today = clock.today()
    if licence.status != "valid" or not registry_rules.in_probation(licence.probation_until, today):
        return
    classes = licence.probation_classes.split()
    start = registry_rules.probation_start(probation_classes=classes, class_since=licence.class_since or {},
                                           first_issue_date=licence.first_issue_date)
    extended = registry_rules.probation_extended(probation_until=licence.probation_until, start=start)
    if not extended:
        return
    extension_start = registry_rules.probation_end(start) + dt.timedelta(days=1)
    points = selectors.points_during(licence=licence, start=extension_start, end=today)
    if not registry_rules.extended_probation_cancels(probation_classes=classes, points_in_extension=points,
                                                     extended=extended, in_probation_now=True):
        return
    cancelled = registry_services.licence_probation_cancel(
        licence=licence, actor=Actor.system("violations.points"),
        reason=f"延长的实习期内再次记{points}分（6分以上） {points} points again in the extended probation")
    if cancelled:
        _notify(licence=licence, template="licence.probation_class_cancelled",
                params={"points": points, "classes": " ".join(cancelled)})


def _notify(*, licence, template: str, params: dict) -> None:
    phone = licence.person.phone
    if not phone:
        return
    try:
        message_send(template=template, params=params, phone=phone)
    except NotificationError:  # the template is not seeded yet: the audit row and the status still stand
        log.warning("no message template %s: SMS not sent for licence %s", template, licence.pk)


def probation_review(*, on: dt.date | None = None, window_days: int = 30) -> int:
    """The daily probation review (DOMAIN §3, 公安部令第162号第七十七条): a licence whose A or B class was in a
    probation that ended in the last ``window_days`` days with 6–11 points in that year gets one more year of
    probation, once (registry.rules.probation_extends). The points are the ledger's, recorded in the probation
    year (selectors.points_during: a first licence's probation is its first cycle; an added class's is its own
    year). Each licence in its own transaction; idempotent (an extended probation is not extended again).
    Returns how many were extended."""
    on = on or clock.today()
    actor = Actor.system("violations.probation_review")
    extended, after = 0, 0
    since, until = on - dt.timedelta(days=window_days), on - dt.timedelta(days=1)
    while licences := registry_selectors.licences_probation_ended(since=since, until=until, after_id=after):
        after = licences[-1].pk
        for licence in licences:
            classes = licence.probation_classes.split()
            start = registry_rules.probation_start(probation_classes=classes, class_since=licence.class_since or {},
                                                   first_issue_date=licence.first_issue_date)
            if licence.probation_until is None:  # the selector's filter: never
                continue
            points = selectors.points_during(licence=licence, start=start, end=licence.probation_until)
            done = registry_rules.probation_extended(probation_until=licence.probation_until, start=start)
            if not registry_rules.probation_extends(probation_classes=classes, points=points, extended=done):
                continue
            with transaction.atomic():
                if registry_services.licence_probation_extend(
                        licence=licence, actor=actor,
                        reason=f"实习期内记{points}分（6分以上未满12分），实习期延长一年 "
                               f"{points} points during probation: probation extended by a year"):
                    extended += 1
                    if licence.probation_until is not None:
                        _notify(licence=licence, template="licence.probation_extended",
                                params={"points": points, "date": licence.probation_until.isoformat()})
    return extended


def points_reverse(*, violation: Violation, actor: Actor, status_before: str | None = None) -> PointsEntry | None:
    """Take a revoked violation's points off the licence it went to (once; None if it had none). When they went
    to a cycle that has ended, what that cycle carried into the next ones is corrected too (``_carry_on``).
    ``status_before``: the violation's status before its revocation (default: its status now)."""
    with transaction.atomic():
        assigned = PointsEntry.objects.filter(violation=violation, kind=PointsEntry.Kind.ASSIGN).first()
        if assigned is None:
            return None
        account = _lock_from(PointsAccount.objects.get(pk=assigned.account_id))
        if PointsEntry.objects.filter(violation=violation, kind=PointsEntry.Kind.REVERSE).exists():
            return None
        if status_before is None:
            status_before = Violation.objects.values_list("status", flat=True).get(pk=violation.pk)
        entry = PointsEntry.objects.create(account=account, violation=violation, kind=PointsEntry.Kind.REVERSE,
                                           points=-assigned.points, created_at=clock.now())
        before = account.total
        account.total = before - assigned.points
        account.save(update_fields=["total"])
        licence = account.licence
        _mirror_points(licence=licence, account=account, actor=actor,
                       reason=f"violation {violation.pk} revoked")
        audit_record(actor=actor, action="licence.points_remove", object_type="registry.drivinglicence",
                     object_id=account.licence_id, old={"points": before}, new={"points": account.total},
                     reason=f"violation {violation.pk} revoked", subject_person_id=licence.person_id)
        was_unpaid = status_before == S.HANDLED and violation.fine_fen > 0
        _carry_on(licence=licence, account=account, before_total=before,
                  unpaid_before_extra=assigned.points if was_unpaid else 0, actor=actor,
                  reason=f"violation {violation.pk} revoked")
    return entry


def _lock_from(account: PointsAccount) -> PointsAccount:
    """Lock ``account`` and every later account of its licence, in cycle order (the ledger's lock order), before
    anything else is locked; returns ``account`` as locked."""
    locked = list(PointsAccount.objects.select_for_update().filter(
        licence_id=account.licence_id, cycle_start__gte=account.cycle_start).order_by("cycle_start"))
    return locked[0]


def _carry_on(*, licence, account: PointsAccount, before_total: int, unpaid_before_extra: int, actor: Actor,
              reason: str) -> None:
    """The total of ``account`` changed (from ``before_total``) after later cycles had opened: change what it
    carried into each later cycle by the carry rule's difference, in cycle order, with the unpaid points the
    rule saw before (``unpaid_before_extra`` more than now: a revoked violation whose fine was unpaid). What
    carried stays bounded by the earlier cycle's total. Under the caller's lock on ``account``."""
    prev, prev_before = account, before_total
    later = (PointsAccount.objects.select_for_update().filter(licence=licence, cycle_start__gt=account.cycle_start)
             .order_by("cycle_start"))
    for acc in later:
        if prev.total == prev_before:
            return
        unpaid = _unpaid_points(licence=licence, upto=prev.cycle_start)
        delta = (points_after_cycle(points=max(prev.total, 0), unpaid_points=unpaid)
                 - points_after_cycle(points=max(prev_before, 0), unpaid_points=unpaid + unpaid_before_extra))
        carried = max(0, min(acc.carried_in + delta, max(prev.total, 0)))
        before = acc.total
        if carried == acc.carried_in:
            return
        old_carried, acc.carried_in = acc.carried_in, carried
        acc.total = before + carried - old_carried
        full = conf.get("FULL_SCORE")
        if before < full <= acc.total and acc.full_score_at is None:
            acc.full_score_at = clock.now()
        acc.save(update_fields=["carried_in", "total", "full_score_at"])
        _mirror_points(licence=licence, account=acc, actor=actor, reason=f"{reason}: carried into {acc.cycle_start}")
        audit_record(actor=actor, action="licence.points_carry", object_type="registry.drivinglicence",
                     object_id=licence.pk, old={"points": before, "carried_in": old_carried},
                     new={"points": acc.total, "carried_in": carried},
                     reason=f"{reason}: carried into the cycle of {acc.cycle_start}",
                     subject_person_id=licence.person_id)
        prev, prev_before = acc, before


@dataclass(frozen=True)
class Opening:
    """Points a licence had from outside the ledger in the scoring cycle starting on ``cycle_start``."""

    licence_id: int
    points: int
    cycle_start: dt.date


def points_opening_set(*, licence, points: int, cycle_start: dt.date, source: str, actor: Actor) -> PointsEntry | None:
    """期初记分: the licence had ``points`` in the scoring cycle starting on ``cycle_start`` from outside the
    ledger (the city's file, the demo city). Afterwards that cycle's opening entries add up to ``points``: the
    first report is entered whole, a changed report adds the difference, the same report again changes nothing
    (None). Points handled on the platform are never touched: the card shows opening + handled. A cycle that has
    ended passes the change on by the carry rule (``_carry_on``); reaching the full score in the current cycle
    suspends a valid licence, as a violation would."""
    if points < 0:
        raise InvalidInput("violations.points_negative", "记分不能为负数", "Points cannot be negative", field="points")
    if not is_cycle_start(licence.first_issue_date, cycle_start) or cycle_start > clock.today():
        raise InvalidInput("violations.points_cycle_start", "记分周期起始日期应为初次领证日期的周年日，且不晚于今天",
                           "The scoring cycle start must be an anniversary of the first-issue date, not after today",
                           field="cycle_start")
    with transaction.atomic():
        if points == 0 and not PointsAccount.objects.filter(licence=licence, cycle_start=cycle_start).exists():
            return None  # nothing to open
        account = _account_locked(licence, cycle_start, mirror=False, from_card=False)
        if account.cycle_end < clock.today():  # an ended cycle: the current one is opened too, in cycle order
            _account_locked(licence, clock.today(), mirror=False, from_card=False)
        account = _lock_from(account)
        current = PointsAccount.objects.filter(licence=licence).order_by("-cycle_start").first()
        assert current is not None  # the licence's account(s) were opened just above
        opened = sum(account.entries.filter(kind=PointsEntry.Kind.OPENING).values_list("points", flat=True))
        delta = points - opened
        if delta == 0:
            _mirror_points(licence=licence, account=current, actor=actor, reason=f"{source} opening balance")
            return None
        entry = PointsEntry.objects.create(account=account, violation=None, kind=PointsEntry.Kind.OPENING,
                                           points=delta, source=source[:40], created_at=clock.now())
        before = account.total
        account.total = before + delta
        full = conf.get("FULL_SCORE")
        reached = before < full <= account.total
        if reached and account.full_score_at is None:
            account.full_score_at = clock.now()
        account.save(update_fields=["total", "full_score_at"])
        reason = f"期初记分 opening balance {points} ({source}, cycle {cycle_start})"
        _mirror_points(licence=licence, account=account, actor=actor, reason=reason)
        audit_record(actor=actor, action="licence.points_opening", object_type="registry.drivinglicence",
                     object_id=licence.pk, old={"points": before, "opening": opened},
                     new={"points": account.total, "opening": points}, reason=reason,
                     subject_person_id=licence.person_id)
        _carry_on(licence=licence, account=account, before_total=before, unpaid_before_extra=0, actor=actor,
                  reason=reason)
        current.refresh_from_db()
        _mirror_points(licence=licence, account=current, actor=actor, reason=reason)
        if reached and current.pk == account.pk and licence.status == "valid":
            _full_score(licence=licence, total=account.total)
    return entry


def _openings_first(*, openings: list[Opening], licences: dict, source: str,
                    actor: Actor) -> tuple[int, list[Opening]]:
    """The common case of an import, set-based: a licence the ledger has never seen (no points account), whose
    card already shows these points in its current cycle, below the full score or no longer valid. For it
    ``points_opening_set`` would open the current account with the points as its one opening entry, audit that,
    and find the card's mirror and the carry rule with nothing to do; here that is three INSERTs for a whole
    batch instead of ~15 statements a licence. Returns (entries written, the openings left for
    ``points_opening_set``: every other case, in their order)."""
    today, full = clock.today(), conf.get("FULL_SCORE")
    firsts: dict[int, tuple[Opening, Any, dt.date]] = {}
    for o in openings:
        licence = licences.get(o.licence_id)
        if licence is None or o.points <= 0 or o.licence_id in firsts:
            continue
        start, end = scoring_cycle(licence.first_issue_date, max(today, licence.first_issue_date))
        if (o.cycle_start != start or licence.cycle_points != o.points or licence.points_cycle_start != start
                or (o.points >= full and licence.status == "valid")):
            continue
        firsts[o.licence_id] = (o, licence, end)
    for licence_id in PointsAccount.objects.filter(licence_id__in=list(firsts)).values_list("licence_id", flat=True):
        firsts.pop(licence_id, None)
    if not firsts:
        return 0, openings
    now = clock.now()
    try:
        with transaction.atomic():
            accounts = PointsAccount.objects.bulk_create([
                PointsAccount(licence_id=o.licence_id, cycle_start=o.cycle_start, cycle_end=end, total=o.points,
                              carried_in=0, full_score_at=now if o.points >= full else None)
                for o, _licence, end in firsts.values()])
            PointsEntry.objects.bulk_create([
                PointsEntry(account_id=account.pk, violation=None, kind=PointsEntry.Kind.OPENING,
                            points=account.total, source=source[:40], created_at=now) for account in accounts])
            audit_records(actor=actor, changes=[
                Change(action="licence.points_opening", object_type="registry.drivinglicence",
                       object_id=o.licence_id, old={"points": 0, "opening": 0},
                       new={"points": o.points, "opening": o.points},
                       reason=f"期初记分 opening balance {o.points} ({source}, cycle {o.cycle_start})",
                       subject_person_id=licence.person_id)
                for o, licence, _end in firsts.values()])
    except IntegrityError:  # an account opened meanwhile: every one of them the careful way
        return 0, openings
    return len(firsts), [o for o in openings if o.licence_id not in firsts or firsts[o.licence_id][0] is not o]


def points_openings_record(*, openings: list[Opening], source: str, actor: Actor) -> int:
    """The opening balances of many licences (a registry import, the demo city); returns how many entries were
    written. Licences new to the ledger are entered together (``_openings_first``), the others each in its own
    transaction (``points_opening_set``)."""
    licences = registry_selectors.licences_by_id(licence_ids=[o.licence_id for o in openings])
    written, openings = _openings_first(openings=openings, licences=licences, source=source, actor=actor)
    for o in openings:
        licence = licences.get(o.licence_id)
        if licence is not None and points_opening_set(licence=licence, points=o.points, cycle_start=o.cycle_start,
                                                      source=source, actor=actor) is not None:
            written += 1
    return written


# --- Penalty decisions ---------------------------------------------------------------------------------------

def decision_number_next(*, agency_code: str | None = None) -> str:
    agency_code = agency_code or conf.get("AGENCY_CODE")
    with transaction.atomic():
        try:
            with transaction.atomic():
                DecisionSequence.objects.get_or_create(agency_code=agency_code)
        except IntegrityError:
            pass
        seq = DecisionSequence.objects.select_for_update().get(agency_code=agency_code)
        seq.last += 1
        seq.save(update_fields=["last"])
        return rules.make_decision_number(agency_code, seq.last)


def _payments():
    """payments' services (a function, so tests can put a fake in its place)."""
    return payments_services


def escalation_for(code: str) -> rules.Escalation | None:
    raw = (conf.get("FINE_ESCALATIONS") or {}).get(code)
    return rules.Escalation(int(raw["nth"]), int(raw["within_days"]), int(raw["fine_fen"])) if raw else None


def fine_for(*, violation: Violation, licence) -> int:
    """The violation's fine for this licence: the code's fine, raised where the city escalates repeats (DOMAIN §4:
    the 3rd red light within a year). Counted by when they happened, not by when they are handled: the earlier
    violations of the same code in the window before this one are the licence's decided ones plus those not yet
    handled on the holder's own vehicles (which the holder answers for unless someone else is named) — so handling
    the newest first does not make it cheaper. Revoked ones do not count."""
    escalation = escalation_for(violation.code.code)
    if escalation is None:
        return violation.fine_fen
    since = violation.occurred_at - dt.timedelta(days=escalation.within_days)
    own = registry_selectors.vehicle_ids_registered_to(person=licence.person)
    earlier = (Violation.objects.filter(code_id=violation.code_id, occurred_at__gte=since,
                                        occurred_at__lt=violation.occurred_at)
               .filter(Q(decision__licence=licence) | Q(vehicle_id__in=own, decision__isnull=True))
               .exclude(status=S.REVOKED).exclude(pk=violation.pk).distinct().count())
    return rules.escalated_fine(base_fen=violation.fine_fen, earlier=earlier, escalation=escalation)


def _decide(*, violation: Violation, licence, actor: Actor, channel: str) -> PenaltyDecision:
    """Under the caller's lock on the violation: the decision, the points, the payable fine, the status."""
    if escalation_for(violation.code.code) is not None:
        # two decisions for one licence at once would not see each other's: one at a time per licence (a key
        # after the violation's row, before the points accounts: docs/architecture.md's order)
        locks.lock_keys([f"violations.escalation:{licence.pk}"])
    fine = fine_for(violation=violation, licence=licence)
    if fine != violation.fine_fen:  # the repeat's higher fine is the violation's fine from now on
        audit_record(actor=actor, action="violation.fine_escalated", obj=violation,
                     old={"fine_fen": violation.fine_fen}, new={"fine_fen": fine},
                     subject_person_id=licence.person_id)
        violation.fine_fen = fine
        violation.save(update_fields=["fine_fen"])
    decision = PenaltyDecision.objects.create(
        number=decision_number_next(), violation=violation, licence=licence, person_id=licence.person_id,
        points=violation.points, fine_fen=violation.fine_fen, channel=channel, decision_date=clock.today(),
        decided_at=clock.now(), decided_by_id=actor.id)
    points_assign(violation=violation, licence=licence, actor=actor)
    _mark_handled(violation, actor=actor)
    audit_record(actor=actor, action="decision.issue", obj=decision,
                 new={"number": decision.number, "violation": violation.pk, "points": decision.points,
                      "fine_fen": decision.fine_fen}, subject_person_id=licence.person_id)
    notices.decision_issued_emit(decision=decision)  # the licence holder is told after commit
    if decision.fine_fen > 0:
        _payments().payable_create(
            kind="fine", source_type=SOURCE_TYPE, source_id=str(decision.pk), payer_person_id=licence.person_id,
            amount_fen=decision.fine_fen,
            description_zh=f"交通违法罚款 决定书{decision.number}（{violation.code.description_zh}）",
            description_en=f"Traffic fine, decision {decision.number} ({violation.code.description_en})",
            decision_date=decision.decision_date, late_fee=True)
    return decision


def online_limits() -> rules.OnlineLimits:
    return rules.OnlineLimits(sources=tuple(conf.get("ONLINE_SOURCES")), max_fine_fen=conf.get("ONLINE_MAX_FINE_FEN"),
                              max_points=conf.get("ONLINE_MAX_POINTS"), full_score=conf.get("FULL_SCORE"),
                              max_fine_by_code=dict(conf.get("ONLINE_MAX_FINE_BY_CODE") or {}))


def points_in_cycle(*, licence, on: dt.date | None = None) -> int:
    on = on or clock.today()
    start, _ = scoring_cycle(licence.first_issue_date, max(on, licence.first_issue_date))
    acc = PointsAccount.objects.filter(licence=licence, cycle_start=start).first()
    if acc is not None:
        return acc.total
    if not PointsAccount.objects.filter(licence=licence).exists():  # what the first account will open with
        return _card_points(licence=licence, cycle_start=start)
    return points_carry_into(licence=licence, cycle_start=start)


def online_refusals(*, user, violation: Violation) -> list[Refusal]:
    holds, after = False, False
    for mv in my_vehicles(user=user):
        s = mv.vehicle
        assert isinstance(s, registry_selectors.VehicleSummary)  # what identity lists (typed object there)
        if violation.vehicle_id is not None and s.vehicle_id == violation.vehicle_id:
            holds = True
            own = mv.is_own or s.owner_person_id == user.person_id
            after = own or (mv.bound_at is not None and violation.occurred_at >= mv.bound_at)
    licence = registry_selectors.licence_for_person(person=user.person) if user.person_id else None
    fine = fine_for(violation=violation, licence=licence) if licence is not None else violation.fine_fen
    facts = rules.OnlineFacts(
        source=violation.source, fine_fen=fine, points=violation.points, code=violation.code.code,
        code_online_allowed=violation.code.online_allowed,
        cycle_total=points_in_cycle(licence=licence) if licence else 0, holds_vehicle=holds, after_binding=after,
        licence_valid=licence is not None and licence.status == "valid", has_licence=licence is not None)
    return rules.online_refusals(facts, online_limits())


def violation_handle_online(*, user, violation_id: int) -> PenaltyDecision:
    """网上处理: the citizen accepts a violation of their own or bound vehicle; their own licence takes the
    points; a decision is issued and the fine becomes payable. Handling the same violation again (or from two
    sessions at once) gives the one decision."""
    actor = Actor.of(user)
    selectors.my_violation(user=user, violation_id=violation_id)  # 404 unless it is the user's to see
    with transaction.atomic():
        v = Violation.objects.select_for_update(of=("self",)).select_related("code", "vehicle").get(pk=violation_id)
        existing = PenaltyDecision.objects.filter(violation=v).first()
        if existing is not None:
            if existing.person_id == user.person_id:
                return existing
            raise Conflict("violations.already_handled", "该违法已由他人处理", "This violation was handled by someone else")
        if v.status not in rules.HANDLE_FROM:
            status_zh, status_en = zh_en(S(v.status).label)
            raise Conflict("violations.not_open", f"该违法当前状态为“{status_zh}”，不能处理",
                           f"The violation is “{status_en}”; it cannot be handled",
                           field="status")
        licence = registry_selectors.licence_for_person(person=user.person) if user.person_id else None
        if licence is not None:
            # lock the licence's points for this cycle before reading them: two violations handled at once
            # cannot both pass the "stays under 12" check
            _account_locked(licence, clock.today())
        refusals = online_refusals(user=user, violation=v)
        if refusals:
            first = refusals[0]
            raise Forbidden(first.code, first.zh, first.en,
                            fields={f"reason{i}": (r.zh, r.en) for i, r in enumerate(refusals)})
        return _decide(violation=v, licence=licence, actor=actor, channel=PenaltyDecision.Channel.ONLINE)


def violation_handle_counter(*, violation: Violation, licence, actor: Actor) -> PenaltyDecision:
    """窗口处理 by staff: no online limits; the points may reach the full score (which suspends the licence)."""
    require(actor, "violation.handle")
    with transaction.atomic():
        v = Violation.objects.select_for_update(of=("self",)).select_related("code").get(pk=violation.pk)
        existing = PenaltyDecision.objects.filter(violation=v).first()
        if existing is not None:
            if existing.licence_id == licence.pk:
                return existing
            raise Conflict("violations.already_handled", "该违法已处理", "This violation is already handled")
        if v.status not in rules.HANDLE_FROM:
            raise Conflict("violations.not_open", "该违法不是未处理状态", "The violation is not open", field="status")
        return _decide(violation=v, licence=licence, actor=actor, channel=PenaltyDecision.Channel.COUNTER)


# --- Payment events --------------------------------------------------------------------------------------------

def decision_settled(*, decision_id: int) -> None:
    with transaction.atomic():
        d = PenaltyDecision.objects.filter(pk=decision_id).select_related("violation").first()
        if d is None:
            return
        v = Violation.objects.select_for_update().get(pk=d.violation_id)
        if v.status == S.HANDLED:
            violation_mark_paid(violation=v, actor=Actor.system("payments.item_settled"))


def decision_refunded(*, decision_id: int, amount_fen: int) -> None:
    d = PenaltyDecision.objects.filter(pk=decision_id).first()
    if d is None:
        return
    audit_record(actor=Actor.system("payments.item_refunded"), action="decision.refunded", obj=d,
                 new={"amount_fen": amount_fen}, subject_person_id=d.person_id)


# --- Disputes --------------------------------------------------------------------------------------------------

def dispute_submit(*, user, kind: str, violation_ids: list[int], reason: str,
                   photos: list[Photo] | None = None) -> Dispute:
    """我被套牌 / 申诉: the owner (or a bound user) disputes violations of their vehicle."""
    if kind not in Dispute.Kind.values:
        raise InvalidInput("violations.dispute_kind", "申诉类型不正确", "Unknown dispute kind", field="kind")
    reason = (reason or "").strip()
    if len(reason) < 5 or len(reason) > 2000:
        raise InvalidInput("violations.reason", "请说明理由（5–2000字）", "Give your reasons (5–2000 characters)",
                           field="reason")
    ids = sorted(set(violation_ids or []))
    if not ids or len(ids) > 50:
        raise InvalidInput("violations.dispute_violations", "请选择1–50条违法记录",
                           "Choose 1–50 violations", field="violation_ids")
    violations = [selectors.my_violation(user=user, violation_id=i) for i in ids]
    if kind == Dispute.Kind.CLONED_PLATE:
        for v in violations:
            if v.vehicle is None or v.vehicle.owner_id != user.person_id:
                raise Forbidden("violations.owner_only", "只有机动车所有人可以申报套牌",
                                "Only the vehicle's owner may report a cloned plate", field="violation_ids")
    actor = Actor.of(user)
    with transaction.atomic():
        locks.lock_rows(Violation, ids)  # all of them, in id order, before the first one's audit row
        d = Dispute.objects.create(kind=kind, submitted_by_id=user.pk, reason=reason, submitted_at=clock.now())
        for v in violations:
            locked = Violation.objects.select_for_update().get(pk=v.pk)
            if not VIOLATION_TRANSITIONS.allows(locked.status, S.DISPUTED):
                raise Conflict("violations.not_disputable", f"违法记录{v.pk}当前不能申诉",
                               f"Violation {v.pk} cannot be disputed now", field="violation_ids")
            _dispute_open(locked, actor=actor, reason=reason)
        d.violations.set(violations)
        for photo in photos or []:
            p = DisputePhoto(dispute=d, content_type=photo.content_type, size=len(photo.content),
                             created_at=clock.now())
            p.file.save(f"{d.pk}-{hashlib.sha256(photo.content).hexdigest()[:16]}.{photo.extension}",
                        ContentFile(photo.content), save=False)
            p.save()
        audit_record(actor=actor, action="dispute.submit", obj=d, new={"kind": kind, "violations": ids},
                     reason=reason, subject_person_id=user.person_id)
    return d


def dispute_review(*, dispute_id: int, confirm: bool, note: str, actor: Actor) -> Dispute:
    """An approver decides: confirmed voids the violations (points removed, fines cancelled or refunded);
    rejected puts them back where they were."""
    require(actor, "dispute.review")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("violations.review_note", "请填写审核意见", "Give the review note", field="note")
    with transaction.atomic():
        d = Dispute.objects.select_for_update().filter(pk=dispute_id).first()
        if d is None:
            raise not_found("申诉", "dispute")
        if d.status != Dispute.Status.SUBMITTED:
            raise Conflict("violations.dispute_reviewed", "该申诉已审核", "This dispute was already reviewed")
        violation_ids = sorted(d.violations.values_list("pk", flat=True))
        if confirm:
            _revoke_lock(violation_ids)  # every revocation's locks before the first one's audit row
        else:
            locks.lock_rows(Violation, violation_ids)
        for v in d.violations.all().order_by("pk"):
            if confirm:
                violation_revoke(violation=v, actor=actor, reason=f"申诉成立 dispute {d.pk} upheld: {note}")
            else:
                _dispute_reject(v, actor=actor, reason=f"申诉不成立 dispute {d.pk} rejected: {note}")
        d.status = Dispute.Status.CONFIRMED if confirm else Dispute.Status.REJECTED
        d.reviewed_by_id, d.review_note, d.reviewed_at = actor.id, note, clock.now()
        d.save(update_fields=["status", "reviewed_by_id", "review_note", "reviewed_at"])
        audit_record(actor=actor, action="dispute.review", obj=d, old={"status": "submitted"},
                     new={"status": d.status}, reason=note)
    return d


# --- Detentions (扣留) and their return (放车还证) ----------------------------------------------------------------

DETENTION_LABEL = Detention._meta.label_lower


def _detention_state(d: Detention) -> dict:
    return {"status": d.status, "released_at": d.released_at.isoformat() if d.released_at else None,
            "release_reference": d.release_reference, "cancel_reason": d.cancel_reason}


def detention_record(*, actor: Actor, kind: str, notice_number: str, violation_ids: list[int], held_at_name: str,
                     held_at_address: str, detained_at: dt.datetime, id_number: str = "") -> Detention:
    """Record a vehicle or a driving licence the police took (扣留), for the violations given (at least one).

    A vehicle: every violation is of that one vehicle, registered to a person (the one it is returned to). A
    licence: the driver's ID number (``id_number``) names the person and their licence on record. The violations may
    still be open: the detention is what makes the holder come back to handle and pay them."""
    require(actor, "detention.record")
    notice_number = (notice_number or "").strip().upper()
    if not notice_number or len(notice_number) > 32:
        raise InvalidInput("violations.detention_notice", "请填写扣留凭证编号（不超过32个字符）",
                           "Enter the detention notice's number (at most 32 characters)", field="notice_number")
    held_at_name, held_at_address = (held_at_name or "").strip(), (held_at_address or "").strip()
    if not held_at_name or len(held_at_name) > 80:
        raise InvalidInput("violations.detention_place", "请填写保管地点名称（停车场或单位，不超过80个字符）",
                           "Enter where it is held (the lot or the office; at most 80 characters)", field="held_at_name")
    if not held_at_address or len(held_at_address) > 200:
        raise InvalidInput("violations.detention_address", "请填写保管地点地址（不超过200个字符）",
                           "Enter the address where it is held (at most 200 characters)", field="held_at_address")
    if detained_at > clock.now():
        raise InvalidInput("violations.detention_future", "扣留时间不能晚于现在", "The detention cannot be in the future",
                           field="detained_at")
    ids = sorted({int(i) for i in violation_ids})
    if not ids:
        raise InvalidInput("violations.detention_violations", "请填写扣留所依据的违法记录",
                           "Give the violation(s) it was taken for", field="violation_ids")
    found = list(Violation.objects.filter(pk__in=ids).select_related("vehicle"))
    if len(found) != len(ids):
        missing = sorted(set(ids) - {v.pk for v in found})
        raise InvalidInput("violations.detention_violations", f"违法记录{'、'.join(map(str, missing))}不存在",
                           f"No violation {', '.join(map(str, missing))}", field="violation_ids")
    if any(v.status == S.REVOKED for v in found):
        raise InvalidInput("violations.detention_revoked", "已撤销的违法记录不能作为扣留依据",
                           "A revoked violation cannot be the ground of a detention", field="violation_ids")
    vehicle = licence = None
    if kind == rules.DETENTION_VEHICLE:
        vehicles = {v.vehicle_id for v in found}
        if len(vehicles) != 1 or None in vehicles:
            raise InvalidInput("violations.detention_one_vehicle", "扣留机动车所依据的违法记录须为同一辆登记在册的机动车",
                               "The violations of a vehicle detention must all be of one registered vehicle",
                               field="violation_ids")
        vehicle = found[0].vehicle
        assert vehicle is not None
        if vehicle.owner_id is None:
            raise InvalidInput("violations.detention_company_vehicle", "该机动车登记在单位名下，请到窗口办理",
                               "The vehicle is registered to a company: record it at a counter", field="violation_ids")
        person_id = vehicle.owner_id
    elif kind == rules.DETENTION_LICENCE:
        number = validate_id_number(id_number, field="id_number", today=clock.today())
        person = registry_selectors.person_by_id_number(id_number=number)
        licence = registry_selectors.licence_for_person(person=person) if person is not None else None
        if person is None or licence is None:
            raise InvalidInput("violations.detention_no_licence", "未查询到该身份证号码对应的驾驶证",
                               "No driving licence is on record for this ID number", field="id_number")
        person_id = person.pk
        # the driver's own violations only: their points went to this licence, or the vehicle is theirs (never
        # another citizen's record, which the holder would then see among the reasons for not returning it)
        scored = set(PointsEntry.objects.filter(violation_id__in=ids, kind=PointsEntry.Kind.ASSIGN,
                                                account__licence=licence).values_list("violation_id", flat=True))
        foreign = [v.pk for v in found
                   if v.pk not in scored and (v.vehicle is None or v.vehicle.owner_id != person_id)]
        if foreign:
            raise InvalidInput("violations.detention_not_this_driver",
                               f"违法记录{'、'.join(map(str, foreign))}不是该驾驶人的（记分未记入其驾驶证，车辆也不属于其本人）",
                               f"Violation {', '.join(map(str, foreign))} is not this driver's (no points on the "
                               "licence, not their vehicle)", field="violation_ids")
    else:
        raise InvalidInput("violations.detention_kind", "扣留类型须为机动车或驾驶证",
                           "The kind is a vehicle or a driving licence", field="kind")
    now = clock.now()
    with transaction.atomic():
        if Detention.objects.filter(notice_number=notice_number).exists():
            raise Conflict("violations.detention_duplicate", f"扣留凭证{notice_number}已登记",
                           f"Detention notice {notice_number} is already recorded", field="notice_number")
        if kind == rules.DETENTION_LICENCE and Detention.objects.filter(
                licence=licence, status=rules.HELD).exists():
            raise Conflict("violations.detention_licence_held", "该驾驶证已在扣留中", "This licence is already held",
                           field="id_number")
        if vehicle is not None and Detention.objects.filter(vehicle=vehicle, status=rules.HELD).exists():
            raise Conflict("violations.detention_vehicle_held", "该机动车已在扣留中", "This vehicle is already held",
                           field="violation_ids")
        try:
            with transaction.atomic():
                d = Detention.objects.create(
                    kind=kind, notice_number=notice_number, person_id=person_id, vehicle=vehicle, licence=licence,
                    held_at_name=held_at_name, held_at_address=held_at_address, detained_at=detained_at,
                    detained_by_id=actor.id, status=rules.HELD, recorded_at=now, updated_at=now)
        except IntegrityError:  # recorded at once by another request: the same notice, or the same item held
            if Detention.objects.filter(notice_number=notice_number).exists():
                raise Conflict("violations.detention_duplicate", f"扣留凭证{notice_number}已登记",
                               f"Detention notice {notice_number} is already recorded", field="notice_number") from None
            raise Conflict("violations.detention_already_held", "该驾驶证或机动车已在扣留中",
                           "This licence or vehicle is already held", field="notice_number") from None
        d.violations.set(ids)
        audit_record(actor=actor, action="detention.record", obj=d, subject_person_id=person_id,
                     new={"kind": kind, "notice_number": notice_number, "violations": ids,
                          "vehicle": vehicle.pk if vehicle is not None else None,
                          "licence": licence.pk if licence is not None else None, "held_at": held_at_name,
                          "detained_at": detained_at.isoformat(), "status": d.status})
    return d


def _detention_step(*, detention_id: int, to: str, action: str, actor: Actor, reason: str = "",
                    check=None, **values) -> Detention:
    """Lock the detention, check the step against ``rules.DETENTION`` (and ``check(locked)``), write, audit."""
    with transaction.atomic():
        locked = locks.lock_row(Detention.objects.select_related("vehicle", "licence"), detention_id)
        if locked is None:
            raise not_found("扣留记录", "detention")
        rules.DETENTION.check(locked.status, to)
        if check is not None:
            check(locked)
        old = _detention_state(locked)
        locked.status, locked.updated_at = to, clock.now()
        for key, value in values.items():
            setattr(locked, key, value)
        locked.save(update_fields=["status", "updated_at", *values])
        audit_record(actor=actor, action=action, obj=locked, old=old, new=_detention_state(locked), reason=reason,
                     subject_person_id=locked.person_id)
    return locked


def detention_release(*, detention_id: int, actor: Actor, reference: str = "") -> Detention:
    """放车还证: the detention ends, the vehicle or licence goes back to its holder. The return rule is checked
    again here, under the row lock (``selectors.detention_release_refusals``): a fine unpaid again (a refund), a
    violation disputed, a licence suspended or revoked since the request — refused (409) with every reason. The
    system (the approved online request) or staff holding ``detention.record`` may release."""
    require(actor, "detention.record")

    def check(locked: Detention) -> None:
        refusals = selectors.detention_release_refusals(detention=locked)
        if refusals:
            first = refusals[0]
            raise Conflict(first.code, first.zh, first.en,
                           fields={f"reason{i}": (r.zh, r.en) for i, r in enumerate(refusals)})

    return _detention_step(detention_id=detention_id, to=rules.RELEASED, action="detention.release", actor=actor,
                           check=check, released_at=clock.now(), released_by_id=actor.id,
                           release_reference=(reference or "")[:40],
                           reason=f"放车还证 {reference} return of the detained item".strip())


def detention_cancel(*, detention_id: int, actor: Actor, reason: str) -> Detention:
    """撤销扣留: a detention recorded wrongly (or ended another way) is cancelled; approvers only, with a reason."""
    require(actor, "detention.cancel")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("violations.reason", "请填写撤销原因", "Give the reason", field="reason")
    return _detention_step(detention_id=detention_id, to=rules.CANCELLED, action="detention.cancel", actor=actor,
                           reason=reason, cancel_reason=reason[:200])
