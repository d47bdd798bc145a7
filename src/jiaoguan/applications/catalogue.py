"""The service catalogue: one TOML file per service in ``catalogue/`` (format: applications/README.md), read with
the standard library's tomllib and validated as a whole when loaded.

    catalogue()                       the loaded catalogue (loaded and validated on first use, then kept)
    catalogue_load(directory=None)    read and validate a directory; CatalogueError lists every problem
    service_get(code=...)             one service (NotFound for an unknown code)
    services_list(q=..., category=..., applicant=..., include_unlisted=False)

An inconsistent declaration (unknown rule/provider/output name, an action to an unknown state, a permission or
role that does not exist, a condition on an undeclared field, a duplicate code, missing English, unknown keys)
is refused with one line per problem, each naming the file and the place in it. ``manage.py catalogue_check``
and the system check ``applications.E001`` run the same validation at start-up.

Files whose name starts with "_" are not services: ``_categories.toml`` holds the category table and
``_fees.toml`` the fee table (规费: item, amount, legal basis, who is exempt), whose items services name in ``fees``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jiaoguan.applications import hooks
from jiaoguan.core.errors import not_found
from jiaoguan.core.i18n import Bi
from jiaoguan.identity.roles import PERMISSIONS, Role

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

# Engine states (Application.Status values) and, per staff action (verb), where it may start and end.
STATES = ("draft", "awaiting_payment", "submitted", "returned", "under_review", "reviewed", "approved", "rejected",
          "refused", "withdrawn", "revoked", "lapsed")
FINAL_STATES = frozenset({"approved", "rejected", "refused", "withdrawn", "revoked", "lapsed"})
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "accept": (frozenset({"submitted"}), frozenset({"under_review"})),
    "refuse": (frozenset({"submitted"}), frozenset({"refused"})),
    "review": (frozenset({"under_review"}), frozenset({"reviewed"})),
    "approve": (frozenset({"under_review", "reviewed"}), frozenset({"approved"})),
    "reject": (frozenset({"under_review", "reviewed"}), frozenset({"rejected"})),
    "send_back": (frozenset({"submitted", "under_review", "reviewed"}), frozenset({"returned"})),
    "confirm": (frozenset({"approved"}), frozenset({"approved"})),  # approve-first: the later review agrees
    "revoke": (frozenset({"approved"}), frozenset({"revoked"})),  # approve-first: the later review disagrees
}
COMMENT_REQUIRED = frozenset({"refuse", "reject", "send_back", "revoke"})
# The levels of the workflow (受理 accept, 审核 review, 审批 approve) and the verbs that perform each. Separation of
# duties (rules.duty_conflict): a member of staff who performed one level of an application may not perform
# another level of it, unless the service's ``workflow.same_person`` names that pair (never for a payout).
# send_back is no level: it decides nothing, and whoever may take a step may return the application for correction.
LEVELS: dict[str, frozenset[str]] = {
    "accept": frozenset({"accept", "refuse"}),
    "review": frozenset({"review", "confirm", "revoke"}),  # confirm/revoke: the later review of approve-first
    "approve": frozenset({"approve", "reject"}),
}
LEVEL_OF: dict[str, str] = {verb: level for level, verbs in LEVELS.items() for verb in verbs}
FIELD_TYPES = ("text", "bank_account", "textarea", "number", "date", "choice", "boolean", "plate", "own_vehicle",
               "own_record", "id_number", "phone", "uscc", "vin", "file")
PERSONAL_TYPES = frozenset({"id_number", "phone", "bank_account"})  # stored encrypted, shown masked
APPLICANT_KINDS = ("citizen", "enterprise")
FILE_TYPES = ("pdf", "jpeg", "png")
MAX_UPLOAD_KB = 10 * 1024  # the ceiling any material may declare
DEFAULT_UPLOAD_KB = 5 * 1024
DEFAULT_DUE_SOON_DAYS = 1
_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_RELATIVE_DATE = re.compile(r"today(?:([+-])(\d{1,3}))?|end_of_next_month")


class CatalogueError(Exception):
    """The catalogue cannot be loaded. ``problems``: one "file: place: problem" line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the service catalogue is inconsistent:\n  " + "\n  ".join(problems))


# --- The declaration, as loaded -------------------------------------------------------------------------------


# A declaration's bilingual text is the core pair: it renders in the active language (core/i18n.py).
Text = Bi


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: Text
    required: bool = True
    help: Text | None = None
    min: Any = None  # number: a number; date: ISO date, "today", "today+N", "today-N", "end_of_next_month"
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[Choice, ...] = ()
    integer: bool = True
    kinds: tuple[str, ...] = ()  # own_vehicle: the registry vehicle kinds it accepts (empty: any)
    source: str = ""  # own_record: the registered record-option source (hooks.record_options) listing the choices

    @property
    def personal(self) -> bool:
        return self.type in PERSONAL_TYPES

    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices]


@dataclass(frozen=True)
class MaterialSpec:
    code: str
    name: Text
    required: bool = True
    held: str | None = None  # held-material provider name (免提交)
    upload_if_not_held: bool = False
    types: tuple[str, ...] = FILE_TYPES
    max_kb: int = DEFAULT_UPLOAD_KB
    max_files: int = 3
    note: Text | None = None


