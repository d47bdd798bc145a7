"""Writes of the plates app: offices, pool generation, withholding policies, selections and holds.

Every function is keyword-only and runs in one transaction: lock, then check, then write, then audit.

No number can be held by two people: a hold is one conditional UPDATE
``… SET status='held' WHERE id=… AND (status='available' OR (status='held' AND hold_expires_at <= now))``; on
PostgreSQL a second transaction on the same row waits for the first and re-evaluates the WHERE against the
committed row, so it updates nothing and is refused; SQLite serialises writers (BEGIN IMMEDIATE). Expired holds
are released by ``plates_release_expired`` (periodic) with ``SELECT … FOR UPDATE SKIP LOCKED`` plus the same kind
of conditional UPDATE, so two sweeps running at once release (and audit) each hold exactly once.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, InvalidInput, RateLimited
from jiaoguan.core.i18n import zh_en
from jiaoguan.core.identifiers import PLATE_LETTERS, PROVINCES, validate_plate
from jiaoguan.core.locks import lock_row
from jiaoguan.identity import ratelimit
from jiaoguan.identity.roles import require
from jiaoguan.plates import conf, rules, selectors
from jiaoguan.plates.models import Office, PlateHistory, PlateNumber, Selection, WithholdPolicy
from jiaoguan.registry import selectors as registry
from jiaoguan.registry import services as registry_services

S = PlateNumber.Status
MANAGE = "plate.manage"  # pools and withholding policies (identity.roles.PERMISSIONS); pages ask the same
_rng = random.SystemRandom()


def _bad(field: str, code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en, field=field)


def _rate_limited(refusal: ratelimit.Throttle) -> RateLimited:
    wait = refusal.retry_after
    zh_wait, en_wait = (f"{(wait + 59) // 60}分钟", f"{(wait + 59) // 60} minutes") if wait >= 120 else \
        (f"{wait}秒", f"{wait} seconds")
    return RateLimited("plates.rate_limited", f"操作过于频繁，请{zh_wait}后再试",
                       f"Too many requests; try again in {en_wait}")


def _take(kind: str, *, user, ip: str) -> None:
    """Anti-scanning limits per account and per client IP (kind: "draw" or "compose")."""
    limits = [ratelimit.Limit(f"plates.{kind}.user", str(user.pk), conf.get(f"{kind.upper()}_RATE_PER_USER")),
              ratelimit.Limit(f"plates.{kind}.ip", ip or "unknown", conf.get(f"{kind.upper()}_RATE_PER_IP"))]
    refusal = ratelimit.take(limits)
    if refusal is not None:
        raise _rate_limited(refusal)


# --- offices -----------------------------------------------------------------------------------------------------

def _office_state(o: Office) -> dict:
    return {"code": o.code, "name": o.name, "prefix": o.prefix, "batch_size": o.batch_size, "redraws": o.redraws,
            "hold_minutes": o.hold_minutes, "eligible_days": o.eligible_days, "compose_patterns": o.compose_patterns,
            "active": o.active}


def _check_office_values(*, batch_size: int, redraws: int, hold_minutes: int, eligible_days: int,
                         compose_patterns: dict) -> dict:
    if not 5 <= int(batch_size) <= 50:
        raise _bad("batch_size", "plates.batch_size", "每次摇号个数应为5–50（法定不少于5个）",
                   "A batch holds 5–50 numbers (at least 5 by law)")
    if not 0 <= int(redraws) <= 20:
        raise _bad("redraws", "plates.redraws", "重新摇号次数应为0–20", "Redraws are 0–20")
    if not 1 <= int(hold_minutes) <= 24 * 60:
        raise _bad("hold_minutes", "plates.hold_minutes", "锁定时间应为1–1440分钟", "A hold lasts 1–1440 minutes")
    if not 1 <= int(eligible_days) <= 365:
        raise _bad("eligible_days", "plates.eligible_days", "可选号天数应为1–365", "The window is 1–365 days")
    patterns = {}
    for kind, shapes in (compose_patterns or {}).items():
        length = {rules.ORDINARY: 5, rules.NEV_SMALL: 6, rules.NEV_LARGE: 6}.get(kind)
        if length is None or not isinstance(shapes, list) or any(
                not isinstance(s, str) or len(s) != length or set(s) - {"L", "N"} for s in shapes):
            raise _bad("compose_patterns", "plates.compose_patterns",
                       "自编号码格式不正确：按号牌种类列出由 L（字母）和 N（数字）组成的格式",
                       "Compose patterns are, per plate kind, shapes of L (letter) and N (digit)")
        patterns[kind] = list(shapes)
    return {"batch_size": int(batch_size), "redraws": int(redraws), "hold_minutes": int(hold_minutes),
            "eligible_days": int(eligible_days), "compose_patterns": patterns}


def office_create(*, code: str, name: str, prefix: str, actor: Actor, batch_size: int = 10, redraws: int = 2,
                  hold_minutes: int = 15, eligible_days: int = 30, compose_patterns: dict | None = None) -> Office:
    require(actor, MANAGE)
    prefix = str(prefix or "").strip().upper()
    if len(prefix) != 2 or prefix[0] not in PROVINCES or prefix[1] not in PLATE_LETTERS:
        raise _bad("prefix", "plates.prefix", "号牌前缀应为省份简称加发牌机关字母，例如“粤B”",
                   "The prefix is the province character and the office letter, e.g. 粤B")
    values = _check_office_values(batch_size=batch_size, redraws=redraws, hold_minutes=hold_minutes,
                                  eligible_days=eligible_days, compose_patterns=compose_patterns or {})
    now = clock.now()
    with transaction.atomic():
        if Office.objects.filter(Q(prefix=prefix) | Q(code=code)).exists():
            raise Conflict("plates.office_exists", "该发牌机关已存在", "This issuing office already exists", field="prefix")
        office = Office.objects.create(code=str(code).strip(), name=str(name).strip()[:60], prefix=prefix,
                                       created_at=now, updated_at=now, **values)
        audit_record(actor=actor, action="plates.office_create", obj=office, new=_office_state(office))
    return office


def office_update(*, office: Office, actor: Actor, **changes) -> Office:
    """Change an office's selection settings (batch size, redraws, hold minutes, window, compose patterns,
    active). Selections already started keep the batch size and draws they started with."""
    require(actor, MANAGE)
    allowed = {"batch_size", "redraws", "hold_minutes", "eligible_days", "compose_patterns", "active", "name"}
    unknown = set(changes) - allowed
    if unknown:
        raise _bad(sorted(unknown)[0], "plates.office_field", "不能修改该项", "This setting cannot be changed")
    with transaction.atomic():
        locked = lock_row(Office, office.pk)
        if locked is None:  # deleted meanwhile: what .get() raised before core.locks
            raise Office.DoesNotExist(f"no office {office.pk}")
        old = _office_state(locked)
        merged = {k: changes.get(k, getattr(locked, k)) for k in
                  ("batch_size", "redraws", "hold_minutes", "eligible_days", "compose_patterns")}
        for k, v in _check_office_values(**merged).items():
            setattr(locked, k, v)
        if "active" in changes:
            locked.active = bool(changes["active"])
        if "name" in changes:
            locked.name = str(changes["name"]).strip()[:60] or locked.name
        locked.updated_at = clock.now()
        locked.save()
        new = _office_state(locked)
        audit_record(actor=actor, action="plates.office_update", obj=locked,
                     old={k: v for k, v in old.items() if new[k] != v},
                     new={k: v for k, v in new.items() if old[k] != v})
    return locked


# --- pool generation ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GenerateReport:
    series: str
    kind: str
    candidates: int   # serials the series describes
    valid: int        # of them, valid GA 36 numbers of the kind
    added: int        # new rows (a re-run adds 0)
    withheld: int     # of the added, withheld by a policy
    in_use: int       # of the added, already on a registered vehicle (status assigned)


def plate_pool_generate(*, office: Office, kind: str, series: str, actor: Actor, chunk: int = 5000,
                        seed: int | None = None) -> GenerateReport:
    """Add every valid number of a series to the office's pool (bulk, idempotent: numbers already in the pool
    are left alone, so re-running adds nothing twice). A number a withholding policy covers is added as
    withheld; one already on a registered vehicle as assigned. E.g. series "A####" adds 粤BA0000–粤BA9999."""
    require(actor, MANAGE)
    if kind not in rules.KIND_SHAPES:
        raise _bad("kind", "plates.kind", "号牌种类不正确", "Unknown plate kind")
    series = rules.check_series(series, kind=kind)
    size = rules.series_size(series)
    if size > conf.get("GENERATE_MAX"):
        raise _bad("series", "plates.series_too_large", f"号段过大（{size}个），一次最多生成{conf.get('GENERATE_MAX')}个",
                   f"The series is too large ({size} numbers); at most {conf.get('GENERATE_MAX')} per run")

    rng = random.Random(seed) if seed is not None else _rng
    policies = selectors.active_policies(office=office)
    in_use = registry.plates_in_use(prefix=office.prefix)
    valid = added = withheld = used = 0
    now = clock.now()

    def flush(numbers: list[str]) -> None:
        nonlocal added, withheld, used
        existing = set(PlateNumber.objects.filter(number__in=numbers).values_list("number", flat=True))
        rows = []
        for number in numbers:
            if number in existing:
                continue
            status, policy, source = S.AVAILABLE, None, PlateNumber.Source.GENERATED
            if number in in_use:
                status, source = S.ASSIGNED, PlateNumber.Source.REGISTRY
            else:
                policy = selectors.withholding_policy(policies=policies, kind=kind, number=number)
                if policy is not None:
                    status = S.WITHHELD
            rows.append(PlateNumber(office=office, number=number, kind=kind, status=status, source=source,
                                    rand=rng.random(), withheld_by=policy, created_at=now, updated_at=now))
        made = PlateNumber.objects.bulk_create(rows, batch_size=chunk, ignore_conflicts=True)
        added += len(made)
        withheld += sum(1 for r in rows if r.status == S.WITHHELD)
        used += sum(1 for r in rows if r.status == S.ASSIGNED)

    with transaction.atomic():
        lock_row(Office, office.pk)  # one generation per office at a time
        pending: list[str] = []
        for serial in rules.expand_series(series):
            number = office.prefix + serial
            if not rules.is_pool_number(number, kind):
                continue
            valid += 1
            pending.append(number)
            if len(pending) >= chunk:
                flush(pending)
                pending = []
        if pending:
            flush(pending)
        report = GenerateReport(series=series, kind=kind, candidates=size, valid=valid, added=added,
                                withheld=withheld, in_use=used)
        audit_record(actor=actor, action="plates.pool_generate", obj=office,
                     new={"series": series, "kind": kind, "valid": valid, "added": added, "withheld": withheld,
                          "in_use": used})
    return report


# --- withholding policies ----------------------------------------------------------------------------------------

def _policy_state(p: WithholdPolicy) -> dict:
    return {"name": p.name, "rule": p.rule, "value": p.value, "kind": p.kind, "active": p.active}


def policy_add(*, office: Office, name: str, rule: str, value: str, actor: Actor, kind: str = "") -> WithholdPolicy:
    """Withhold numbers from the public pool (e.g. prefix "J" keeps 粤B·J**** for the police; contains "4").
    Available numbers it covers become withheld at once; held and assigned ones are left as they are."""
    require(actor, MANAGE)
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= 60:
        raise _bad("name", "plates.policy_name", "请填写名称（60字以内）", "Enter a name (up to 60 characters)")
    if kind and kind not in rules.KIND_SHAPES:
        raise _bad("kind", "plates.kind", "号牌种类不正确", "Unknown plate kind")
    value = rules.check_policy(rule, value)
    with transaction.atomic():
        policy = WithholdPolicy.objects.create(office=office, name=name, rule=rule, value=value, kind=kind or "",
                                               created_by_id=actor.id, created_at=clock.now())
        ids = [pk for pk, number, k in PlateNumber.objects.filter(office=office, status=S.AVAILABLE)
               .values_list("pk", "number", "kind").iterator(chunk_size=10000) if policy.applies(k, number[2:])]
        count = 0
        for i in range(0, len(ids), 5000):
            count += PlateNumber.objects.filter(pk__in=ids[i:i + 5000], status=S.AVAILABLE).update(
                status=S.WITHHELD, withheld_by=policy, version=F("version") + 1, updated_at=clock.now())
        audit_record(actor=actor, action="plates.policy_add", obj=policy, new={**_policy_state(policy),
                                                                               "withheld": count})
    return policy


def policy_deactivate(*, policy: WithholdPolicy, actor: Actor) -> WithholdPolicy:
    """Stop withholding: its numbers return to the pool unless another active policy covers them."""
    require(actor, MANAGE)
    with transaction.atomic():
        locked = lock_row(WithholdPolicy, policy.pk)
        if locked is None:  # deleted meanwhile: what .get() raised before core.locks
            raise WithholdPolicy.DoesNotExist(f"no withholding policy {policy.pk}")
        if not locked.active:
            raise Conflict("plates.policy_inactive", "该策略已停用", "This policy is already inactive")
        locked.active, locked.deactivated_at = False, clock.now()
        locked.save(update_fields=["active", "deactivated_at"])
        others = selectors.active_policies(office=locked.office)
        freed = kept = 0
        rows = list(PlateNumber.objects.filter(withheld_by=locked).values_list("pk", "number", "kind", "status"))
        now = clock.now()
        for pk, number, kind, status in rows:
            other = selectors.withholding_policy(policies=others, kind=kind, number=number)
            if status != S.WITHHELD:
                PlateNumber.objects.filter(pk=pk).update(withheld_by=other)
            elif other is not None:
                kept += PlateNumber.objects.filter(pk=pk, status=S.WITHHELD).update(withheld_by=other, updated_at=now)
            else:
                freed += PlateNumber.objects.filter(pk=pk, status=S.WITHHELD).update(
                    status=S.AVAILABLE, withheld_by=None, version=F("version") + 1, updated_at=now)
        audit_record(actor=actor, action="plates.policy_deactivate", obj=locked, old={"active": True},
                     new={"active": False, "freed": freed, "still_withheld": kept})
    return locked


# --- selections ---------------------------------------------------------------------------------------------------

def _locked_selection(*, user, selection_id: int) -> Selection:
    sel = selectors.my_selection(user=user, selection_id=selection_id)  # 404 unless it is the user's
    return Selection.objects.select_for_update().select_related("office").get(pk=sel.pk)


def _require_open(sel: Selection) -> None:
    if not rules.SELECTION.allows(sel.status, Selection.Status.CONFIRMED):  # the steps of an open selection
        zh, en = zh_en(Selection.Status(sel.status).label)
        raise Conflict("plates.selection_closed", f"选号已结束（{zh}）", f"This selection is closed ({en.lower()})")


def selection_start(*, user, vehicle_id: int, ip: str = "") -> Selection:
    """Start (or return the running) selection for one of the user's own newly registered vehicles. Someone
    else's vehicle is the same 404 as a missing one."""
    vehicle = selectors.own_vehicle(user=user, vehicle_id=vehicle_id)
    with transaction.atomic():
        e = selectors.eligibility(vehicle=vehicle)
        if e.selection is not None and e.selection.status == Selection.Status.OPEN:
            return e.selection
        if e.refusals:
            r = e.refusals[0]
            raise Conflict(r.code, r.zh, r.en)
        office = e.office
        assert office is not None  # no issuing office is a refusal, raised above
        now = clock.now()
        try:
            with transaction.atomic():
                sel = Selection.objects.create(
                    office=office, vehicle=vehicle, user=user, person_id=user.person_id, kind=e.kind,
                    draws_allowed=1 + office.redraws, batch_size=office.batch_size, previous_plate=vehicle.plate,
                    created_at=now, updated_at=now)
        except IntegrityError:  # a concurrent start won: use its selection
            won = Selection.objects.filter(vehicle=vehicle).exclude(status=Selection.Status.CANCELLED).first()
            if won is None or won.user_id != user.pk or won.status != Selection.Status.OPEN:
                raise Conflict("plates.already_chosen", "该车辆已选定号牌",
                               "A number has already been chosen for this vehicle") from None
            return won
        audit_record(actor=Actor.of(user, ip=ip), action="plates.selection_start", obj=sel,
                     new={"vehicle_id": vehicle.pk, "kind": e.kind, "draws_allowed": sel.draws_allowed,
                          "batch_size": sel.batch_size, "previous_plate": vehicle.plate},
                     subject_person_id=user.person_id)
    return sel


