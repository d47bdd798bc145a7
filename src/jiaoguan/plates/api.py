"""Plates API (ninja Router mounted at /api/v1/ by jiaoguan/api.py): parse, authorise, call a service.

Citizens (session or bearer):
    GET  /api/v1/me/plates/vehicles                        own vehicles with whether they may choose a number
    GET  /api/v1/me/plates/selections                      my selections
    POST /api/v1/me/plates/selections                      {"vehicle_id"} start (or return the running one)
    GET  /api/v1/me/plates/selections/{id}                 one, with the batch and the held number
    POST /api/v1/me/plates/selections/{id}/draw            draw / redraw a batch        (Idempotency-Key)
    POST /api/v1/me/plates/selections/{id}/compose         {"number"} check a composed number
    POST /api/v1/me/plates/selections/{id}/hold            {"number"} hold a drawn or composed number (Idempotency-Key)
    POST /api/v1/me/plates/selections/{id}/keep            {"number"} hold a previous plate of mine (Idempotency-Key)
    POST /api/v1/me/plates/selections/{id}/confirm         assign the held number to the vehicle (Idempotency-Key)
    POST /api/v1/me/plates/selections/{id}/release         give the held number back (Idempotency-Key)
Staff (clerk views; approver and admin change):
    GET  /api/v1/staff/plates/offices                      offices with counts by kind and status
    POST /api/v1/staff/plates/offices/{id}/generate        {"kind", "series"}
    GET  /api/v1/staff/plates/policies                     POST the same to add; POST …/{id}/deactivate
    GET  /api/v1/staff/plates/holds                        numbers held now
"""
from __future__ import annotations

from ninja import Field, Router, Schema, Status

from jiaoguan.core import clock
from jiaoguan.core.api_errors import ERRORS
from jiaoguan.core.api_schema import DateTimeText, Out, RefusalOut, examples
from jiaoguan.core.audit import Actor
from jiaoguan.core.http import actor_of, client_ip
from jiaoguan.core.idempotency import api_once
from jiaoguan.identity.auth import AUTH, current_user, require_permission
from jiaoguan.plates import selectors, services
from jiaoguan.plates.models import PlateNumber, Selection, WithholdPolicy

router = Router(tags=["plates"])


class PlateNumberOut(Out):
    number: str
    kind: str
    nev: bool
    status: str


class PlateHeldOut(Out):
    number: str
    expires_at: DateTimeText | None


class PlateSelectionOut(Out):
    id: int
    vehicle_id: int
    office: str = Field(description="the issuing office's plate prefix, e.g. 粤B")
    kind: str
    status: str
    draws_allowed: int
    draws_used: int
    draws_left: int
    batch_size: int
    offered: list[PlateNumberOut]
    held: PlateHeldOut | None
    previous_plate: str
    plate: str | None = Field(description="the confirmed number")
    hold_minutes: int


class PlateVehicleOut(Out):
    vehicle_id: int
    plate: str
    plate_type: str
    eligible: bool
    reasons: list[RefusalOut]
    selection_id: int | None


class PlateComposeOut(Out):
    number: str
    available: bool


class PlateOfficeOut(Out):
    id: int
    code: str
    name: str
    prefix: str
    batch_size: int
    redraws: int
    hold_minutes: int
    eligible_days: int
    compose_patterns: dict[str, list[str]]
    active: bool
    counts: dict[str, dict[str, int]] = Field(description="kind -> status -> count")


class PlatePoolGeneratedOut(Out):
    series: str
    kind: str
    candidates: int
    valid: int
    added: int
    withheld: int
    in_use: int


class PlatePolicyOut(Out):
    id: int
    office: str
    name: str
    rule: str
    value: str
    kind: str
    active: bool
    created_at: DateTimeText


class PlateHoldOut(Out):
    number: str
    kind: str
    selection_id: int | None
    vehicle_id: int | None
    expires_at: DateTimeText | None


def _number_out(p: PlateNumber) -> dict:
    return {"number": p.number, "kind": p.kind, "nev": p.is_nev, "status": p.status}


