"""Driving licences: issue, the status life cycle (``rules.LICENCE_TRANSITIONS``), renewal, the expiry sweep.

    valid ──suspend──▶ suspended ──restore──▶ valid
      │ └─expire (task)─▶ expired ──renew──▶ valid
      │                      └─cancel (task, > 1 year)─▶ cancelled ──renew after 科目一 (≤ 2 years)──▶ valid
      └─revoke / cancel ─▶ revoked / cancelled (final, unless cancelled for expiry)

A cancelled licence records why (``status_reason``, a code of ``rules.CANCEL_REASONS``): only one cancelled for
not being renewed ("expiry_over_1_year", written by the expiry sweep) can be restored.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from django.db import IntegrityError, transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict
from jiaoguan.core.outbox import records_changed
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, Person
from jiaoguan.registry.services._helpers import (
    _bad,
    _diff,
    _need_reason,
    _require_staff,
    validate_classes,
    validate_file_number,
)

FILE_NUMBER_PREFIX = "4403"  # 档案编号: 12 digits, beginning with the city's code


def _licence_state(licence: DrivingLicence) -> dict:
    return {"status": licence.status, "status_reason": licence.status_reason, "classes": licence.classes,
            "valid_from": licence.valid_from, "valid_until": licence.valid_until, "validity": licence.validity,
            "probation_until": licence.probation_until, "probation_classes": licence.probation_classes,
            "class_since": dict(licence.class_since or {})}


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
                        probation_classes=" ".join(codes),
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
        records_changed(person_ids=[person.pk])
        audit_record(actor=actor, action="licence.issue", obj=licence, new=_licence_state(licence),
                     subject_person_id=person.pk)
    return licence


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
        machine = rules.LICENCE_TRANSITIONS
        if not machine.allows(current, to) or (allowed_from is not None and current not in allowed_from):
            # the registry's own wording (lower-case states in English), not StateMachine.check's
            (cur_zh, cur_en), (to_zh, to_en) = machine.label(current), machine.label(to)
            raise Conflict(machine.code, f"驾驶证当前状态为“{cur_zh}”，不能变为“{to_zh}”",
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
        records_changed(person_ids=[locked.person_id])
        new = _licence_state(locked)
        audit_record(actor=actor, action=action, obj=locked,
                     **_diff(old, new),
                     reason=reason, subject_person_id=locked.person_id)
    for attr in ("status", "status_reason", "updated_at", *changes):
        setattr(licence, attr, getattr(locked, attr))
    return licence


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
    if locked.valid_until is None or today > rules.restore_deadline(locked.valid_until, locked.postponed_until):
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
    # a new period ends any postponement of the old one's renewal (as licence_renew does)
    return {"valid_from": valid_from, "valid_until": valid_until, "validity": validity, "postponed_until": None}


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
        if reason_code == rules.CANCEL_EXPIRY and not rules.cancelled_for_expiry_on(locked.valid_until, today,
                                                                                      locked.postponed_until):
            raise _bad("reason_code", "registry.cancel_reason_dates", "驾驶证超过有效期未满一年，不能以此原因注销",
                       "The licence is not more than a year past expiry: it cannot be cancelled for that reason")

    return _transition(licence=licence, to=rules.STATUS_CANCELLED, action="licence.cancel", actor=actor,
                       reason=reason, status_reason=reason_code, check=check)


def _date_set(locked: DrivingLicence, field: str, value: dt.date, *, action: str, actor: Actor, reason: str) -> None:
    """Write one date of a licence whose row the caller has locked (inside its transaction): saved with
    ``updated_at``, the read model told, audited with the old and new date."""
    old = getattr(locked, field)
    setattr(locked, field, value)
    locked.updated_at = clock.now()
    locked.save(update_fields=[field, "updated_at"])
    records_changed(person_ids=[locked.person_id])
    audit_record(actor=actor, action=action, obj=locked, old={field: old}, new={field: value}, reason=reason,
                 subject_person_id=locked.person_id)


def licence_probation_extend(*, licence: DrivingLicence, actor: Actor, reason: str) -> bool:
    """实习期延长一年: the violations app's probation review (the points ledger is the authority for the points)
    asks for it when ``rules.probation_extends`` holds. Idempotent: a probation already extended, or none, is left
    as it is (False). Audited; the read model is told."""
    _require_staff(actor)
    reason = _need_reason(reason)
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        start = rules.probation_start(probation_classes=locked.probation_classes.split(),
                                      class_since=locked.class_since or {}, first_issue_date=locked.first_issue_date)
        if locked.probation_until is None or rules.probation_extended(probation_until=locked.probation_until,
                                                                      start=start):
            return False
        _date_set(locked, "probation_until", rules.probation_extended_until(locked.probation_until),
                  action="licence.probation_extend", actor=actor, reason=reason)
    licence.probation_until, licence.updated_at = locked.probation_until, locked.updated_at
    return True


def licence_class_add(*, person: Person, licence_class: str, on: dt.date, actor: Actor,
                      reason: str) -> DrivingLicence:
    """A learner's permit completed (all subjects passed, the exams app): the class goes on the licence. A person
    with no licence gets a first licence (6 years, every class in probation); a holder gets the class added (增驾),
    in probation for 12 months from ``on`` — the classes held before are not (rules.probation_cancels), unless their
    own probation still runs: then both stay in probation until the later end. A licence cancelled or revoked (or
    cancelled by its dates) cannot take a class: the holder applies anew (Conflict). Audited; the read model is
    told."""
    _require_staff(actor)
    reason = _need_reason(reason)
    code = validate_classes(licence_class, field="licence_class")
    if len(code) != 1:
        raise _bad("licence_class", "registry.one_class", "一次只能增加一个准驾车型", "Add one class at a time")
    new = code[0]
    with transaction.atomic():
        # the person first: two permits completing at once for someone with no licence issue one, then add
        Person.objects.select_for_update().filter(pk=person.pk).first()
        locked = DrivingLicence.objects.select_for_update().filter(person=person).first()
        if locked is None:
            return licence_issue(person=person, classes=[new], first_issue_date=on, actor=actor)
        status = rules.effective_status(stored=locked.status, valid_until=locked.valid_until, on=on,
                                        postponed_until=locked.postponed_until)
        if status in (rules.STATUS_CANCELLED, rules.STATUS_REVOKED):
            raise Conflict("registry.licence_final", "驾驶证已注销或吊销，不能增加准驾车型，须重新申领",
                           "The licence is cancelled or revoked: no class can be added; apply for a new licence",
                           field="licence_class")
        if new in locked.class_list:
            raise Conflict("registry.class_held", f"驾驶证已有{new}准驾车型", f"The licence already has class {new}",
                           field="licence_class")
        old = _licence_state(locked)
        locked.classes = " ".join(rules.classes_after_adding(locked.class_list, new))
        locked.class_since = {**(locked.class_since or {}), new: on.isoformat()}
        if rules.in_probation(locked.probation_until, on):
            # a probation still runs (a class learnt alongside, or a counter's decision): the licence keeps one
            # probation date, so both classes stay in probation until the later end — never shorter for either
            assert locked.probation_until is not None
            locked.probation_until = max(locked.probation_until, rules.probation_end(on))
            locked.probation_classes = " ".join(rules.parse_classes([*locked.probation_classes.split(), new]))
        else:
            locked.probation_until, locked.probation_classes = rules.probation_end(on), new
        locked.updated_at = clock.now()
        locked.save(update_fields=["classes", "class_since", "probation_until", "probation_classes", "updated_at"])
        records_changed(person_ids=[locked.person_id])
        audit_record(actor=actor, action="licence.class_add", obj=locked, **_diff(old, _licence_state(locked)),
                     reason=reason, subject_person_id=locked.person_id)
    return locked


def licence_probation_cancel(*, licence: DrivingLicence, actor: Actor, reason: str) -> list[str]:
    """注销实习的准驾车型 (公安部令第162号第七十七条): the classes in probation lose their qualification. When they are
    all the licence's classes (a first licence), the licence is cancelled (``probation_full_score``); otherwise
    those classes leave the record and the others stay as they are. Returns the classes cancelled (empty: the
    licence was not in probation, or its probation classes are not known)."""
    _require_staff(actor)
    reason = _need_reason(reason)
    today = clock.today()
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        cancelled = rules.probation_cancels(probation_until=locked.probation_until,
                                            probation_classes=locked.probation_classes.split(), on=today)
        if not cancelled:
            return []
        remaining = [c for c in locked.class_list if c not in cancelled]
        if not remaining:
            if locked.status != rules.STATUS_CANCELLED:
                licence_cancel(licence=locked, actor=actor, reason=reason,
                               reason_code=rules.CANCEL_PROBATION_FULL_SCORE)
        else:
            old = _licence_state(locked)
            locked.classes = " ".join(remaining)
            locked.class_since = {c: d for c, d in (locked.class_since or {}).items() if c in remaining}
            locked.probation_until, locked.probation_classes = None, ""
            locked.updated_at = clock.now()
            locked.save(update_fields=["classes", "class_since", "probation_until", "probation_classes",
                                       "updated_at"])
            records_changed(person_ids=[locked.person_id])
            audit_record(actor=actor, action="licence.class_cancel", obj=locked, **_diff(old, _licence_state(locked)),
                         reason=reason, subject_person_id=locked.person_id)
    for attr in ("classes", "class_since", "probation_until", "probation_classes", "status", "status_reason",
                 "updated_at"):
        setattr(licence, attr, getattr(locked, attr))
    return cancelled


def licence_expire(*, licence: DrivingLicence, actor: Actor, reason: str = "超过有效期 validity ended") -> DrivingLicence:
    return _transition(licence=licence, to=rules.STATUS_EXPIRED, action="licence.expire", actor=actor, reason=reason,
                       allowed_from=frozenset({rules.STATUS_VALID}))


class _StatusChange(Protocol):
    def __call__(self, *, licence: DrivingLicence, actor: Actor, reason: str) -> DrivingLicence: ...


_SET_STATUS: dict[str, _StatusChange] = {
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
        status = rules.effective_status(stored=locked.status, valid_until=locked.valid_until, on=today,
                                        postponed_until=locked.postponed_until)
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
        locked.postponed_until = None  # renewed: a postponement has done its work
        locked.updated_at = clock.now()
        locked.save(update_fields=["validity", "valid_from", "valid_until", "status", "status_reason",
                                   "postponed_until", "updated_at"])
        records_changed(person_ids=[locked.person_id])
        new = _licence_state(locked)
        audit_record(actor=actor, action="licence.restore" if restoring else "licence.renew", obj=locked,
                     **_diff(old, new),
                     reason=reason, subject_person_id=locked.person_id)
    for attr in ("validity", "valid_from", "valid_until", "status", "status_reason", "postponed_until", "updated_at"):
        setattr(licence, attr, getattr(locked, attr))
    return licence


def licence_postpone(*, licence: DrivingLicence, until: dt.date, actor: Actor, reason: str) -> DrivingLicence:
    """延期换证: move the renewal deadline to ``until`` (an approved application with its reason and evidence:
    applications' licence_postponement service). Refused (409) when ``rules.postponement_refusal`` says why — a
    long-term licence, outside the renewal window, a status other than valid or expired, a date not after the
    expiry and today or more than three years after the expiry. The licence stays valid until its own expiry,
    then expired (no driving) until it is renewed; it is cancelled only a year after ``until``. Audited."""
    _require_staff(actor)
    reason = _need_reason(reason)
    today = clock.today()
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        status = rules.effective_status(stored=locked.status, valid_until=locked.valid_until, on=today,
                                        postponed_until=locked.postponed_until)
        refusal = rules.postponement_refusal(valid_until=locked.valid_until, status=status, until=until, on=today)
        if refusal is not None:
            code, zh, en = refusal
            raise Conflict(f"registry.{code.split('.', 1)[1]}", zh, en, field="until")
        _date_set(locked, "postponed_until", until, action="licence.postpone", actor=actor, reason=reason)
    licence.postponed_until, licence.updated_at = locked.postponed_until, locked.updated_at
    return licence


# What a licence owes after a scoring cycle — 审验 (A/B classes with points) and the 70+ health report — is recorded
# per cycle ("done through" the cycle's end) and may be postponed within its period: one pair of steps for both.
_OWED = {
    "review": ("reviewed_through", "review_postponed_until", "licence.review", "licence.review_postpone",
               rules.review_postponement_refusal),
    "health": ("health_reported_through", "health_postponed_until", "licence.health_report",
               "licence.health_report_postpone", rules.health_postponement_refusal),
}
_POSTPONED_FOR = {"review": "review_postponed_for", "health": "health_postponed_for"}


def _owed_postpone(kind: str, *, licence: DrivingLicence, due: rules.ReviewDue, until: dt.date, actor: Actor,
                   reason: str) -> DrivingLicence:
    done_field, postponed_field, _action, postpone_action, refusal_of = _OWED[kind]
    _require_staff(actor)
    reason = _need_reason(reason)
    today = clock.today()
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        done = getattr(locked, done_field)
        status = rules.effective_status(stored=locked.status, valid_until=locked.valid_until, on=today,
                                        postponed_until=locked.postponed_until)
        refusal = refusal_of(due=None if done is not None and done >= due.cycle_end else due, until=until, on=today,
                             status=status)
        if refusal is not None:
            code, zh, en = refusal
            raise Conflict(f"registry.{code.split('.', 1)[1]}", zh, en, field="until")
        for_field = _POSTPONED_FOR[kind]
        setattr(locked, for_field, due.cycle_end)  # the cycle it is for: a later cycle keeps its own deadline
        locked.save(update_fields=[for_field])
        _date_set(locked, postponed_field, until, action=postpone_action, actor=actor,
                  reason=f"{reason} (cycle ending {due.cycle_end:%Y-%m-%d})")
    setattr(licence, postponed_field, getattr(locked, postponed_field))
    setattr(licence, _POSTPONED_FOR[kind], due.cycle_end)
    licence.updated_at = locked.updated_at
    return licence


def _owed_record(kind: str, *, licence: DrivingLicence, cycle_end: dt.date, actor: Actor,
                 reason: str) -> DrivingLicence:
    done_field, _postponed, action, _postpone_action, _refusal = _OWED[kind]
    _require_staff(actor)
    reason = _need_reason(reason)
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        done = getattr(locked, done_field)
        if done is not None and done >= cycle_end:
            return locked
        _date_set(locked, done_field, cycle_end, action=action, actor=actor, reason=reason)
    setattr(licence, done_field, getattr(locked, done_field))
    licence.updated_at = locked.updated_at
    return licence


def licence_review_postpone(*, licence: DrivingLicence, due: rules.ReviewDue, until: dt.date, actor: Actor,
                            reason: str) -> DrivingLicence:
    """延期审验: the review ``due`` (the caller asks the points ledger which review is owed) moves to ``until`` (an
    approved application: applications' licence_postponement service). Refused (409) when
    ``rules.review_postponement_refusal`` says why, or when that cycle's review is recorded meanwhile. Audited."""
    return _owed_postpone("review", licence=licence, due=due, until=until, actor=actor, reason=reason)


def licence_review_record(*, licence: DrivingLicence, cycle_end: dt.date, actor: Actor, reason: str) -> DrivingLicence:
    """驾驶证审验 done for the scoring cycle ending ``cycle_end`` (an approved licence_review application). Idempotent:
    an older cycle never moves ``reviewed_through`` back. Audited."""
    return _owed_record("review", licence=licence, cycle_end=cycle_end, actor=actor, reason=reason)


def licence_health_postpone(*, licence: DrivingLicence, due: rules.ReviewDue, until: dt.date, actor: Actor,
                            reason: str) -> DrivingLicence:
    """延期提交身体条件证明: the health report ``due`` (rules.health_report_due) moves to ``until``. Refused (409) as
    ``rules.health_postponement_refusal`` says. Audited."""
    return _owed_postpone("health", licence=licence, due=due, until=until, actor=actor, reason=reason)


def licence_health_report_record(*, licence: DrivingLicence, cycle_end: dt.date, actor: Actor,
                                 reason: str) -> DrivingLicence:
    """The health report (身体条件证明, drivers aged 70+) recorded for the scoring cycle ending ``cycle_end`` (an
    approved licence_health_report application, the hospital's record held). Idempotent. Audited."""
    return _owed_record("health", licence=licence, cycle_end=cycle_end, actor=actor, reason=reason)


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
            target = rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=on,
                                            postponed_until=licence.postponed_until)
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