def draw_numbers(*, office: Office, kind: str, count: int, r: float | None = None,
                 exclude: list[str] | tuple[str, ...] = ()) -> list[str]:
    """``count`` random available numbers: the next ones in ``rand`` order from a random point (wrapping round),
    read along the (office, kind, status, rand) index. ``exclude`` (the batch a redraw replaces) is left out, so a
    redraw never offers the same numbers again; two random points in the same gap of ``rand`` would otherwise give
    the same batch twice."""
    r = _rng.random() if r is None else r
    base = PlateNumber.objects.filter(office=office, kind=kind, status=S.AVAILABLE)
    if exclude:
        base = base.exclude(number__in=list(exclude))
    numbers = list(base.filter(rand__gte=r).order_by("rand").values_list("number", flat=True)[:count])
    if len(numbers) < count:
        numbers += list(base.filter(rand__lt=r).order_by("rand").values_list("number", flat=True)
                        [:count - len(numbers)])
    return numbers


def selection_draw(*, user, selection_id: int, ip: str = "") -> Selection:
    """Draw a batch of random available numbers; a redraw replaces the batch. Refused once the draws the
    selection started with are used up, and when the account or the IP draws too often."""
    with transaction.atomic():
        sel = _locked_selection(user=user, selection_id=selection_id)
        _require_open(sel)
        if sel.draws_used >= sel.draws_allowed:
            raise Conflict("plates.redraw_limit",
                           f"摇号次数已用完（共{sel.draws_allowed}次），请从已摇出的号码中选择或自编号码",
                           f"No draws left (all {sel.draws_allowed} used); choose from the numbers drawn or "
                           f"compose one")
        _take("draw", user=user, ip=ip)
        numbers = draw_numbers(office=sel.office, kind=sel.kind, count=sel.batch_size, exclude=sel.offered or ())
        if not numbers and sel.offered:  # only the old batch is left in the pool: offer what there is
            numbers = draw_numbers(office=sel.office, kind=sel.kind, count=sel.batch_size)
        if not numbers:
            raise Conflict("plates.pool_empty", "号码池暂无可选号码，请稍后再试",
                           "The pool has no numbers available; try again later")
        old = {"offered": sel.offered, "draws_used": sel.draws_used}
        sel.offered = numbers
        sel.draws_used += 1
        sel.updated_at = clock.now()
        sel.save(update_fields=["offered", "draws_used", "updated_at"])
        audit_record(actor=Actor.of(user, ip=ip), action="plates.draw", obj=sel, old=old,
                     new={"offered": numbers, "draws_used": sel.draws_used}, subject_person_id=sel.person_id)
    return sel