def selection_out(sel: Selection) -> dict:
    hold = selectors.current_hold(selection=sel)
    return {
        "id": sel.pk, "vehicle_id": sel.vehicle_id, "office": sel.office.prefix, "kind": sel.kind,
        "status": sel.status, "draws_allowed": sel.draws_allowed, "draws_used": sel.draws_used,
        "draws_left": sel.draws_left, "batch_size": sel.batch_size,
        "offered": [_number_out(p) for p in selectors.offered_numbers(selection=sel)],
        "held": {"number": hold.number, "expires_at": clock.isoformat(hold.hold_expires_at)} if hold else None,
        "previous_plate": sel.previous_plate, "plate": sel.plate or None,
        "hold_minutes": sel.office.hold_minutes,
    }


def _step(request, selection_id: int, action: str, service, *, fingerprint: str | None = None, **kwargs) -> Status:
    """One citizen step on a selection, once per Idempotency-Key: ``service(user=, selection_id=, ip=, **kwargs)``,
    answered with the selection as it is then."""
    user = current_user(request)
    ip = client_ip(request)

    def run():
        service(user=user, selection_id=selection_id, ip=ip, **kwargs)
        return 200, selection_out(selectors.my_selection(user=user, selection_id=selection_id))

    return api_once(request, user, f"plates-{action}", fingerprint=f"{selection_id}:{fingerprint or action}", run=run)


@router.get("me/plates/vehicles", auth=AUTH, response={200: list[PlateVehicleOut], **ERRORS},
            summary="My own vehicles and whether each may choose a number online")
def my_vehicles(request):
    user = current_user(request)
    return [{"vehicle_id": e.vehicle.pk, "plate": e.vehicle.plate, "plate_type": e.kind, "eligible": e.eligible,
             "reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in e.refusals],
             "selection_id": e.selection.pk if e.selection else None} for e in selectors.my_eligibility(user=user)]


@router.get("me/plates/selections", auth=AUTH, response={200: list[PlateSelectionOut], **ERRORS},
            summary="My plate selections")
def my_selections(request):
    user = current_user(request)
    return [selection_out(s) for s in selectors.my_selections(user=user)]


class StartIn(Schema):
    vehicle_id: int

    model_config = examples({"vehicle_id": 1})


@router.post("me/plates/selections", auth=AUTH, response={200: PlateSelectionOut, 201: PlateSelectionOut, **ERRORS},
             summary="Start a plate selection for one of my newly registered vehicles")
def start(request, payload: StartIn):
    user = current_user(request)
    sel = services.selection_start(user=user, vehicle_id=payload.vehicle_id, ip=client_ip(request))
    return Status(201, selection_out(sel))


@router.get("me/plates/selections/{selection_id}", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
            summary="One selection with its batch and the held number")
def my_selection(request, selection_id: int):
    user = current_user(request)
    return selection_out(selectors.my_selection(user=user, selection_id=selection_id))


@router.post("me/plates/selections/{selection_id}/draw", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
             summary="Draw (or redraw) a batch of random available numbers (Idempotency-Key required)")
def draw(request, selection_id: int):
    return _step(request, selection_id, "draw", services.selection_draw)


class NumberIn(Schema):
    number: str

    model_config = examples({"number": "粤B8K2Q6"})


@router.post("me/plates/selections/{selection_id}/compose", auth=AUTH, response={200: PlateComposeOut, **ERRORS},
             summary="Check a composed number against the office's rules and the pool")
def compose(request, selection_id: int, payload: NumberIn):
    user = current_user(request)
    number = services.selection_compose(user=user, selection_id=selection_id, number=payload.number,
                                        ip=client_ip(request))
    return {"number": number, "available": True}


@router.post("me/plates/selections/{selection_id}/hold", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
             summary="Hold a drawn or composed number for the office's hold minutes (Idempotency-Key required)")
def hold(request, selection_id: int, payload: NumberIn):
    return _step(request, selection_id, "hold", services.selection_hold, fingerprint=payload.number,
                 number=payload.number)


@router.post("me/plates/selections/{selection_id}/keep", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
             summary="Hold a plate I held before (DOMAIN §5 conditions; Idempotency-Key required)")
def keep(request, selection_id: int, payload: NumberIn):
    return _step(request, selection_id, "keep", services.selection_keep_previous, fingerprint=payload.number,
                 number=payload.number)


@router.post("me/plates/selections/{selection_id}/confirm", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
             summary="Confirm the held number: assigned to the vehicle (Idempotency-Key required)")
