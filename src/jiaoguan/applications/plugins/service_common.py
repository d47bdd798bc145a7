"""Rules and helpers shared by the delivered services (truck pass, non-local pass, parking, licence renewal,
relief fund): requirements that depend on a choice in the form, declared as data.

    { rule = "form.required_when", params = { field = "action", require = { change = ["licence_number"] } } }
    { rule = "materials.required_when", params = { field = "category", require = { hazardous = ["dg_permit"] } } }

The engine's own declaration has no conditional "required"; these rules refuse the submission (422, zh/en
reasons, the draft kept) when a value or an upload the chosen option needs is missing.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.applications import selectors
from jiaoguan.applications.hooks import RuleContext, eligibility_rule
from jiaoguan.core.errors import Refusal
from jiaoguan.credentials.services import credential_issue, credential_revoke
from jiaoguan.registry import selectors as registry

SOURCE_TYPE = "applications.application"


def _required_for(ctx: RuleContext) -> list[str]:
    field = ctx.params.get("field")
    value = ctx.data.get(field) if field else None
    require = ctx.params.get("require") or {}
    return list(require.get(str(value), [])) if value is not None else []


@eligibility_rule("form.required_when")
def required_when(ctx: RuleContext) -> list[Refusal]:
    """Fields required only for some values of a choice (params ``field``, ``require = { value = [names] }``)."""
    out = []
    for name in _required_for(ctx):
        if ctx.data.get(name) in (None, ""):
            spec = ctx.service.field(name)
            zh, en = (spec.label.zh, spec.label.en) if spec is not None else (name, name)
            out.append(Refusal(f"form.{name}_required", f"请填写“{zh}”", f"Fill in “{en}”"))
    return out


@eligibility_rule("materials.required_when")
def materials_required_when(ctx: RuleContext) -> list[Refusal]:
    """Uploads required only for some values of a choice (params ``field``, ``require = { value = [codes] }``)."""
    needed = _required_for(ctx)
    if not needed:
        return []
    uploaded = selectors.uploaded_slots(application=ctx.application) if ctx.application is not None else set()
    out = []
    for code in needed:
        if code not in uploaded:
            spec = ctx.service.material(code)
            zh, en = (spec.name.zh, spec.name.en) if spec is not None else (code, code)
            out.append(Refusal(f"material.{code}_required", f"请上传“{zh}”", f"Upload “{en}”"))
    return out


def form_date(data: dict, name: str) -> dt.date | None:
    value = data.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def licence_of(person):
    """The person's driving licence in the registry, or None (also for no person)."""
    return registry.licence_for_person(person=person) if person is not None else None


def own_vehicle(ctx_or_app, plate: str):
    """The vehicle with this plate registered to the applicant (a RuleContext's user or an application's
    applicant), or None: what an own_vehicle field chose."""
    user = getattr(ctx_or_app, "user", None) or getattr(ctx_or_app, "applicant", None)
    person = getattr(user, "person", None) if user is not None and getattr(user, "person_id", None) else None
    return registry.vehicle_of_owner(plate=plate, person=person) if person is not None and plate else None


def choice_text(service, name: str, value) -> tuple[str, str]:
    """(zh, en) label of a choice field's value."""
    spec = service.field(name)
    for c in (spec.choices if spec is not None else ()):
        if c.value == str(value):
            return c.label.zh, c.label.en
    return str(value), str(value)


def issue_credential(*, application, actor, kind: str, fields: list[tuple], valid_from: dt.date,
                     valid_until: dt.date | None, title_zh: str | None = None, title_en: str | None = None) -> dict:
    """Issue the e-permit for an application (idempotent per application and kind) with service-specific fields."""
    service = application.service()
    credential = credential_issue(
        kind=kind, holder_user=application.applicant, title_zh=title_zh or service.name.zh,
        title_en=title_en or service.name.en,
        fields=[("申请编号", "Application number", application.reference or str(application.pk)), *fields],
        valid_from=valid_from, valid_until=valid_until, source_type=SOURCE_TYPE, source_id=str(application.pk),
        actor=actor)
    return {"credential_id": credential.pk, "number": credential.number, "kind": kind,
            "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat() if valid_until else None}


def revoke_credential(*, application, actor, outcome: dict) -> None:
    if outcome.get("credential_id"):
        credential_revoke(credential_id=outcome["credential_id"], actor=actor,
                          reason=f"申请{application.reference}经复核撤销 revoked on review")


def window_ok(text: str) -> bool:
    """A time window "HH:MM-HH:MM" (may cross midnight; "24:00" allowed as an end)."""
    try:
        start, end = str(text).split("-")
        for part, last in ((start, False), (end, True)):
            h, m = part.split(":")
            if len(h) != 2 or len(m) != 2 or not (h.isdigit() and m.isdigit()):
                return False
            if not (0 <= int(m) < 60 and (0 <= int(h) < 24 or (last and int(h) == 24 and int(m) == 0))):
                return False
        return start != end
    except ValueError:
        return False