def _check_composable(*, sel: Selection, number: str) -> str:
    """A composed number: GA 36 format of the selection's kind, the office's compose patterns, not withheld, not
    taken. Returns the canonical number; raises InvalidInput (422) or Conflict (409)."""
    office = sel.office
    number = rules.check_number(number, kind=sel.kind, prefix=office.prefix)
    rules.check_composed(number, kind=sel.kind, patterns=office.patterns())
    if selectors.withholding_policy(policies=selectors.active_policies(office=office), kind=sel.kind,
                                    number=number) is not None:
        raise Conflict("plates.withheld", "该号码为保留号码，不对外发放", "This number is withheld and not offered",
                       field="number")
    row = PlateNumber.objects.filter(number=number).first()
    if row is not None and row.status == S.WITHHELD:
        raise Conflict("plates.withheld", "该号码为保留号码，不对外发放", "This number is withheld and not offered",
                       field="number")
    if row is not None and not (row.status == S.AVAILABLE or (row.status == S.HELD and row.held_by_id == sel.pk)
                                or (row.status == S.HELD and row.hold_expired(clock.now()))):
        raise Conflict("plates.taken", "该号码已被选用", "This number is taken", field="number")

    if registry.plates_in_use(plates=[number]):
        raise Conflict("plates.taken", "该号码已被选用", "This number is taken", field="number")
    return number


