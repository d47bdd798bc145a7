"""延期换证 (postponing a driving-licence renewal, registry.rules.postponement_refusal): a holder abroad, in
military service or ill asks online with the evidence; staff accept and approve (the standard workflow); on
approval the registry moves the renewal deadline (registry.services.licence_postpone, audited there).

Eligibility: ``licence_postponement.eligible`` (before the form) — the applicant's own licence, valid inside its
renewal window or expired and not yet cancelled; ``licence_postponement.date`` — the date asked for is after the
expiry and today and at most three years after the expiry. Both come from the one rule in registry.rules, which the
registry checks again on approval.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import form_date, licence_of
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import services as registry_services


def _status(licence, today: dt.date) -> str:
    return registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=today,
                                           postponed_until=licence.postponed_until)


@eligibility_rule("licence_postponement.eligible", before_form=True)
def eligible(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    today = clock.today()
    if licence.valid_until is None:
        return [Refusal("licence.long_term", "您的驾驶证长期有效，无需换证", "Your licence is valid for life; it needs no renewal")]
    # the date check is the form's (below): here a date the rule accepts, to ask only about the licence
    probe = max(licence.valid_until, today) + dt.timedelta(days=1)
    refusal = registry_rules.postponement_refusal(valid_until=licence.valid_until, status=_status(licence, today),
                                                  until=probe, on=today)
    return [] if refusal is None else [Refusal(*refusal)]


@eligibility_rule("licence_postponement.date")
def date_allowed(ctx: RuleContext) -> list[Refusal]:
    licence, until = licence_of(ctx.person), form_date(ctx.data, "until")
    if licence is None or licence.valid_until is None or until is None:
        return []  # the rule above, or the form's own date check, has said why
    today = clock.today()
    refusal = registry_rules.postponement_refusal(valid_until=licence.valid_until, status=_status(licence, today),
                                                  until=until, on=today)
    return [] if refusal is None else [Refusal(*refusal)]


@output("licence_postponement.registry")
def postpone_in_registry(*, application, actor, params: dict) -> dict:
    person = getattr(application.applicant, "person", None)
    licence = licence_of(person)
    until = form_date(application.form(), "until")
    if licence is None or until is None:
        raise Conflict("licence.none", "未查询到申请人的驾驶证", "The applicant has no driving licence on record")
    registry_services.licence_postpone(licence=licence, until=until, actor=actor,
                                       reason=f"网上申请{application.reference} online application "
                                              f"{application.reference}")
    return {"postponed_until": until.isoformat()}
