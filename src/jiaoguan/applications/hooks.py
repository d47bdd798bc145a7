"""The named functions a service declaration refers to: eligibility rules, held-material providers and outputs.

A declaration (catalogue/*.toml) names them; code registers them with a decorator. The loader refuses a
declaration that names something not registered, so a typo fails at start-up, not when a citizen applies.

    from jiaoguan.applications.hooks import Held, RuleContext, eligibility_rule, held_material, output
    from jiaoguan.core.errors import Refusal

    @eligibility_rule("licence.valid")
    def licence_valid(ctx: RuleContext) -> list[Refusal]:
        ...  # [] when eligible, else one Refusal per reason (zh and en)

    @held_material("registry.licence")
    def held_licence(ctx: RuleContext) -> Held | None:
        ...  # the record the platform holds (免提交), or None when it holds none

    @output("e_permit")
    def issue_permit(*, application, actor, params) -> dict:
        ...  # runs inside the approval's transaction; returns what to keep in application.outcome[name]

    @record_options("violations.detentions_held")
    def held_detentions(user) -> list[Option]:
        ...  # the applicant's own records an ``own_record`` field offers (value, zh/en label), in order

Where registrations live: any module of the package ``jiaoguan.applications.plugins`` is imported before the
catalogue loads (add a module there per service family), and any app may register from its own
``AppConfig.ready``. A name may be registered once; registering it again with another function is an error
(two services silently sharing a name would be a bug).
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jiaoguan.applications import plugins  # the package only: its modules (which import this one) load below
from jiaoguan.core.errors import Refusal


@dataclass(frozen=True)
class Held:
    """A material the platform already holds for the applicant (免提交): which record, described in zh/en."""

    reference: str  # e.g. "registry.licence:123" or a health-check record number
    summary_zh: str
    summary_en: str
    data: dict = field(default_factory=dict)  # small, JSON-able facts shown to staff (never ID numbers/phones)


@dataclass
class RuleContext:
    """What a rule or provider sees: the applicant, their enterprise, the service, the cleaned form and the
    parameters the declaration gave this use of the rule (``{rule = "…", params = {…}}``)."""

    user: Any
    service: Any  # catalogue.Service
    data: dict
    enterprise: Any = None
    params: dict = field(default_factory=dict)
    application: Any = None  # the Application being submitted (None when checking before a draft exists)

    @property
    def person(self):
        return getattr(self.user, "person", None) if self.user is not None else None


@dataclass(frozen=True)
class Option:
    """One of the applicant's own records an ``own_record`` form field offers: the value stored (a stable, readable
    reference such as a notice number, never an ID number or phone) and how it reads in the list."""

    value: str
    zh: str
    en: str


Rule = Callable[[RuleContext], list[Refusal]]
Provider = Callable[[RuleContext], "Held | None"]
Output = Callable[..., dict]


@dataclass(frozen=True)
class OutputSpec:
    name: str
    issue: Output
    revoke: Callable[..., None] | None = None  # called when an approve-first application is revoked
    requires: str | None = None  # the eligibility rule a service using this output must list (catalogue checks)


RULES: dict[str, Rule] = {}
PROVIDERS: dict[str, Provider] = {}
OUTPUTS: dict[str, OutputSpec] = {}
OPTION_SOURCES: dict[str, Callable[[Any], list[Option]]] = {}


def _register(table: dict, name: str, value, kind: str):
    current = table.get(name)
    same = current is not None and (getattr(current, "issue", current) is getattr(value, "issue", value)
                                    or _qualname(current) == _qualname(value))
    if current is not None and not same:
        raise ValueError(f"{kind} {name!r} is already registered by {_qualname(current)}")
    table[name] = value


def _qualname(obj) -> str:
    fn = getattr(obj, "issue", obj)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


BEFORE_FORM: set[str] = set()  # rules that may be asked before the form is filled in (selectors.entry_check)


def eligibility_rule(name: str, *, before_form: bool = False) -> Callable[[Rule], Rule]:
    """Register ``fn(ctx) -> list[Refusal]`` as the eligibility rule ``name``. ``before_form=True``: the rule
    also answers with no answers yet (or only the service's first choice, e.g. the kind of renewal), so the
    entry page can say "you cannot apply, because …" before the applicant types anything; such a rule must
    return [] for what it cannot judge from the answers it has."""

    def register(fn: Rule) -> Rule:
        _register(RULES, name, fn, "eligibility rule")
        if before_form:
            BEFORE_FORM.add(name)
        return fn

    return register


def held_material(name: str) -> Callable[[Provider], Provider]:
    """Register ``fn(ctx) -> Held | None`` as the held-material provider ``name``."""

    def register(fn: Provider) -> Provider:
        _register(PROVIDERS, name, fn, "held-material provider")
        return fn

    return register


def output(name: str, *, revoke: Callable[..., None] | None = None,
           requires: str | None = None) -> Callable[[Output], Output]:
    """Register ``fn(*, application, actor, params) -> dict`` as the output ``name`` (run on approval).
    ``revoke(*, application, actor, outcome)`` undoes it when an approve-first application is revoked.
    ``requires``: an eligibility rule every service using the output must list (e.g. "post" requires
    "postal.delivery_available": without a carrier the service is not offered, rather than failing at approval)."""

    def register(fn: Output) -> Output:
        _register(OUTPUTS, name, OutputSpec(name, fn, revoke, requires), "output")
        return fn

    return register


def record_options(name: str) -> Callable:
    """Register ``fn(user) -> list[Option]`` as the source ``name`` of ``own_record`` fields: the applicant's own
    records the field lists (the engine accepts only one of them, as an own_vehicle field accepts only an own
    vehicle)."""

    def register(fn):
        _register(OPTION_SOURCES, name, fn, "record-option source")
        return fn

    return register


_loaded = False


def load_plugins() -> None:
    """Import every module of ``jiaoguan.applications.plugins`` (once): that is where registrations live."""
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(plugins.__path__):
        importlib.import_module(f"{plugins.__name__}.{info.name}")
    _loaded = True