def selection_compose(*, user, selection_id: int, number: str, ip: str = "") -> str:
    """Check a number the owner composed (自编号码): the canonical number if it may be held now."""
    sel = selectors.my_selection(user=user, selection_id=selection_id)
    _require_open(sel)
    _take("compose", user=user, ip=ip)
    return _check_composable(sel=sel, number=number)


def _back_status(row: PlateNumber) -> str:
    return S.WITHHELD if row.withheld_by_id else S.AVAILABLE


def _pool_row(*, office: Office, number: str, kind: str, source: str) -> PlateNumber:
    row = PlateNumber.objects.filter(number=number).first()
    if row is not None:
        return row
    now = clock.now()
    try:
        with transaction.atomic():
            return PlateNumber.objects.create(office=office, number=number, kind=kind, status=S.AVAILABLE,
                                              source=source, rand=_rng.random(), created_at=now, updated_at=now)
    except IntegrityError:  # someone created it at the same moment
        return PlateNumber.objects.get(number=number)


def _release_own_hold(*, sel: Selection, actor: Actor, now: dt.datetime, keep_number: str | None = None) -> list:
    """Before a new hold: an expired hold of this selection goes back; a live one is refused. Returns the audit
    rows still to write: the caller writes them after its own row changes (a habit from when an audit row locked
    the chain's head until commit; appends take no lock since issue 12, so the order no longer matters)."""
    deferred: list = []
    for row in PlateNumber.objects.select_for_update().filter(held_by=sel, status=S.HELD):
        if not row.hold_expired(now):
            if row.number == keep_number:
                continue
            raise Conflict("plates.already_holding", f"您已锁定号码{row.number}，请先确认或释放",
                           f"You already hold {row.number}; confirm or release it first")
        _release_row(row=row, actor=actor, action="plates.hold_expire", now=now, deferred=deferred)
    return deferred


