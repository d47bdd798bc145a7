"""Reads of the plates app: offices, my selections and eligible vehicles, pool counts, holds, history."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count

from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal, not_found
from jiaoguan.identity.selectors import records_visible
from jiaoguan.plates import rules
from jiaoguan.plates.models import Kind, Office, PlateHistory, PlateNumber, Selection, WithholdPolicy
from jiaoguan.registry import selectors as registry
from jiaoguan.violations import selectors as violations

LIVE_STATUSES = ("normal", "mortgaged")  # registry.Vehicle.Status values a plate can be chosen for

# The choices the pages show and offer (this app's models' reference data, read through here)
PlateKind = Kind
PlateNumberStatus = PlateNumber.Status
SelectionStatus = Selection.Status
WithholdRule = WithholdPolicy.Rule


def office_by_prefix(prefix: str) -> Office | None:
    return Office.objects.filter(prefix=prefix, active=True).first()


def offices() -> list[Office]:
    return list(Office.objects.all().order_by("prefix"))


def office_get(*, office_id: int) -> Office:
    office = Office.objects.filter(pk=office_id).first()
    if office is None:
        raise not_found("发牌机关", "issuing office")
    return office


def active_policies(*, office: Office) -> list[WithholdPolicy]:
    return list(WithholdPolicy.objects.filter(office=office, active=True).order_by("pk"))


def policies(*, office: Office | None = None) -> list[WithholdPolicy]:
    qs = WithholdPolicy.objects.select_related("office").order_by("office__prefix", "-active", "pk")
    return list(qs.filter(office=office) if office else qs)


def policy_get(*, policy_id: int) -> WithholdPolicy:
    policy = WithholdPolicy.objects.filter(pk=policy_id).select_related("office").first()
    if policy is None:
        raise not_found("保留策略", "withholding policy")
    return policy


def withholding_policy(*, policies: list[WithholdPolicy], kind: str, number: str) -> WithholdPolicy | None:
    serial = number[2:]
    return next((p for p in policies if p.applies(kind, serial)), None)


def pool_counts(*, office: Office) -> dict[str, dict[str, int]]:
    """kind -> status -> count (every status present, 0 when none)."""
    out = {k: {s: 0 for s in PlateNumber.Status.values} for k in rules.KIND_SHAPES}
    for row in (PlateNumber.objects.filter(office=office).values("kind", "status").annotate(n=Count("pk"))
                .order_by()):
        out.setdefault(row["kind"], {s: 0 for s in PlateNumber.Status.values})[row["status"]] = row["n"]
    return out


def holds(*, office: Office | None = None, limit: int = 200) -> list[PlateNumber]:
    qs = PlateNumber.objects.filter(status=PlateNumber.Status.HELD).select_related("held_by", "office")
    if office is not None:
        qs = qs.filter(office=office)
    return list(qs.order_by("hold_expires_at", "pk")[:limit])


def current_hold(*, selection: Selection) -> PlateNumber | None:
    """The number the selection holds now (a hold past its expiry counts as none, even before the sweep)."""
    return (PlateNumber.objects.filter(held_by=selection, status=PlateNumber.Status.HELD,
                                       hold_expires_at__gt=clock.now()).first())


def offered_numbers(*, selection: Selection) -> list[PlateNumber]:
    """The current batch in the order drawn, with each number's status now."""
    rows = {p.number: p for p in PlateNumber.objects.filter(number__in=selection.offered or [])}
    return [rows[n] for n in selection.offered or [] if n in rows]


def my_selections(*, user) -> list[Selection]:
    return list(Selection.objects.filter(user=user).select_related("vehicle", "office").order_by("-created_at", "-pk"))


def my_selection(*, user, selection_id: int) -> Selection:
    """One of the user's selections; 404 for anything else (ids cannot be probed)."""
    sel = (Selection.objects.filter(pk=selection_id, user=user).select_related("vehicle", "office").first()
           if user is not None and getattr(user, "pk", None) else None)
    if sel is None:
        raise not_found("选号记录", "plate selection")
    return sel