@dataclass(frozen=True)
class RuleUse:
    rule: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """Always (field None), or when the form field's value is one of ``values``."""

    field: str | None = None
    values: tuple[str, ...] = ()

    def holds(self, data: dict) -> bool:
        if self.field is None:
            return True
        value = data.get(self.field)
        return value is not None and str(value) in self.values


@dataclass(frozen=True)
class ActionSpec:
    name: str
    from_states: tuple[str, ...]
    to: str
    permission: str | None = None
    roles: tuple[str, ...] = ()
    label: Text | None = None

    def allowed_roles(self) -> frozenset[str]:
        if self.permission:
            return PERMISSIONS.get(self.permission, frozenset())
        return frozenset(self.roles)


@dataclass(frozen=True)
class Workflow:
    states: tuple[str, ...]
    actions: dict[str, ActionSpec]
    auto_approve: Condition | None = None
    approve_first: Condition | None = None
    # pairs of levels (catalogue.LEVELS) one person may both perform on an application; empty: every pair apart
    same_person: frozenset[frozenset[str]] = frozenset()

    def levels(self) -> tuple[str, ...]:
        """The levels this workflow declares (those with at least one of their verbs), in the engine's order."""
        return tuple(level for level, verbs in LEVELS.items() if verbs & set(self.actions))

    def may_combine(self, done: str, level: str) -> bool:
        """May the person who performed level ``done`` also perform ``level`` on the same application?"""
        return done == level or frozenset({done, level}) in self.same_person


@dataclass(frozen=True)
class OutputUse:
    """An output the service produces on approval, with its params; ``when`` / ``unless`` (conditions on the form)
    say whether this application gets it (e.g. the post unless the applicant collects at a counter)."""

    name: str
    params: dict = field(default_factory=dict)
    when: Condition = field(default_factory=Condition)
    unless: Condition | None = None

    def applies(self, data: dict) -> bool:
        return self.when.holds(data) and not (self.unless is not None and self.unless.holds(data))


@dataclass(frozen=True)
class Guide:
    conditions: tuple[Text, ...] = ()
    process: tuple[Text, ...] = ()
    legal_basis: tuple[Text, ...] = ()
    notes: tuple[Text, ...] = ()


@dataclass(frozen=True)
class Exemption:
    """Who does not pay a fee: when the application's form holds ``when``, with the reason shown."""

    when: Condition
    reason: Text


@dataclass(frozen=True)
class FeeItem:
    """One line of the fee table (规费): what it is, how much, on what legal basis, and who is exempt."""

    code: str
    name: Text
    amount_fen: int
    legal_basis: Text
    exempt: tuple[Exemption, ...] = ()


@dataclass(frozen=True)
class FeeUse:
    """A service charges ``item`` (when the form holds ``when``; always by default) ``at`` submission (before
    its application goes to staff) or at approval (before its outputs — the document — are produced)."""

    item: FeeItem
    when: Condition = field(default_factory=Condition)
    at: str = "submission"


FEE_PHASES = ("submission", "approval")

@dataclass(frozen=True)
class Category:
    code: str
    name: Text
    order: int = 0


@dataclass(frozen=True)
class Service:
    code: str
    version: str
    digest: str  # sha256 of the file: what an application snapshots
    path: str
    name: Text
    summary: Text
    category: Category
    applicants: tuple[str, ...]
    listed: bool
    keywords: tuple[str, ...]
    guide: Guide
    fields: tuple[FieldSpec, ...]
    materials: tuple[MaterialSpec, ...]
    eligibility: tuple[RuleUse, ...]
    fees: tuple[FeeUse, ...]
    time_limit_days: int
    due_soon_days: int
    workflow: Workflow
    outputs: tuple[OutputUse, ...]
    payout: bool = False  # money goes out to the applicant (e.g. a relief-fund advance): every level kept apart

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def fee_fen(self) -> int:
        """The guide's headline: the fees declared without ``when`` (at submission and at approval), at their
        full amount; when an answer can change it, ``fees_vary`` says so. What one application owes is
        rules.fee_lines."""
        return sum(use.item.amount_fen for use in self.fees if use.when.field is None)

    @property
    def fees_vary(self) -> bool:
        """Some fee applies only to some answers, or an answer of this form exempts from one (the guide lists
        which)."""
        return any(use.when.field is not None or any(self.field(e.when.field or "") for e in use.item.exempt)
                   for use in self.fees)

    def material(self, code: str) -> MaterialSpec | None:
        return next((m for m in self.materials if m.code == code), None)

    def action(self, verb: str) -> ActionSpec | None:
        return self.workflow.actions.get(verb)

    def upload_slots(self) -> dict[str, tuple[Text, tuple[str, ...], int, int]]:
        """Where files may be uploaded: material codes and file-type fields -> (label, types, max_kb, max_files)."""
        slots = {m.code: (m.name, m.types, m.max_kb, m.max_files) for m in self.materials
                 if m.held is None or m.upload_if_not_held}
        slots.update({f.name: (f.label, FILE_TYPES, DEFAULT_UPLOAD_KB, 1) for f in self.fields if f.type == "file"})
        return slots

    def matches(self, q: str) -> bool:
        q = q.strip().lower()
        if not q:
            return True
        hay = " ".join([self.code, self.name.zh, self.name.en, self.summary.zh, self.summary.en,
                        self.category.name.zh, self.category.name.en, *self.keywords]).lower()
        return all(part in hay for part in q.split())