def _flush(deferred: list) -> None:
    for write in deferred:
        write()


def _hold(*, sel: Selection, row: PlateNumber, actor: Actor, source: str, allow_withheld: bool = False,
          deferred: list | None = None) -> PlateNumber:
    now = clock.now()
    free = Q(status=S.AVAILABLE) | Q(status=S.HELD, hold_expires_at__lte=now)
    if allow_withheld:
        free |= Q(status=S.WITHHELD)
    expires = now + dt.timedelta(minutes=sel.office.hold_minutes)
    before = PlateNumber.objects.filter(pk=row.pk).values("status", "held_by_id").first()
    updated = PlateNumber.objects.filter(free, pk=row.pk).update(
        status=S.HELD, held_by=sel, hold_expires_at=expires, version=F("version") + 1, updated_at=now)
    if not updated:
        raise Conflict("plates.taken", "该号码已被他人选中，请选择其他号码",
                       "Someone else has just chosen this number; choose another", field="number")
    row.refresh_from_db()
    _flush(deferred or [])
    audit_record(actor=actor, action="plates.hold", obj=row, old=before,
                 new={"status": S.HELD, "selection_id": sel.pk, "hold_expires_at": expires, "source": source},
                 subject_person_id=sel.person_id)
    return row


def selection_hold(*, user, selection_id: int, number: str, ip: str = "") -> PlateNumber:
    """Hold a number of the current batch, or a composed one, for the office's hold minutes. Holding the
    number already held is a no-op; holding another while one is held is refused (release it first)."""
    actor = Actor.of(user, ip=ip)
    with transaction.atomic():
        sel = _locked_selection(user=user, selection_id=selection_id)
        _require_open(sel)
        office = sel.office
        canonical = rules.check_number(number, kind=sel.kind, prefix=office.prefix)
        now = clock.now()
        current = PlateNumber.objects.filter(held_by=sel, status=S.HELD, hold_expires_at__gt=now,
                                             number=canonical).first()
        if current is not None:
            return current
        deferred = _release_own_hold(sel=sel, actor=actor, now=now)
        if canonical in (sel.offered or []):
            source = "drawn"
        else:
            _take("compose", user=user, ip=ip)
            canonical = _check_composable(sel=sel, number=canonical)
            source = "composed"
        row = _pool_row(office=office, number=canonical, kind=sel.kind,
                        source=PlateNumber.Source.COMPOSED if source == "composed" else PlateNumber.Source.GENERATED)
        return _hold(sel=sel, row=row, actor=actor, source=source, deferred=deferred)