def confirm(request, selection_id: int):
    return _step(request, selection_id, "confirm", services.selection_confirm)


@router.post("me/plates/selections/{selection_id}/release", auth=AUTH, response={200: PlateSelectionOut, **ERRORS},
             summary="Give the held number back (Idempotency-Key required)")
def release(request, selection_id: int):
    return _step(request, selection_id, "release", services.selection_release)


# --- staff ---------------------------------------------------------------------------------------------------------

def _staff(request, permission: str = "plate.view") -> Actor:
    """The staff member acting, if their role holds ``permission`` (the one services enforce: plate.manage)."""
    return actor_of(request, require_permission(request, permission))


@router.get("staff/plates/offices", auth=AUTH, response={200: list[PlateOfficeOut], **ERRORS},
            summary="Issuing offices with pool counts by kind and status")
def staff_offices(request):
    _staff(request)
    return [{"id": o.pk, "code": o.code, "name": o.name, "prefix": o.prefix, "batch_size": o.batch_size,
             "redraws": o.redraws, "hold_minutes": o.hold_minutes, "eligible_days": o.eligible_days,
             "compose_patterns": o.patterns(), "active": o.active, "counts": selectors.pool_counts(office=o)}
            for o in selectors.offices()]


class PlatePoolGenerateIn(Schema):
    kind: str
    series: str

    model_config = examples({"kind": "02", "series": "粤BA0000-粤BA9999"})


@router.post("staff/plates/offices/{office_id}/generate", auth=AUTH, response={200: PlatePoolGeneratedOut, **ERRORS},
             summary="Generate a series of numbers into the pool (idempotent)")
def staff_generate(request, office_id: int, payload: PlatePoolGenerateIn):
    actor = _staff(request, services.MANAGE)
    office = selectors.office_get(office_id=office_id)
    r = services.plate_pool_generate(office=office, kind=payload.kind, series=payload.series, actor=actor)
    return {"series": r.series, "kind": r.kind, "candidates": r.candidates, "valid": r.valid, "added": r.added,
            "withheld": r.withheld, "in_use": r.in_use}


def _policy_out(p: WithholdPolicy) -> dict:
    return {"id": p.pk, "office": p.office.prefix, "name": p.name, "rule": p.rule, "value": p.value,
            "kind": p.kind, "active": p.active, "created_at": clock.isoformat(p.created_at)}


@router.get("staff/plates/policies", auth=AUTH, response={200: list[PlatePolicyOut], **ERRORS},
            summary="Withholding policies")
def staff_policies(request):
    _staff(request)
    return [_policy_out(p) for p in selectors.policies()]


class PolicyIn(Schema):
    office_id: int
    name: str
    rule: str
    value: str
    kind: str = ""

    model_config = examples({"office_id": 1, "name": "尾号4保留", "rule": "suffix", "value": "4", "kind": ""})


@router.post("staff/plates/policies", auth=AUTH, response={201: PlatePolicyOut, **ERRORS},
             summary="Add a withholding policy")
def staff_policy_add(request, payload: PolicyIn):
    actor = _staff(request, services.MANAGE)
    office = selectors.office_get(office_id=payload.office_id)
    p = services.policy_add(office=office, name=payload.name, rule=payload.rule, value=payload.value,
                            kind=payload.kind, actor=actor)
    return Status(201, _policy_out(p))


@router.post("staff/plates/policies/{policy_id}/deactivate", auth=AUTH, response={200: PlatePolicyOut, **ERRORS},
             summary="Deactivate a withholding policy (its numbers return to the pool)")
def staff_policy_deactivate(request, policy_id: int):
    actor = _staff(request, services.MANAGE)
    p = selectors.policy_get(policy_id=policy_id)
    return _policy_out(services.policy_deactivate(policy=p, actor=actor))


@router.get("staff/plates/holds", auth=AUTH, response={200: list[PlateHoldOut], **ERRORS}, summary="Numbers held now")
def staff_holds(request):
    _staff(request)
    return [{"number": p.number, "kind": p.kind, "selection_id": p.held_by_id,
             "vehicle_id": p.held_by.vehicle_id if p.held_by else None,
             "expires_at": clock.isoformat(p.hold_expires_at)}
            for p in selectors.holds()]