@dataclass(frozen=True)
class Catalogue:
    services: dict[str, Service]
    categories: dict[str, Category]
    fees: dict[str, FeeItem] = field(default_factory=dict)

    def get(self, code: str) -> Service | None:
        return self.services.get(code)


# --- Reading ------------------------------------------------------------------------------------------------------


_PRESETS: dict[str, tuple[tuple[str, ...], dict[str, dict]]] = {
    # accept → approve (the acceptor may not approve: a second person always decides)
    "standard": (
        ("draft", "submitted", "returned", "under_review", "approved", "rejected", "refused", "withdrawn"),
        {
            "accept": {"from": ["submitted"], "to": "under_review", "permission": "application.accept"},
            "refuse": {"from": ["submitted"], "to": "refused", "permission": "application.accept"},
            "send_back": {"from": ["submitted", "under_review"], "to": "returned", "permission": "application.review"},
            "approve": {"from": ["under_review"], "to": "approved", "permission": "application.approve"},
            "reject": {"from": ["under_review"], "to": "rejected", "permission": "application.approve"},
        },
    ),
    # accept → review (审核) → approve (审批)
    "with_review": (
        ("draft", "submitted", "returned", "under_review", "reviewed", "approved", "rejected", "refused",
         "withdrawn"),
        {
            "accept": {"from": ["submitted"], "to": "under_review", "permission": "application.accept"},
            "refuse": {"from": ["submitted"], "to": "refused", "permission": "application.accept"},
            "review": {"from": ["under_review"], "to": "reviewed", "permission": "application.review"},
            "send_back": {"from": ["submitted", "under_review", "reviewed"], "to": "returned",
                          "permission": "application.review"},
            "approve": {"from": ["reviewed"], "to": "approved", "permission": "application.approve"},
            "reject": {"from": ["reviewed"], "to": "rejected", "permission": "application.approve"},
        },
    ),
}
_POST_REVIEW = {
    "confirm": {"from": ["approved"], "to": "approved", "permission": "application.review"},
    "revoke": {"from": ["approved"], "to": "revoked", "permission": "application.review"},
}