def selection_keep_previous(*, user, selection_id: int, number: str, ip: str = "") -> PlateNumber:
    """Keep a plate the owner held before (DOMAIN §5): held ≥ 1 year, given up within 2 years, its violations
    cleared, not on any vehicle of the register now and of the selection's kind. The number is then held like
    any other and confirmed; a withholding policy does not stop the person who held it."""
    actor = Actor.of(user, ip=ip)
    with transaction.atomic():
        sel = _locked_selection(user=user, selection_id=selection_id)
        _require_open(sel)
        office = sel.office
        canonical = rules.check_number(number, kind=sel.kind, prefix=office.prefix)
        history = next((h for h in selectors.history_for(person_id=sel.person_id) if h.plate == canonical), None)
        if history is None:
            raise _bad("number", "plates.keep_no_history", "没有您曾使用该号牌的记录",
                       "There is no record of you holding this plate")
        refusals = rules.keep_refusals(held_from=history.held_from, given_up_on=history.given_up_on,
                                       today=clock.today(),
                                       violations_cleared=selectors.plate_violations_cleared(plate=canonical),
                                       min_held_days=conf.get("KEEP_MIN_HELD_DAYS"),
                                       within_days=conf.get("KEEP_WITHIN_DAYS"))
        if refusals:
            raise Conflict(refusals[0].code, "；".join(r.zh for r in refusals), "; ".join(r.en for r in refusals),
                           field="number")

        if registry.plates_in_use(plates=[canonical]):
            raise Conflict("plates.keep_in_use", "该号牌仍登记在其他车辆上，暂不能保留使用",
                           "The plate is still registered on a vehicle and cannot be kept now", field="number")
        now = clock.now()
        current = PlateNumber.objects.filter(held_by=sel, status=S.HELD, hold_expires_at__gt=now,
                                             number=canonical).first()
        if current is not None:
            return current
        deferred = _release_own_hold(sel=sel, actor=actor, now=now)
        row = _pool_row(office=office, number=canonical, kind=sel.kind, source=PlateNumber.Source.KEPT)
        return _hold(sel=sel, row=row, actor=actor, source="kept", allow_withheld=True, deferred=deferred)