def history_for(*, person_id: int) -> list[PlateHistory]:
    return list(PlateHistory.objects.filter(person_id=person_id).order_by("-given_up_on", "-pk"))


# --- eligibility -------------------------------------------------------------------------------------------------

@dataclass
class Eligibility:
    vehicle: object  # registry.Vehicle
    office: Office | None
    kind: str
    selection: Selection | None = None
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.refusals


def own_vehicles(*, user) -> list:
    """The user's own vehicles, only while the account may see them (phone on file matches: identity)."""
    if user is None or getattr(user, "person_id", None) is None or not records_visible(user=user):
        return []
    return list(registry.vehicles_owned_by(person=user.person))


def own_vehicle(*, user, vehicle_id: int):
    """One of the user's own vehicles, else the same 404 as a missing one."""
    for v in own_vehicles(user=user):
        if v.pk == vehicle_id:
            return v
    raise not_found("车辆", "vehicle")


def eligibility(*, vehicle, today: dt.date | None = None) -> Eligibility:
    """May this vehicle's owner choose its number online?

    The register needs a number to register a vehicle (``registry.services.vehicle_register``), so the number a
    vehicle gets at registration is the office's provisional one. Its owner may then choose the permanent number
    online once, while all of these hold:

    - the vehicle is in use here (normal or mortgaged);
    - its plate type is one the pools serve (ordinary small car 02, new-energy small 52 or large 51);
    - its number belongs to an active issuing office (粤B → Shenzhen's pool);
    - it was registered (初次登记日期) no more than ``office.eligible_days`` days ago (default 30);
    - no selection of it has been confirmed (the choice is made once).
    """
    today = today or clock.today()
    kind = vehicle.plate_type
    office = office_by_prefix(vehicle.plate[:2])
    selection = (Selection.objects.filter(vehicle=vehicle).exclude(status=Selection.Status.CANCELLED)
                 .order_by("-pk").first())
    out = Eligibility(vehicle=vehicle, office=office, kind=kind, selection=selection)
    if vehicle.status not in LIVE_STATUSES:
        out.refusals.append(Refusal("plates.vehicle_status", "车辆状态不正常，不能选号",
                                    "The vehicle is not in use; no number can be chosen for it"))
    if kind not in rules.KIND_SHAPES:
        out.refusals.append(Refusal("plates.kind_not_served", "该号牌种类不能网上选号",
                                    "Numbers of this plate type cannot be chosen online"))
    if office is None:
        out.refusals.append(Refusal("plates.no_office", "该车辆所属发牌机关未开通网上选号",
                                    "The vehicle's issuing office does not offer online selection"))
    elif (today - vehicle.registration_date).days > office.eligible_days:
        out.refusals.append(Refusal(
            "plates.not_new", f"仅注册登记{office.eligible_days}日内的新车可以网上选号",
            f"Only vehicles registered in the last {office.eligible_days} days can choose a number online"))
    if selection is not None and selection.status == Selection.Status.CONFIRMED:
        out.refusals.append(Refusal("plates.already_chosen", "该车辆已选定号牌",
                                    "A number has already been chosen for this vehicle"))
    return out


def my_eligibility(*, user) -> list[Eligibility]:
    """Every own vehicle with whether it may choose a number (and its selection, if any)."""
    return [eligibility(vehicle=v) for v in own_vehicles(user=user)]


# --- violations on a plate (keeping a previous plate) ------------------------------------------------------------

def plate_violations_cleared(*, plate: str) -> bool:
    """No violation on ``plate`` left unhandled, unpaid or under dispute (DOMAIN §5: a previous plate is kept
    only with its violations cleared)."""
    return not violations.unsettled_for_vehicle(plate=plate).exists()