class _Reader:
    """Reads one file's table, collecting problems as "file: place: problem" lines."""

    def __init__(self, filename: str, problems: list[str]) -> None:
        self.filename = filename
        self.problems = problems

    def bad(self, where: str, problem: str) -> None:
        self.problems.append(f"{self.filename}: {where}: {problem}" if where else f"{self.filename}: {problem}")

    def keys(self, table: Any, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(table, dict):
            self.bad(where, "must be a table")
            return {}
        for key in sorted(set(table) - allowed):
            self.bad(f"{where}.{key}" if where else key, "unknown key")
        for key in sorted(required - set(table)):
            self.bad(f"{where}.{key}" if where else key, "is required")
        return table

    def text(self, value: Any, where: str, *, required: bool = True) -> Text | None:
        if value is None:
            if required:
                self.bad(where, "is required (a table with zh and en)")
            return None
        if isinstance(value, str):
            self.bad(where, "needs both Chinese and English: write { zh = \"…\", en = \"…\" } (English is missing)")
            return None
        table = self.keys(value, where, {"zh", "en"})
        zh, en = table.get("zh"), table.get("en")
        if not isinstance(zh, str) or not zh.strip():
            self.bad(f"{where}.zh", "Chinese text is missing")
        if not isinstance(en, str) or not en.strip():
            self.bad(f"{where}.en", "English text is missing")
        if isinstance(zh, str) and isinstance(en, str) and zh.strip() and en.strip():
            return Text(zh.strip(), en.strip())
        return None

    def texts(self, value: Any, where: str) -> tuple[Text, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.bad(where, "must be a list of { zh, en } tables")
            return ()
        return tuple(t for i, item in enumerate(value) if (t := self.text(item, f"{where}[{i}]")) is not None)

    def integer(self, value: Any, where: str, *, low: int, high: int, default: int | None = None) -> int:
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(where, f"must be a whole number from {low} to {high}")
            return default if default is not None else low
        return value

    def boolean(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.bad(where, "must be true or false")
            return default
        return value

    def string(self, value: Any, where: str, *, required: bool = True) -> str | None:
        if value is None:
            if required:
                self.bad(where, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.bad(where, "must be a non-empty string")
            return None
        return value.strip()

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.bad(where, "must be a list of non-empty strings")
            return ()
        return tuple(v.strip() for v in value)


def _date_bound_ok(value: Any) -> bool:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    if isinstance(value, str):
        if _RELATIVE_DATE.fullmatch(value):
            return True
        try:
            dt.date.fromisoformat(value)
            return True
        except ValueError:
            return False
    return False


def date_bound(value: Any, today: dt.date) -> dt.date:
    """A field's min/max date: an ISO date, "today", "today+N", "today-N" or "end_of_next_month"."""
    if isinstance(value, dt.date):
        return value
    if value == "end_of_next_month":
        first_next = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        return (first_next + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    m = _RELATIVE_DATE.fullmatch(value)
    if m:
        sign, n = m.group(1), int(m.group(2) or 0)
        return today + dt.timedelta(days=n if sign != "-" else -n)
    return dt.date.fromisoformat(value)


def vehicle_kinds() -> dict[str, Text]:
    """The registry's vehicle kinds (own_vehicle fields name them in ``kinds``), with their labels."""
    # Lazy: the tests' conftest imports the catalogue before the app registry is ready (registry.selectors
    # imports registry.models).
    from jiaoguan.registry.selectors import vehicle_kinds as kinds

    return kinds()  # each label is already a Text (Bi) pair


def _read_field(r: _Reader, raw: Any, where: str) -> FieldSpec | None:
    t = r.keys(raw, where, {"name", "type", "label", "required", "help", "min", "max", "min_length", "max_length",
                            "pattern", "choices", "integer", "kinds", "source"}, {"name", "type", "label"})
    if not t:
        return None
    name = r.string(t.get("name"), f"{where}.name")
    if name and not _CODE.fullmatch(name):
        r.bad(f"{where}.name", f"{name!r} must be lower-case letters, digits and _ (starting with a letter)")
    ftype = t.get("type")
    if ftype not in FIELD_TYPES:
        r.bad(f"{where}.type", f"unknown type {ftype!r}; one of {', '.join(FIELD_TYPES)}")
    label = r.text(t.get("label"), f"{where}.label")
    help_ = r.text(t.get("help"), f"{where}.help", required=False)
    choices: list[Choice] = []
    if ftype == "choice":
        raw_choices = t.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            r.bad(f"{where}.choices", "a choice field needs a non-empty list of { value, zh, en }")
        else:
            for i, c in enumerate(raw_choices):
                ct = r.keys(c, f"{where}.choices[{i}]", {"value", "zh", "en"}, {"value", "zh", "en"})
                value = r.string(ct.get("value"), f"{where}.choices[{i}].value") if ct else None
                text = r.text({"zh": ct.get("zh"), "en": ct.get("en")}, f"{where}.choices[{i}]") if ct else None
                if value and text:
                    choices.append(Choice(value, text))
            values = [c.value for c in choices]
            for dup in sorted({v for v in values if values.count(v) > 1}):
                r.bad(f"{where}.choices", f"value {dup!r} appears twice")
    elif "choices" in t:
        r.bad(f"{where}.choices", "only a choice field has choices")
    for bound in ("min", "max"):
        if bound not in t:
            continue
        value = t[bound]
        if ftype == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                r.bad(f"{where}.{bound}", "must be a number")
        elif ftype == "date":
            if not _date_bound_ok(value):
                r.bad(f"{where}.{bound}", "must be a date (YYYY-MM-DD), \"today\", \"today+N\", \"today-N\" or "
                                          "\"end_of_next_month\"")
        else:
            r.bad(f"{where}.{bound}", "only number and date fields take min/max")
    for key in ("min_length", "max_length"):
        if key in t:
            if ftype not in ("text", "textarea"):
                r.bad(f"{where}.{key}", "only text fields take a length")
            r.integer(t[key], f"{where}.{key}", low=0, high=5000)
    pattern = t.get("pattern")
    if pattern is not None:
        if ftype not in ("text", "textarea"):
            r.bad(f"{where}.pattern", "only text fields take a pattern")
        else:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                r.bad(f"{where}.pattern", f"is not a valid regular expression ({exc})")
    integer = r.boolean(t.get("integer"), f"{where}.integer", True)
    kinds: tuple[str, ...] = ()
    if "kinds" in t:
        if ftype != "own_vehicle":
            r.bad(f"{where}.kinds", "only an own_vehicle field takes vehicle kinds")
        else:
            kinds = r.strings(t.get("kinds"), f"{where}.kinds")
            known = vehicle_kinds()
            for kind in kinds:
                if kind not in known:
                    r.bad(f"{where}.kinds", f"unknown vehicle kind {kind!r}; one of {', '.join(known)}")
    source = ""
    if ftype == "own_record":
        source = r.string(t.get("source"), f"{where}.source") or ""
        if source and source not in hooks.OPTION_SOURCES:
            known = ", ".join(sorted(hooks.OPTION_SOURCES)) or "none"
            r.bad(f"{where}.source", f"unknown record-option source {source!r} (registered: {known})")
    elif "source" in t:
        r.bad(f"{where}.source", "only an own_record field takes a source")
    if not (name and label and ftype in FIELD_TYPES):
        return None
    return FieldSpec(name=name, type=ftype, label=label, required=r.boolean(t.get("required"), f"{where}.required",
                                                                                True),
                     help=help_, min=t.get("min"), max=t.get("max"), min_length=t.get("min_length"),
                     max_length=t.get("max_length"), pattern=pattern, choices=tuple(choices), integer=integer,
                     kinds=kinds, source=source)


def _read_material(r: _Reader, raw: Any, where: str, providers: dict) -> MaterialSpec | None:
    t = r.keys(raw, where, {"code", "name", "required", "held", "upload_if_not_held", "types", "max_kb", "max_files",
                            "note"}, {"code", "name"})
    if not t:
        return None
    code = r.string(t.get("code"), f"{where}.code")
    if code and not _CODE.fullmatch(code):
        r.bad(f"{where}.code", f"{code!r} must be lower-case letters, digits and _")
    name = r.text(t.get("name"), f"{where}.name")
    held = r.string(t.get("held"), f"{where}.held", required=False)
    if held and held not in providers:
        known = ", ".join(sorted(providers)) or "none"
        r.bad(f"{where}.held", f"unknown held-material provider {held!r} (registered: {known})")
    types = r.strings(t.get("types"), f"{where}.types") or FILE_TYPES
    for ftype in types:
        if ftype not in FILE_TYPES:
            r.bad(f"{where}.types", f"unknown file type {ftype!r}; one of {', '.join(FILE_TYPES)}")
    upload_if_not_held = r.boolean(t.get("upload_if_not_held"), f"{where}.upload_if_not_held", False)
    if upload_if_not_held and not held:
        r.bad(f"{where}.upload_if_not_held", "only a held material can fall back to an upload")
    if not (code and name):
        return None
    return MaterialSpec(code=code, name=name, required=r.boolean(t.get("required"), f"{where}.required", True),
                        held=held, upload_if_not_held=upload_if_not_held, types=tuple(types),
                        max_kb=r.integer(t.get("max_kb"), f"{where}.max_kb", low=1, high=MAX_UPLOAD_KB,
                                         default=DEFAULT_UPLOAD_KB),
                        max_files=r.integer(t.get("max_files"), f"{where}.max_files", low=1, high=10, default=3),
                        note=r.text(t.get("note"), f"{where}.note", required=False))


def _read_condition(r: _Reader, raw: Any, where: str, fields: dict[str, FieldSpec]) -> Condition | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return Condition()
    t = r.keys(raw, where, {"field", "in"}, {"field", "in"})
    if not t:
        return None
    name = r.string(t.get("field"), f"{where}.field")
    values = r.strings(t.get("in"), f"{where}.in")
    if name and name not in fields:
        r.bad(f"{where}.field", f"refers to the field {name!r}, which the form does not declare")
        return None
    if name and fields[name].type == "choice":
        for v in values:
            if v not in fields[name].choice_values():
                r.bad(f"{where}.in", f"{v!r} is not a choice of the field {name!r}")
    if not values:
        r.bad(f"{where}.in", "needs at least one value")
    return Condition(name, values) if name else None


def _read_same_person(r: _Reader, raw: Any, actions: dict[str, ActionSpec], payout: bool) -> frozenset[frozenset[str]]:
    """``workflow.same_person = [["accept", "review"], …]``: pairs of declared levels one person may both perform.
    A payout service may name none (its every level stays with a different person)."""
    where = "workflow.same_person"
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        r.bad(where, "must be a list of pairs of levels, e.g. [[\"accept\", \"review\"]]")
        return frozenset()
    declared = {LEVEL_OF[v] for v in actions if v in LEVEL_OF}
    pairs: set[frozenset[str]] = set()
    for i, pair in enumerate(raw):
        if (not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(p, str) for p in pair)
                or pair[0] == pair[1]):
            r.bad(f"{where}[{i}]", f"must be two different levels of {', '.join(LEVELS)}")
            continue
        for level in pair:
            if level not in LEVELS:
                r.bad(f"{where}[{i}]", f"unknown level {level!r}; the levels are {', '.join(LEVELS)}")
            elif level not in declared:
                r.bad(f"{where}[{i}]", f"the workflow has no {level!r} level")
        pairs.add(frozenset(pair))
    if payout and raw:
        r.bad(where, "a service that pays money out (payout) keeps every level with a different person: "
                     "same_person is not allowed")
        return frozenset()
    return frozenset(pairs)


def _read_workflow(r: _Reader, raw: Any, fields: dict[str, FieldSpec], *, payout: bool = False) -> Workflow | None:
    t = r.keys(raw if raw is not None else {}, "workflow",
               {"preset", "states", "actions", "auto_approve", "approve_first", "same_person"})
    preset = t.get("preset", "standard")
    if preset != "none" and preset not in _PRESETS:
        r.bad("workflow.preset", f"unknown preset {preset!r}; one of {', '.join([*_PRESETS, 'none'])}")
        preset = "none"
    states, actions_raw = (list(_PRESETS[preset][0]), dict(_PRESETS[preset][1])) if preset != "none" else ([], {})
    auto_approve = _read_condition(r, t.get("auto_approve"), "workflow.auto_approve", fields)
    approve_first = _read_condition(r, t.get("approve_first"), "workflow.approve_first", fields)
    if approve_first is not None and preset != "none":
        actions_raw.update(_POST_REVIEW)
        states.append("revoked")
    if "states" in t:
        states = list(r.strings(t.get("states"), "workflow.states"))
    for s in states:
        if s not in STATES:
            r.bad("workflow.states", f"unknown state {s!r}; the engine's states are {', '.join(STATES)}")
    for s in ("draft", "submitted"):
        if s not in states:
            r.bad("workflow.states", f"must include {s!r}")
    declared = t.get("actions", {})
    if not isinstance(declared, dict):
        r.bad("workflow.actions", "must be a table of actions")
        declared = {}
    actions_raw.update(declared)
    actions: dict[str, ActionSpec] = {}
    for verb, spec in actions_raw.items():
        where = f"workflow.actions.{verb}"
        if verb not in VERBS:
            r.bad(where, f"unknown action {verb!r}; the engine's actions are {', '.join(VERBS)}")
            continue
        a = r.keys(spec, where, {"from", "to", "permission", "roles", "label"}, {"from", "to"})
        if not a:
            continue
        from_states = r.strings(a.get("from"), f"{where}.from")
        to = r.string(a.get("to"), f"{where}.to")
        allowed_from, allowed_to = VERBS[verb]
        for s in from_states:
            if s not in states:
                r.bad(f"{where}.from", f"unknown state {s!r} (not in workflow.states)")
            elif s not in allowed_from:
                only = ", ".join(sorted(allowed_from))
                r.bad(f"{where}.from", f"{verb!r} cannot start from {s!r} (only from {only})")
        if not from_states:
            r.bad(f"{where}.from", "needs at least one state")
        if to is not None:
            if to not in states:
                r.bad(f"{where}.to", f"goes to the unknown state {to!r} (not in workflow.states)")
            elif to not in allowed_to:
                r.bad(f"{where}.to", f"{verb!r} can only lead to {', '.join(sorted(allowed_to))}, not {to!r}")
        permission = a.get("permission")
        roles = r.strings(a.get("roles"), f"{where}.roles")
        if permission is None and not roles:
            r.bad(where, "needs a permission (e.g. \"application.approve\") or roles")
        if permission is not None and permission not in PERMISSIONS:
            r.bad(f"{where}.permission", f"unknown permission {permission!r}")
        for role in roles:
            if role not in Role.values:
                r.bad(f"{where}.roles", f"the role {role!r} does not exist (roles: {', '.join(Role.values)})")
            elif role in ("citizen", "enterprise"):
                r.bad(f"{where}.roles", f"{role!r} is an applicant role, not a staff role")
        label = r.text(a.get("label"), f"{where}.label", required=False)
        if to is not None:
            actions[verb] = ActionSpec(verb, from_states, to, permission, roles, label)
    if "approve" not in actions and auto_approve != Condition():
        r.bad("workflow.actions", "nothing can approve an application: declare an \"approve\" action "
                                  "(or auto_approve = true)")
    if approve_first is not None:
        for verb in ("confirm", "revoke"):
            if verb not in actions:
                r.bad("workflow.approve_first", f"approve-first needs a {verb!r} action for the later review")
    # every staff state must have a way out
    for s in ("submitted", "under_review", "reviewed"):
        if s in states and not any(s in a.from_states for a in actions.values()):
            if s == "submitted" and auto_approve == Condition():
                continue
            r.bad("workflow.states", f"no action leads out of {s!r}")
    same_person = _read_same_person(r, t.get("same_person"), actions, payout)
    return Workflow(tuple(states), actions, auto_approve, approve_first, same_person)


def _read_fee_uses(r: _Reader, raw: Any, fields: dict[str, FieldSpec], fee_table: dict[str, FeeItem],
                   applicants: tuple[str, ...]) -> tuple[FeeUse, ...]:
    """``fees = ["item", { item = "…", when = { field = "…", in = [...] } }]``: items of the fee table."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.bad("fees", "must be a list of fee items or { item, when } tables")
        return ()
    uses: list[FeeUse] = []
    for i, entry in enumerate(raw):
        where = f"fees[{i}]"
        at = "submission"
        if isinstance(entry, str):
            code, when = entry, Condition()
        else:
            t = r.keys(entry, where, {"item", "when", "at"}, {"item"})
            code = t.get("item", "")
            when = _read_condition(r, t.get("when"), f"{where}.when", fields) or Condition()
            at = t.get("at", "submission")
            if at not in FEE_PHASES:
                r.bad(f"{where}.at", f"must be one of {', '.join(FEE_PHASES)}")
                continue
        item = fee_table.get(code) if isinstance(code, str) else None
        if item is None:
            r.bad(where, f"unknown fee item {code!r} (the fee table _fees.toml has: "
                         f"{', '.join(sorted(fee_table)) or 'none'})")
            continue
        if any(u.item.code == item.code for u in uses):
            r.bad(where, f"the fee {item.code!r} is charged twice")
            continue
        uses.append(FeeUse(item, when, at))
    if uses and "enterprise" in applicants:
        r.bad("fees", "fees are charged to the applicant in person: an enterprise applicant cannot pay them online "
                      "yet (declare applicants = [\"citizen\"])")
    return tuple(uses)


def _read_service(r: _Reader, raw: dict, digest: str, path: str, categories: dict[str, Category],
                  fee_table: dict[str, FeeItem] | None = None) -> Service | None:
    t = r.keys(raw, "", {"code", "version", "name", "summary", "category", "applicants", "listed", "keywords",
                         "guide", "form", "materials", "eligibility", "fees", "time_limit_days", "due_soon_days",
                         "workflow", "outputs", "payout"},
               {"code", "version", "name", "summary", "category", "applicants", "time_limit_days"})
    code = r.string(t.get("code"), "code")
    if code and not _CODE.fullmatch(code):
        r.bad("code", f"{code!r} must be lower-case letters, digits and _ (2–40 characters)")
    version = r.string(t.get("version"), "version")
    name = r.text(t.get("name"), "name")
    summary = r.text(t.get("summary"), "summary")
    cat_code = t.get("category")
    category = categories.get(cat_code) if isinstance(cat_code, str) else None
    if "category" in t and category is None:
        r.bad("category", f"unknown category {cat_code!r} (known: {', '.join(sorted(categories))})")
    applicants = r.strings(t.get("applicants"), "applicants")
    for a in applicants:
        if a not in APPLICANT_KINDS:
            r.bad("applicants", f"unknown applicant kind {a!r}; one of {', '.join(APPLICANT_KINDS)}")
    if "applicants" in t and not applicants:
        r.bad("applicants", "needs at least one of citizen, enterprise")
    g = r.keys(t.get("guide", {}), "guide", {"conditions", "process", "legal_basis", "notes"},
               {"conditions", "process", "legal_basis"})
    guide = Guide(r.texts(g.get("conditions"), "guide.conditions"), r.texts(g.get("process"), "guide.process"),
                  r.texts(g.get("legal_basis"), "guide.legal_basis"), r.texts(g.get("notes"), "guide.notes"))
    form = r.keys(t.get("form", {}), "form", {"fields"})
    raw_fields = form.get("fields", [])
    fields: list[FieldSpec] = []
    if not isinstance(raw_fields, list):
        r.bad("form.fields", "must be a list of [[form.fields]] tables")
        raw_fields = []
    for i, f in enumerate(raw_fields):
        spec = _read_field(r, f, f"form.fields[{i}]")
        if spec is not None:
            fields.append(spec)
    names = [f.name for f in fields]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.bad("form.fields", f"the field {dup!r} is declared twice")
    by_name = {f.name: f for f in fields}
    raw_materials = t.get("materials", [])
    materials: list[MaterialSpec] = []
    if not isinstance(raw_materials, list):
        r.bad("materials", "must be a list of [[materials]] tables")
        raw_materials = []
    for i, m in enumerate(raw_materials):
        spec = _read_material(r, m, f"materials[{i}]", hooks.PROVIDERS)
        if spec is not None:
            materials.append(spec)
    codes = [m.code for m in materials]
    for dup in sorted({c for c in codes if codes.count(c) > 1}):
        r.bad("materials", f"the material {dup!r} is declared twice")
    for c in sorted(set(codes) & set(names)):
        r.bad("materials", f"{c!r} is both a material and a form field")
    eligibility: list[RuleUse] = []
    raw_rules = t.get("eligibility", [])
    if not isinstance(raw_rules, list):
        r.bad("eligibility", "must be a list of rule names or { rule, params } tables")
        raw_rules = []
    for i, item in enumerate(raw_rules):
        where = f"eligibility[{i}]"
        if isinstance(item, str):
            use = RuleUse(item)
        else:
            e = r.keys(item, where, {"rule", "params"}, {"rule"})
            params = e.get("params", {})
            if not isinstance(params, dict):
                r.bad(f"{where}.params", "must be a table")
                params = {}
            use = RuleUse(e.get("rule", ""), params)
        if use.rule not in hooks.RULES:
            known = ", ".join(sorted(hooks.RULES)) or "none"
            r.bad(where, f"unknown eligibility rule {use.rule!r} (registered: {known})")
        else:
            eligibility.append(use)
    outputs: list[OutputUse] = []
    raw_outputs = t.get("outputs", [])
    if not isinstance(raw_outputs, list):
        r.bad("outputs", "must be a list of output names or { name, params, when, unless } tables")
        raw_outputs = []
    for i, item in enumerate(raw_outputs):
        where = f"outputs[{i}]"
        if isinstance(item, str):
            use_o = OutputUse(item)
        else:
            o = r.keys(item, where, {"name", "params", "when", "unless"}, {"name"})
            use_o = OutputUse(o.get("name", ""), o.get("params", {}) if isinstance(o.get("params", {}), dict) else {},
                              when=_read_condition(r, o.get("when"), f"{where}.when", by_name) or Condition(),
                              unless=_read_condition(r, o.get("unless"), f"{where}.unless", by_name))
        if use_o.name not in hooks.OUTPUTS:
            r.bad(where, f"unknown output {use_o.name!r} (registered: {', '.join(sorted(hooks.OUTPUTS)) or 'none'})")
        else:
            outputs.append(use_o)
            required = hooks.OUTPUTS[use_o.name].requires
            if required and required not in {u.rule for u in eligibility}:
                r.bad(where, f"output {use_o.name!r} needs the eligibility rule {required!r} in eligibility")
    # Money out: declared with ``payout``; a form that asks for a bank account pays into it unless it says not
    payout = r.boolean(t.get("payout"), "payout", any(f.type == "bank_account" for f in fields))
    workflow = _read_workflow(r, t.get("workflow"), by_name, payout=payout)
    fees = _read_fee_uses(r, t.get("fees"), by_name, fee_table or {}, applicants)
    limit = r.integer(t.get("time_limit_days"), "time_limit_days", low=0, high=365, default=0)
    due_soon = r.integer(t.get("due_soon_days"), "due_soon_days", low=0, high=60, default=DEFAULT_DUE_SOON_DAYS)
    listed = r.boolean(t.get("listed"), "listed", True)
    keywords = r.strings(t.get("keywords"), "keywords")
    if not all([code, version, name, summary, category, applicants, workflow]):
        return None
    return Service(code=code, version=version, digest=digest, path=path, name=name, summary=summary,
                   category=category, applicants=applicants, listed=listed, keywords=keywords, guide=guide,
                   fields=tuple(fields), materials=tuple(materials), eligibility=tuple(eligibility), fees=fees,
                   time_limit_days=limit, due_soon_days=due_soon, workflow=workflow, outputs=tuple(outputs),
                   payout=payout)


def _tables(directories: list[Path], filename: str, key: str, problems: list[str]):
    """The ``[key]`` table of each ``filename`` (``_categories.toml``, ``_fees.toml``) of the directories (else the
    app's own), with the reader that reports its problems: ``(reader, {name: spec})`` per file."""
    paths = [d / filename for d in directories if (d / filename).exists()]
    for path in paths or [CATALOGUE_DIR / filename]:
        r = _Reader(path.name, problems)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            r.bad("", f"cannot be read: {exc}")
            continue
        table = r.keys(raw, "", {key}, {key}).get(key, {})
        yield r, (table if isinstance(table, dict) else {})


def _read_categories(directories: list[Path], problems: list[str]) -> dict[str, Category]:
    out: dict[str, Category] = {}
    for r, table in _tables(directories, "_categories.toml", "categories", problems):
        for code, spec in table.items():
            s = r.keys(spec, f"categories.{code}", {"zh", "en"}, {"zh", "en"})
            text = r.text(s, f"categories.{code}") if s else None
            if text and code not in out:
                out[code] = Category(code, text, len(out))
    return out


def _read_fee_table(directories: list[Path], problems: list[str]) -> dict[str, FeeItem]:
    """``_fees.toml``: ``[fees.<code>]`` with name, amount_fen, legal_basis and ``exempt = [{ when = { field,
    in }, reason = { zh, en } }]`` (an exemption names a form field; it applies to the services whose form has it)."""
    out: dict[str, FeeItem] = {}
    for r, table in _tables(directories, "_fees.toml", "fees", problems):
        for code, spec in table.items():
            where = f"fees.{code}"
            if not _CODE.fullmatch(code):
                r.bad(where, f"{code!r} must be lower-case letters, digits and _ (2–40 characters)")
            t = r.keys(spec, where, {"name", "amount_fen", "legal_basis", "exempt"},
                       {"name", "amount_fen", "legal_basis"})
            name = r.text(t.get("name"), f"{where}.name")
            basis = r.text(t.get("legal_basis"), f"{where}.legal_basis")
            amount = r.integer(t.get("amount_fen"), f"{where}.amount_fen", low=0, high=10**8)
            exempt: list[Exemption] = []
            raw_exempt = t.get("exempt", [])
            for i, e in enumerate(raw_exempt if isinstance(raw_exempt, list) else []):
                ew = f"{where}.exempt[{i}]"
                et = r.keys(e, ew, {"when", "reason"}, {"when", "reason"})
                w = r.keys(et.get("when", {}), f"{ew}.when", {"field", "in"}, {"field", "in"})
                field_name = r.string(w.get("field"), f"{ew}.when.field")
                values = r.strings(w.get("in"), f"{ew}.when.in")
                reason = r.text(et.get("reason"), f"{ew}.reason")
                if field_name and values and reason:
                    exempt.append(Exemption(Condition(field_name, values), reason))
            if not isinstance(raw_exempt, list):
                r.bad(f"{where}.exempt", "must be a list of { when, reason } tables")
            if name and basis and code not in out:
                out[code] = FeeItem(code, name, amount, basis, tuple(exempt))
    return out


def catalogue_load(*directories: Path | str) -> Catalogue:
    """Read and validate every ``*.toml`` service file in the directories (default: the app's catalogue/).
    Raises CatalogueError naming each file and problem; returns the Catalogue when all is consistent."""
    hooks.load_plugins()
    dirs = [Path(d) for d in directories] or [CATALOGUE_DIR]
    problems: list[str] = []
    categories = _read_categories(dirs, problems)
    fee_table = _read_fee_table(dirs, problems)
    services: dict[str, Service] = {}
    seen: dict[str, str] = {}
    for path in [p for d in dirs for p in sorted(d.glob("*.toml"))]:
        if path.name.startswith("_"):
            continue
        r = _Reader(path.name, problems)
        try:
            content = path.read_bytes()
            raw = tomllib.loads(content.decode("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            r.bad("", f"is not valid TOML: {exc}")
            continue
        before = len(problems)
        service = _read_service(r, raw, hashlib.sha256(content).hexdigest(), str(path), categories, fee_table)
        if service is None or len(problems) > before:
            if len(problems) == before:
                r.bad("", "could not be read")
            continue
        if service.code in seen:
            r.bad("code", f"duplicate service code {service.code!r} (also declared in {seen[service.code]})")
            continue
        seen[service.code] = path.name
        services[service.code] = service
    if problems:
        raise CatalogueError(problems)
    return Catalogue(services, categories, fee_table)


# --- The loaded catalogue --------------------------------------------------------------------------------------

_current: Catalogue | None = None
_lock = threading.Lock()


def catalogue() -> Catalogue:
    """The catalogue in use (loaded from catalogue/ on first use; CatalogueError if it is inconsistent)."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = catalogue_load()
    return _current


def catalogue_reset() -> None:
    """Forget the loaded catalogue (the next use reads the files again)."""
    global _current
    with _lock:
        _current = None


@contextmanager
def catalogue_use(cat: Catalogue):
    """Use another catalogue for a while (tests: services declared in a temporary directory)."""
    global _current
    previous = _current
    _current = cat
    try:
        yield cat
    finally:
        _current = previous


def service_get(*, code: str, include_unlisted: bool = True) -> Service:
    service = catalogue().get(code)
    if service is None or (not include_unlisted and not service.listed):
        raise not_found("办事事项", "service")
    return service


def services_list(*, q: str = "", category: str | None = None, applicant: str | None = None,
                  include_unlisted: bool = False) -> list[Service]:
    """Services matching a search (every word of ``q`` in the code, names, summary, category or keywords)."""
    cat = catalogue()
    out = [s for s in cat.services.values()
           if (include_unlisted or s.listed)
           and (category is None or s.category.code == category)
           and (applicant is None or applicant in s.applicants)
           and s.matches(q or "")]
    return sorted(out, key=lambda s: (s.category.order, s.code))