def _release_row(*, row: PlateNumber, actor: Actor, action: str, now: dt.datetime,
                 only_expired: bool = False, deferred: list | None = None) -> bool:
    """Put a held number back (available, or withheld when a policy still covers it): one conditional UPDATE,
    audited only when it changed the row, so a number is released exactly once."""
    cond = Q(pk=row.pk, status=S.HELD)
    if only_expired:
        cond &= Q(hold_expires_at__lte=now)
    back = _back_status(row)
    rules.NUMBER.check(S.HELD, back)
    held_by = row.held_by_id
    changed = PlateNumber.objects.filter(cond).update(status=back, held_by=None, hold_expires_at=None,
                                                      version=F("version") + 1, updated_at=now)
    if changed:
        person_id = (Selection.objects.filter(pk=held_by).values_list("person_id", flat=True).first()
                     if held_by is not None else None)  # its selection may have been deleted (SET_NULL)

        def write() -> None:
            audit_record(actor=actor, action=action, obj=row, old={"status": S.HELD, "selection_id": held_by},
                         new={"status": back}, subject_person_id=person_id)

        if deferred is None:
            write()
        else:
            deferred.append(write)
    return bool(changed)


def selection_release(*, user, selection_id: int, ip: str = "") -> Selection:
    """Give back the number the selection holds (nothing held: refused with 409)."""
    with transaction.atomic():
        sel = _locked_selection(user=user, selection_id=selection_id)
        _require_open(sel)
        rows = list(PlateNumber.objects.select_for_update().filter(held_by=sel, status=S.HELD))
        if not rows:
            raise Conflict("plates.nothing_held", "当前没有锁定的号码", "No number is held")
        now = clock.now()
        for row in rows:
            _release_row(row=row, actor=Actor.of(user, ip=ip), action="plates.release", now=now)
    return sel


