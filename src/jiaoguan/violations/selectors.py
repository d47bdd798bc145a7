"""Reads of the violations app."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal, not_found
from jiaoguan.identity.selectors import my_vehicles
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.rules import FULL_SCORE
from jiaoguan.registry.selectors import VehicleSummary, vehicle_ids_registered_to
from jiaoguan.violations import conf, rules
from jiaoguan.violations.models import (
    Detention,
    Dispute,
    DisputePhoto,
    Evidence,
    PenaltyDecision,
    PointsAccount,
    PointsEntry,
    Violation,
)

# The choices the pages show and offer (this app's models' reference data, read here by portal and console)
ViolationStatus = Violation.Status
ViolationSource = Violation.Source
DisputeKind = Dispute.Kind
DisputeStatus = Dispute.Status
DetentionKind = Detention.Kind
DetentionStatus = Detention.Status


def _visible_filter(*, user) -> Q | None:
    """Own vehicles: every violation; a vehicle of someone else bound to the user: only violations from the
    binding on (a bound non-owner never sees what happened before they were allowed to)."""
    q = None
    for mv in my_vehicles(user=user):
        s = mv.vehicle
        assert isinstance(s, VehicleSummary)  # what identity lists (its MyVehicle.vehicle is typed object)
        own = mv.is_own or (user.person_id is not None and s.owner_person_id == user.person_id)
        part = Q(vehicle_id=s.vehicle_id)
        if not own:
            if mv.bound_at is None:
                continue
            part &= Q(occurred_at__gte=mv.bound_at)
        q = part if q is None else q | part
    return q


def my_violations(*, user, status: str | None = None) -> QuerySet[Violation]:
    q = _visible_filter(user=user)
    if q is None:
        return Violation.objects.none()
    qs = Violation.objects.filter(q).select_related("code").prefetch_related("evidence")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-occurred_at", "-pk")


def my_violation_counts(*, user) -> dict[str, int]:
    """How many of the violations the user sees are in each status (the citizen's summary, jiaoguan.records)."""
    q = _visible_filter(user=user)
    if q is None:
        return {}
    return dict(Violation.objects.filter(q).values_list("status").annotate(n=Count("pk")).order_by())


def my_violation(*, user, violation_id: int) -> Violation:
    """One of the user's visible violations; 404 for anything else (not "forbidden": ids cannot be probed)."""
    q = _visible_filter(user=user)
    v = None
    if q is not None:
        v = Violation.objects.filter(q, pk=violation_id).select_related("code", "vehicle").first()
    if v is None:
        raise not_found("违法记录", "violation")
    return v


def violation_get(*, violation_id: int) -> Violation | None:
    """Any violation by id (staff pages: the console decides who may look)."""
    return Violation.objects.select_related("code").filter(pk=violation_id).first()


def violations_find(*, q: str, limit: int = 50) -> list[Violation]:
    """Staff search: a violation number, or every violation of a plate number, latest first."""
    q = q.strip().upper()
    qs = Violation.objects.select_related("code")
    qs = qs.filter(pk=int(q)) if q.isdigit() else qs.filter(plate=q)
    return list(qs.order_by("-occurred_at", "-pk")[:limit])


def evidence_of(*, violation: Violation, evidence_id: int) -> Evidence | None:
    return Evidence.objects.filter(violation=violation, pk=evidence_id).first()


def points_reversed(*, violation: Violation) -> int:
    """The points a revocation took off the licence (0 when it carried none to a licence)."""
    entry = PointsEntry.objects.filter(violation=violation, kind=PointsEntry.Kind.REVERSE).first()
    return -entry.points if entry else 0


def decision_for(*, violation: Violation) -> PenaltyDecision | None:
    return PenaltyDecision.objects.filter(violation=violation).first()


def licence_points(*, licence, cycle_start) -> int:
    acc = PointsAccount.objects.filter(licence=licence, cycle_start=cycle_start).first()
    return acc.total if acc else 0


def full_score_between(*, licence, start: dt.date | None, end: dt.date) -> bool:
    """Did any scoring cycle overlapping ``start``..``end`` (a validity period) reach the full score? The renewal
    rule of DOMAIN §3 (6 → 10 years → long-term only without one) looks at every cycle of the period, not only the
    current one."""
    # a cycle that reached 12 itself: not one that only carried a full score in from the cycle before
    accounts = PointsAccount.objects.filter(licence=licence, cycle_start__lte=end, total__gte=FULL_SCORE,
                                            carried_in__lt=FULL_SCORE)
    if start is not None:
        accounts = accounts.filter(cycle_end__gte=start)
    return accounts.exists()


def points_of_cycle(*, licence, cycle_start: dt.date) -> int:
    """The points recorded in the licence's scoring cycle starting on ``cycle_start`` — the ledger's total less what
    carried in from the cycle before (0 when it has no account): what 驾驶证审验 (registry.rules.review_due) asks
    about the cycle that has just ended ("a cycle with 记分 records")."""
    row = (PointsAccount.objects.filter(licence=licence, cycle_start=cycle_start)
           .values_list("total", "carried_in").first())
    return max(0, int(row[0]) - int(row[1])) if row else 0


def points_during(*, licence, start: dt.date, end: dt.date) -> int:
    """The points recorded on the licence from ``start`` to ``end`` (local days, both included): what probation asks
    ("实习期内记分"; a probation year of an added class is not a scoring cycle). A scoring cycle lying wholly inside
    counts its own points (its total less what carried in from the cycle before, as ``points_of_cycle``); a cycle
    overlapping the edge counts the points of violations assigned on the days inside and not revoked since."""
    accounts = PointsAccount.objects.filter(licence=licence, cycle_start__lte=end, cycle_end__gte=start)
    inside = accounts.filter(cycle_start__gte=start, cycle_end__lte=end)
    own = sum(max(0, total - carried) for total, carried in inside.values_list("total", "carried_in"))
    low, high = clock.local_midnight(start), clock.local_midnight(end + dt.timedelta(days=1))
    reversed_ids = PointsEntry.objects.filter(kind=PointsEntry.Kind.REVERSE, account__licence=licence).values(
        "violation_id")
    # a violation's points count on the day they were assigned, unless it was revoked (at any time since): a
    # revocation undoes the points where they were counted, never others. The city's opening balances of a cycle
    # that straddles the window have no day: they are not counted (docs/registry-import.md)
    edge = (PointsEntry.objects.filter(account__in=accounts.exclude(pk__in=inside.values("pk")),
                                       kind=PointsEntry.Kind.ASSIGN, created_at__gte=low, created_at__lt=high)
            .exclude(violation_id__in=reversed_ids).aggregate(n=Sum("points"))["n"] or 0)
    return max(0, own + int(edge))


def violations_of_person_between(*, person, start: dt.date, end: dt.date) -> int:
    """How many traffic violations (not revoked) occurred from ``start`` to ``end`` (local days, both included)
    on a vehicle registered to the person (scrapped or transferred-out ones included, as long as the register
    still names the person as their owner) or were decided against the person's licence: what a 无违法证明
    (no-violation certificate) must find none of."""
    since, _ = clock.day_bounds(start)
    _, until = clock.day_bounds(end)
    mine = Q(vehicle_id__in=vehicle_ids_registered_to(person=person)) | Q(decision__person_id=person.pk)
    return (Violation.objects.filter(mine, occurred_at__gte=since, occurred_at__lt=until)
            .exclude(status=Violation.Status.REVOKED).count())


def unpaid_fine_points(licence, cycle_start, cycle_end) -> int:
    """For registry.services.licences_points_rollover: points of the cycle whose fines are still unpaid
    (handled, not paid), which carry over into the next cycle."""
    return sum(PenaltyDecision.objects.filter(
        licence=licence, decision_date__gte=cycle_start, decision_date__lte=cycle_end, fine_fen__gt=0,
        violation__status=Violation.Status.HANDLED).values_list("points", flat=True))


def disputes_waiting(*, limit: int = 200):
    """The staff review queue: submitted disputes, oldest first (the one waiting longest on top)."""
    return (Dispute.objects.filter(status=Dispute.Status.SUBMITTED).prefetch_related("violations", "photos")
            .order_by("submitted_at", "pk")[:limit])


# Not yet settled: not handled, handled but the fine unpaid, or under dispute (a dispute may still fail).
UNSETTLED = (Violation.Status.RECORDED, Violation.Status.HANDLED, Violation.Status.DISPUTED)


def dispute_get(*, dispute_id: int) -> Dispute | None:
    """One dispute with its violations (code, vehicle, evidence) and photos, for the review page."""
    return Dispute.objects.filter(pk=dispute_id).prefetch_related("violations__code", "violations__vehicle",
                                                                  "violations__evidence", "photos").first()


def dispute_evidence(*, dispute: Dispute, evidence_id: int) -> Evidence | None:
    """An evidence photo of one of the dispute's violations."""
    return Evidence.objects.filter(pk=evidence_id, violation__in=dispute.violations.all()).first()


def dispute_photo(*, dispute: Dispute, photo_id: int) -> DisputePhoto | None:
    return DisputePhoto.objects.filter(pk=photo_id, dispute=dispute).first()


def unsettled_for_vehicle(*, vehicle_id: int | None = None, plate: str | None = None,
                          plate_type: str | None = None) -> QuerySet[Violation]:
    """Violations of a vehicle (or of a plate, for one given up) that still block a business such as an
    inspection or keeping the plate: not handled, unpaid or disputed."""
    if vehicle_id is None and not plate:
        raise ValueError("give vehicle_id or plate")
    qs = Violation.objects.filter(status__in=UNSETTLED)
    if vehicle_id is not None:
        qs = qs.filter(vehicle_id=vehicle_id)
    if plate:
        qs = qs.filter(plate=plate)
        if plate_type:
            qs = qs.filter(plate_type=plate_type)
    return qs.select_related("code").order_by("occurred_at", "id")


# --- First-violation waivers (the one check: the page offers what violation_request_waiver grants) ----------------

def _waiver_params() -> rules.WaiverParams:
    return rules.WaiverParams(rules=tuple(conf.get("WAIVER_RULES")),
                              shenzhen_max_fine_fen=conf.get("SHENZHEN_MAX_FINE_FEN"),
                              shenzhen_clean_months=conf.get("SHENZHEN_CLEAN_MONTHS"),
                              shenzhen_vehicle_min_months=conf.get("SHENZHEN_VEHICLE_MIN_MONTHS"),
                              national_clean_months=conf.get("NATIONAL_CLEAN_MONTHS"))


def waiver_facts(*, violation: Violation, prior: list[Violation] | None = None) -> rules.WaiverFacts:
    """The facts of the waiver rules. Prior violations are the vehicle's (same plate and plate type) violations,
    revoked ones aside, that come before this one in ``rules.occurrence_key`` order: an earlier time, or the
    identical time and a smaller id — by the instant, so an earlier one the same day counts. A waived violation
    is judged as it was recorded (its code's fine and points, which the waiver set to 0). ``prior``: those
    violations when the caller has them already (a device batch decides all its vehicles' waivers from one read
    of their violations); otherwise they are read here."""
    vehicle = violation.vehicle
    occurred_on = timezone.localdate(violation.occurred_at)
    if prior is None:
        before = Q(occurred_at__lt=violation.occurred_at)
        if violation.pk is not None:
            before |= Q(occurred_at=violation.occurred_at, pk__lt=violation.pk)
        prior_times = list(Violation.objects.filter(before, plate=violation.plate, plate_type=violation.plate_type)
                           .exclude(status=Violation.Status.REVOKED).values_list("occurred_at", flat=True))
    else:
        prior_times = [p.occurred_at for p in prior]
    since = None
    if vehicle is not None:
        since = max(d for d in (vehicle.registration_date, vehicle.last_change_date) if d is not None)
    points, fine_fen = violation.points, violation.fine_fen
    if violation.status == Violation.Status.WAIVED:
        points, fine_fen = violation.code.points, violation.code.fine_fen
    return rules.WaiverFacts(
        code_on_first_list=violation.code.first_violation_list, points=points,
        fine_fen=fine_fen, accident=violation.accident, congestion=violation.congestion,
        in_city=True,  # everything this platform records happened in its city
        vehicle_local=violation.plate.startswith(conf.get("CITY_PLATE_PREFIX")) and vehicle is not None,
        vehicle_since=since, occurred_on=occurred_on,
        prior_violation_dates=tuple(timezone.localdate(t) for t in prior_times))


def waiver_check(*, violation: Violation, prior: list[Violation] | None = None) -> rules.Waiver | None:
    return rules.waiver_for(waiver_facts(violation=violation, prior=prior), _waiver_params())


def waiver_offer(*, violation: Violation) -> rules.WaiverOffer:
    """May the citizen request the first-violation waiver of this violation, and if not, why: what the page
    shows before the tap and what ``services.violation_request_waiver`` enforces."""
    if not rules.VIOLATION_TRANSITIONS.allows(violation.status, Violation.Status.WAIVED):
        return rules.waiver_offer(None, _waiver_params(), open_=False)
    return rules.waiver_offer(waiver_facts(violation=violation), _waiver_params())


def may_handle(*, violation: Violation) -> bool:
    """Is the violation open to 处理 (the status ``services.violation_handle_online``/``_counter`` accept)?"""
    return violation.status in rules.HANDLE_FROM


def may_dispute(*, violation: Violation) -> bool:
    """申诉 is open for a violation not yet settled for good (the statuses ``services.dispute_submit`` accepts)."""
    return rules.VIOLATION_TRANSITIONS.allows(violation.status, Violation.Status.DISPUTED)


# --- Detentions (扣留) and their return (放车还证) ----------------------------------------------------------------

def my_detentions(*, user, status: str | None = None) -> QuerySet[Detention]:
    """The detentions of the user's own person (a licence taken from them, a vehicle of theirs), latest first;
    nothing for an account with no person. Never another's: a bound vehicle's detention is its owner's."""
    person_id = getattr(user, "person_id", None)
    if person_id is None:
        return Detention.objects.none()
    qs = Detention.objects.filter(person_id=person_id).select_related("vehicle", "licence")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-detained_at", "-pk")


def my_detention(*, user, detention_id: int) -> Detention:
    """One of the user's own detentions; 404 for anything else (another's is the same answer as a missing one)."""
    d = my_detentions(user=user).filter(pk=detention_id).first()
    if d is None:
        raise not_found("扣留记录", "detention")
    return d


def detention_get(*, detention_id: int) -> Detention | None:
    """Any detention by id (staff: the console and the API decide who may look)."""
    return Detention.objects.select_related("vehicle", "licence").filter(pk=detention_id).first()


def detentions_recent(*, q: str = "", status: str = "", limit: int = 50) -> list[Detention]:
    """Staff's list (the console): the latest detentions, optionally one notice number (exact, any case) or one
    status; newest first."""
    qs = Detention.objects.select_related("person", "vehicle").order_by("-detained_at", "-pk")
    if q.strip():
        qs = qs.filter(notice_number=q.strip().upper())
    if status in DetentionStatus.values:
        qs = qs.filter(status=status)
    return list(qs[:limit])


def detained_violations(*, detention: Detention) -> tuple[rules.DetainedViolation, ...]:
    """The facts of the violations a detention was taken for, as the return rule reads them: each one's status and
    its fine (the decision's when decided — a warning decision is 0 — else the recorded fine)."""
    out = []
    for v in detention.violations.select_related("code", "decision").order_by("pk"):
        decision = getattr(v, "decision", None)
        out.append(rules.DetainedViolation(
            pk=v.pk, status=v.status, fine_fen=decision.fine_fen if decision is not None else v.fine_fen,
            description_zh=v.code.description_zh, description_en=v.code.description_en))
    return tuple(out)


def detention_licence_status(*, detention: Detention, on: dt.date | None = None) -> str | None:
    """The detained licence's effective status today (registry.rules.effective_status: an unrenewed licence is
    expired, then cancelled, by its dates), or None for a vehicle or a licence no longer on record."""
    licence = detention.licence
    if detention.kind != rules.DETENTION_LICENCE or licence is None:
        return None
    return registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until,
                                           on=on or clock.today(), postponed_until=licence.postponed_until)


def detention_release_refusals(*, detention: Detention) -> list[Refusal]:
    """Why this detention may not be returned now (empty: it may): ``rules.release_refusals`` over what the
    violations and the registry say today. The one check: the catalogue service asks it before and at submission,
    ``services.detention_release`` again under the row lock at approval."""
    return rules.release_refusals(status=detention.status, kind=detention.kind,
                                  violations=detained_violations(detention=detention),
                                  licence_status=detention_licence_status(detention=detention))


def detentions_returnable(*, user) -> list[tuple[Detention, list[Refusal]]]:
    """The user's detentions still held, each with why it cannot be returned yet (an empty list: it can)."""
    return [(d, detention_release_refusals(detention=d)) for d in my_detentions(user=user, status=rules.HELD)]
