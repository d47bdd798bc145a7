"""Points and scoring cycles: the registry's side of the points ledger (the violations app is the authority)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.outbox import event_emit, records_changed
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence

TOPIC_LICENCE_POINTS_IMPORTED = "registry.licence_points_imported"

UnpaidFinePoints = Callable[[DrivingLicence, dt.date, dt.date], int]


def no_unpaid_fine_points(licence: DrivingLicence, cycle_start: dt.date, cycle_end: dt.date) -> int:
    """How many of the licence's points in the cycle [cycle_start, cycle_end] belong to violations whose fines
    are still unpaid. DOMAIN §3: "with unpaid fines, the points carry into the next cycle".

    There are no fines in the platform yet (no violations or payments app), so no fine can be unpaid and this
    answers 0: at a cycle's end every point under 12 clears. The violations app decides this when it arrives,
    by passing its own function as ``unpaid_fine_points`` to ``licences_points_rollover`` (and scheduling that
    call); the registry does not read fines itself (arrows point down)."""
    return 0


def licence_points_imported(*, licences: list[tuple[int, int, dt.date]], source: str) -> None:
    """Hand points that came with the registry — (licence id, points, first day of their scoring cycle), from the
    CSV import or the demo city — to the points ledger (the violations app), which enters them as opening
    balances and mirrors the card figure back through ``licence_points_set``. The registry never adds to or
    overwrites a licence's points itself. In the caller's transaction (an outbox event)."""
    if licences:
        event_emit(topic=TOPIC_LICENCE_POINTS_IMPORTED,
                   payload={"source": source, "licences": [[pk, points, start.isoformat()]
                                                           for pk, points, start in licences]})


def licence_points_set(*, licence: DrivingLicence, points: int, cycle_start: dt.date, actor: Actor,
                       reason: str) -> DrivingLicence:
    """Mirror the licence's points in the scoring cycle starting on ``cycle_start``: called only by the violations
    app's points ledger (the one authority: opening balances, handled and revoked violations, cycle ends), with
    the ledger's total for the current cycle. Nothing else writes ``cycle_points`` of an existing licence.
    Audited when the figure changes."""
    if points < 0:
        raise InvalidInput("registry.points_negative", "记分不能为负数", "Points cannot be negative", field="points")
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=licence.pk)
        old = {"points": locked.cycle_points, "cycle_start": locked.points_cycle_start}
        if old == {"points": points, "cycle_start": cycle_start}:
            return locked
        locked.cycle_points, locked.points_cycle_start, locked.updated_at = points, cycle_start, clock.now()
        locked.save(update_fields=["cycle_points", "points_cycle_start", "updated_at"])
        records_changed(person_ids=[locked.person_id])
        audit_record(actor=actor, action="licence.points_set", obj=locked, old=old,
                     new={"points": points, "cycle_start": cycle_start}, reason=reason,
                     subject_person_id=locked.person_id)
    licence.cycle_points, licence.points_cycle_start = locked.cycle_points, locked.points_cycle_start
    return locked


def licences_points_rollover(*, on: dt.date | None = None, actor: Actor | None = None,
                             unpaid_fine_points: UnpaidFinePoints = no_unpaid_fine_points,
                             chunk: int = 500) -> dict[str, int]:
    """End the scoring cycles that are over on ``on`` (公安部令第163号): a licence whose points belong to an
    earlier cycle than the current one moves to the current cycle. Under 12 points they clear, except the
    points ``unpaid_fine_points(licence, cycle_start, cycle_end)`` says are tied to unpaid fines, which carry
    over; a full score (12+) stays until the study and exam that clear it. Each licence with points is locked,
    changed and audited in its own transaction; licences without points only move to the new cycle. Idempotent.

    Returns counts: cleared (points went to 0), carried (some points kept), moved (no points, new cycle only)."""
    on = on or clock.today()
    actor = actor or Actor.system("registry.points_cycle_rollover")
    counts = {"cleared": 0, "carried": 0, "moved": 0}
    # a cycle lasts at least 365 days, so points of an ended cycle started at least 365 days before ``on``
    candidates = (DrivingLicence.objects.filter(points_cycle_start__lte=on - dt.timedelta(days=365))
                  .order_by("pk").values_list("pk", flat=True))
    last_pk = 0
    while True:
        pks = list(candidates.filter(pk__gt=last_pk)[:chunk])
        if not pks:
            break
        last_pk = pks[-1]
        for pk in pks:
            outcome = _points_roll_one(pk=pk, on=on, actor=actor, unpaid_fine_points=unpaid_fine_points)
            if outcome:
                counts[outcome] += 1
    return counts


def _points_roll_one(*, pk: int, on: dt.date, actor: Actor, unpaid_fine_points: UnpaidFinePoints) -> str:
    with transaction.atomic():
        locked = DrivingLicence.objects.select_for_update().get(pk=pk)
        first = locked.first_issue_date
        current_start, _ = rules.scoring_cycle(first, max(on, first))
        if locked.points_cycle_start >= current_start:
            return ""  # rolled over already (or by someone else since it was read)
        if locked.cycle_points == 0:
            locked.points_cycle_start = current_start
            locked.save(update_fields=["points_cycle_start"])
            records_changed(person_ids=[locked.person_id])
            return "moved"
        ended_start, ended_end = rules.scoring_cycle(first, max(locked.points_cycle_start, first))
        old_points = locked.cycle_points
        old = {"cycle_points": old_points, "points_cycle_start": locked.points_cycle_start}
        unpaid = 0 if locked.cycle_points >= rules.FULL_SCORE else int(unpaid_fine_points(locked, ended_start, ended_end))
        kept = rules.points_after_cycle(points=locked.cycle_points, unpaid_points=unpaid)
        locked.cycle_points = kept
        locked.points_cycle_start = current_start
        locked.updated_at = clock.now()
        locked.save(update_fields=["cycle_points", "points_cycle_start", "updated_at"])
        records_changed(person_ids=[locked.person_id])
        if kept == 0:
            reason = "记分周期届满，记分清除 scoring cycle ended: points cleared"
        elif old_points >= rules.FULL_SCORE:
            reason = "记满12分，须满分学习考试后清除 full score: cleared only after the study and exam"
        else:
            reason = "有罚款未缴纳，相应记分转入下一周期 unpaid fines: their points carry into the next cycle"
        audit_record(actor=actor, action="licence.points_rollover", obj=locked, old=old,
                     new={"cycle_points": kept, "points_cycle_start": current_start}, reason=reason,
                     subject_person_id=locked.person_id)
        return "cleared" if kept == 0 else "carried"
