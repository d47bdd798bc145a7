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

from jiaoguan.core import clock
from jiaoguan.core.api_render import LocalTimeEncoder
from jiaoguan.identity import render as identity_render
from jiaoguan.identity import selectors as identity
from jiaoguan.identity import services as identity_services
from jiaoguan.identity.schemas import LicenceOut, MeOut, VehicleOut
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
    violations: list


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


def make_all(user) -> dict[str, Made]:
    """Every part of ``user``'s records, from the records as they are now."""
    midnight = next_midnight()
    if user.person_id:
        # what GET me/vehicles did on every read: own vehicles bound, bindings of vehicles no longer owned ended
        identity_services.bindings_sync_own(user=user)
    licence = identity.my_licence(user=user)
    vehicles = identity.my_vehicles(user=user)
    rows = list(violations.my_violations(user=user)[:VIOLATIONS_LISTED])
    sources = Sources(user=user, licence=licence, vehicles=vehicles, violations=rows)
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
        **{name: maker(sources) for name, maker in sorted(_registered.items())},
    }


BASE_PARTS = ("me", "licences", "vehicles", "violations")  # the API's; part_names() adds the registered ones
