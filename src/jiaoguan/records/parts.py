"""The parts of a citizen's records and how each is made: from the owning apps' selectors, rendered by the owning
apps' renderers (identity.render, violations.render) and checked against the API's own schemas, so the read
model's body is the document the endpoint answered with before the read model existed.

Each part says when a value in it changes with the date alone (``stale_at``): a licence's validity and renewal
window, a vehicle's inspection days left and insurance status change at local midnight, with no event."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from pydantic import BaseModel, TypeAdapter

from jiaoguan.applications import selectors as applications
from jiaoguan.bookings import selectors as bookings
from jiaoguan.core import clock
from jiaoguan.core.api_render import LocalTimeEncoder
from jiaoguan.identity import render as identity_render
from jiaoguan.identity import selectors as identity
from jiaoguan.identity import services as identity_services
from jiaoguan.identity.schemas import LicenceOut, MeOut, VehicleOut
from jiaoguan.payments import selectors as payments
from jiaoguan.records.schemas import SummaryOut
from jiaoguan.violations import render as violations_render
from jiaoguan.violations import selectors as violations
from jiaoguan.violations.schemas import ViolationOut

LANGUAGES = ("zh-hans", "en")
VIOLATIONS_LISTED = 200  # the newest this many, as GET me/violations has always answered


@dataclass(frozen=True)
class Made:
    """One part computed from the records: ``render(language)`` gives its body in that language."""

    render: Callable[[str], str]
    stale_at: dt.datetime | None


@dataclass(frozen=True)
class Sources:
    """What a build read from the owning apps, once, for every part (registered ones included)."""

    user: Any
    licence: Any  # registry LicenceSummary or None
    vehicles: list  # identity MyVehicle
    violations: list  # the newest VIOLATIONS_LISTED
    violation_counts: dict[str, int]  # by status, of every violation the account sees
    payables: list  # (payments PayableItem unpaid, (principal, late fee, total) today), oldest first
    bookings: list  # bookings.selectors.my_upcoming: held or confirmed and not yet started, soonest first
    applications: list  # the newest ApplicationLine in progress, else the newest that is not a draft (at most one)
    application_counts: dict[str, int]  # applications.selectors.my_application_counts


_registered: dict[str, Callable[[Sources], Made]] = {}


def part_register(name: str, maker: Callable[[Sources], Made]) -> None:
    """Add a part made by a layer above the read model (the portal's "my page", rendered from its own templates),
    at start-up (an AppConfig.ready). ``maker(sources)`` must depend only on ``sources``: every change that
    changes them already reaches the read model."""
    if name in BASE_PARTS or (name in _registered and _registered[name] is not maker):
        raise ValueError(f"records part {name!r} is already made elsewhere")
    _registered[name] = maker


def part_names() -> tuple[str, ...]:
    return BASE_PARTS + tuple(sorted(_registered))


def _json(data: Any) -> str:
    return json.dumps(data, cls=LocalTimeEncoder, ensure_ascii=False, separators=(",", ":"))


def _dump(schema: type[BaseModel], data: Any, *, many: bool, exclude_unset: bool = False) -> Any:
    adapter: TypeAdapter[Any] = TypeAdapter(list[schema] if many else schema)  # type: ignore[valid-type]
    return adapter.dump_python(adapter.validate_python(data), exclude_unset=exclude_unset)


def _rendered(language: str, build: Callable[[str], Any]) -> str:
    with translation.override(language):
        return _json(build(language))


def next_midnight() -> dt.datetime:
    return clock.local_midnight(clock.today() + dt.timedelta(days=1))


def _label(value: Any, language: str) -> str:
    return value.pick(language) if hasattr(value, "pick") else str(value)


def summary_of(sources: Sources, language: str) -> dict:
    """The records at a glance (GET me/summary, the tiles of "my page"), from what the build read."""
    english = language == "en"
    lic = sources.licence
    own = [mv for mv in sources.vehicles if mv.is_own]
    statuses = sources.violation_counts
    V = violations.ViolationStatus
    latest_v = sources.violations[0] if sources.violations else None
    apps = sources.applications
    nxt = sources.bookings[0] if sources.bookings else None
    return {
        "licence": None if lic is None else {
            "status": lic.status, "status_label": lic.status_en if english else lic.status_zh, "points": lic.points,
            "points_left": lic.points_left, "valid_until": lic.valid_until,
            "renewal_window_open": lic.renewal_window_open},
        "vehicles": {
            "own": len(own), "bound": len(sources.vehicles) - len(own),
            "inspection_overdue": sum(mv.vehicle.inspection_status == "overdue" for mv in own),
            "uninsured": sum(mv.vehicle.insurance_status in ("expired", "none") for mv in own)},
        "violations": {
            "not_handled": statuses.get(V.RECORDED, 0), "fine_unpaid": statuses.get(V.HANDLED, 0),
            "disputed": statuses.get(V.DISPUTED, 0),
            "latest": None if latest_v is None else {
                "id": latest_v.pk, "plate": latest_v.plate, "occurred_at": latest_v.occurred_at,
                "description": latest_v.code.description_en if english else latest_v.code.description_zh,
                "status": latest_v.status, "status_label": _label(latest_v.get_status_display(), language)}},
        "payments": {
            "count": len(sources.payables), "total_fen": sum(due[2] for _item, due in sources.payables),
            "late_fee_fen": sum(due[1] for _item, due in sources.payables),
            "oldest_created_at": sources.payables[0][0].created_at if sources.payables else None},
        "bookings": {
            "upcoming": len(sources.bookings),
            "next": None if nxt is None else {
                "id": nxt.pk, "reference": nxt.reference, "kind": nxt.slot.resource.kind,
                "what": nxt.slot.resource.name_en if english else nxt.slot.resource.name_zh,
                "starts_at": nxt.slot.starts_at, "status": nxt.status,
                "status_label": _label(nxt.get_status_display(), language)}},
        "applications": {
            "open": sources.application_counts.get("open", 0),
            "returned": sources.application_counts.get(applications.ApplicationStatus.RETURNED, 0),
            "latest": None if not apps else {
                "id": apps[0].id, "reference": apps[0].reference,
                "service": apps[0].service_en if english else apps[0].service_zh, "status": apps[0].status,
                "status_label": apps[0].status_en if english else apps[0].status_zh,
                "submitted_at": apps[0].submitted_at}},
    }


def summary_stale_at(sources: Sources, midnight: dt.datetime) -> dt.datetime:
    """Late fees grow and validity turns at local midnight; a booking stops being upcoming when it starts."""
    starts = [b.slot.starts_at for b in sources.bookings]
    return min([midnight, *starts])


def make_all(user) -> dict[str, Made]:
    """Every part of ``user``'s records, from the records as they are now."""
    midnight = next_midnight()
    if user.person_id:
        # what GET me/vehicles did on every read: own vehicles bound, bindings of vehicles no longer owned ended
        identity_services.bindings_sync_own(user=user)
    licence = identity.my_licence(user=user)
    vehicles = identity.my_vehicles(user=user)
    rows = list(violations.my_violations(user=user)[:VIOLATIONS_LISTED])
    sources = Sources(
        user=user, licence=licence, vehicles=vehicles, violations=rows,
        violation_counts=violations.my_violation_counts(user=user),
        payables=[(item, payments.payable_amount_due(item=item))
                  for item in (payments.payables_unpaid_for_person(person_id=user.person_id) if user.person_id
                               else [])],
        bookings=bookings.my_upcoming(user=user),
        applications=(applications.my_application_lines(user=user, limit=1, open_only=True)
                      or applications.my_application_lines(user=user, limit=1, drafts=False)),
        application_counts=applications.my_application_counts(user=user))
    return {
        "me": Made(lambda lang: _rendered(lang, lambda lg: _dump(MeOut, identity_render.me_out(lg, user), many=False)),
                   None),
        "licences": Made(lambda lang: _rendered(lang, lambda lg: _dump(
            LicenceOut, [identity_render.licence_out(lg, licence)] if licence is not None else [], many=True)),
            midnight),
        "vehicles": Made(lambda lang: _rendered(lang, lambda lg: _dump(
            VehicleOut, [identity_render.vehicle_out(lg, mv) for mv in vehicles], many=True)), midnight),
        "violations": Made(lambda lang: _rendered(lang, lambda lg: _dump(
            ViolationOut, [violations_render.violation_out(v) for v in rows], many=True, exclude_unset=True)),
            None),
        "summary": Made(lambda lang: _rendered(lang, lambda lg: _dump(SummaryOut, summary_of(sources, lg), many=False)),
                        summary_stale_at(sources, midnight)),
        **{name: maker(sources) for name, maker in sorted(_registered.items())},
    }


BASE_PARTS = ("me", "licences", "vehicles", "violations", "summary")  # the API's; part_names() adds the registered ones