def selection_confirm(*, user, selection_id: int, ip: str = "") -> Selection:
    """Confirm the held number: it is assigned to the vehicle through the registry (audited there and here);
    the vehicle's provisional number goes back to the pool. A hold past its expiry cannot be confirmed."""
    actor = Actor.of(user, ip=ip)
    with transaction.atomic():
        sel = _locked_selection(user=user, selection_id=selection_id)
        _require_open(sel)
        now = clock.now()
        row = PlateNumber.objects.select_for_update().filter(held_by=sel, status=S.HELD).first()
        if row is None:
            raise Conflict("plates.nothing_held", "请先选择并锁定一个号码", "Choose and hold a number first")
        if row.hold_expired(now):
            raise Conflict("plates.hold_expired", "号码锁定已过期，请重新选择",
                           "The hold on this number has expired; choose again")
        rules.NUMBER.check(row.status, S.ASSIGNED)
        vehicle = registry.vehicle_get(vehicle_id=sel.vehicle_id)
        assert vehicle is not None  # the selection's vehicle (a PROTECT foreign key: never deleted)
        old_plate = vehicle.plate
        # every plate row this transaction changes is locked together, before the registry's change
        old_rows = [old for old in PlateNumber.objects.select_for_update().filter(number=old_plate,
                                                                                    status=S.ASSIGNED)
                    if old.assigned_vehicle_id in (None, vehicle.pk) and old.pk != row.pk]
        registry_services.vehicle_plate_assign(vehicle=vehicle, plate=row.number, actor=actor,
                                               reason=f"网上选号 plate selection #{sel.pk}",
                                               expected_owner_id=sel.person_id)
        PlateNumber.objects.filter(pk=row.pk).update(status=S.ASSIGNED, held_by=None, hold_expires_at=None,
                                                     assigned_vehicle_id=vehicle.pk, version=F("version") + 1,
                                                     updated_at=now)
        # the provisional number given at registration goes back to the pool
        for old in old_rows:
            policy = selectors.withholding_policy(policies=selectors.active_policies(office=old.office),
                                                  kind=old.kind, number=old.number)
            back = S.WITHHELD if policy else S.AVAILABLE
            rules.NUMBER.check(old.status, back)
            PlateNumber.objects.filter(pk=old.pk, status=S.ASSIGNED).update(
                status=back, withheld_by=policy, assigned_vehicle_id=None,
                version=F("version") + 1, updated_at=now)
        rules.SELECTION.check(sel.status, Selection.Status.CONFIRMED)
        sel.status, sel.plate, sel.confirmed_at, sel.updated_at = Selection.Status.CONFIRMED, row.number, now, now
        sel.save(update_fields=["status", "plate", "confirmed_at", "updated_at"])
        audit_record(actor=actor, action="plates.confirm", obj=sel, old={"status": Selection.Status.OPEN,
                                                                         "plate": old_plate},
                     new={"status": Selection.Status.CONFIRMED, "plate": row.number}, subject_person_id=sel.person_id)
    return sel


def plates_release_expired(*, chunk: int = 500) -> int:
    """Release every hold past its expiry, exactly once: rows are locked with SKIP LOCKED (a parallel sweep
    takes others) and each goes back with a conditional UPDATE that only a still-held, still-expired row passes.
    Returns how many this call released."""
    actor = Actor.system("plates.sweep")
    released = 0
    while True:
        now = clock.now()
        with transaction.atomic():
            rows = list(PlateNumber.objects.select_for_update(skip_locked=True)
                        .filter(status=S.HELD, hold_expires_at__lte=now).order_by("pk")[:chunk])
            for row in rows:
                if _release_row(row=row, actor=actor, action="plates.hold_expire", now=now, only_expired=True):
                    released += 1
        if len(rows) < chunk:
            return released


# --- plate history (keeping a previous plate) --------------------------------------------------------------------

def plate_history_record(*, person_id: int, plate: str, plate_type: str, held_from: dt.date, given_up_on: dt.date,
                         source: str, actor: Actor, vehicle_id: int | None = None) -> PlateHistory | None:
    """Note that a person gave up a plate (from the registry's events, or entered by staff from the old
    records). Recording the same give-up twice is a no-op (None)."""

    if source == PlateHistory.Source.STAFF:
        require(actor, MANAGE)
    plate = validate_plate(plate)
    if given_up_on < held_from:
        raise _bad("given_up_on", "plates.history_dates", "停用日期不能早于启用日期",
                   "The plate cannot be given up before it was taken")
    with transaction.atomic():
        if PlateHistory.objects.filter(person_id=person_id, plate=plate, given_up_on=given_up_on).exists():
            return None
        h = PlateHistory.objects.create(person_id=person_id, plate=plate, plate_type=plate_type,
                                        vehicle_id=vehicle_id, held_from=held_from, given_up_on=given_up_on,
                                        source=source, created_at=clock.now())
        audit_record(actor=actor, action="plates.history_record", obj=h,
                     new={"plate": plate, "held_from": held_from, "given_up_on": given_up_on, "source": source},
                     subject_person_id=person_id)
    return h
