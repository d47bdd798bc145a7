"""延期换证 / 延期审验 / 延期提交身体条件证明 (公安部令第162号: a holder abroad, in military service or ill who cannot
renew the licence, do its review or report the 70+ health check in time asks, within the period, to postpone it by
up to three years; no driving meanwhile): the holder chooses which (``matter``), asks online with the evidence;
staff accept and approve (the standard workflow); on approval the registry moves the deadline
(registry.services.licence_postpone, licence_review_postpone, licence_health_postpone), audited there.

Eligibility: ``licence_postponement.eligible`` (before the form) — the applicant's own licence, and at least one of
them can be postponed now — the licence valid or expired less than a year ago (公安部令第162号: 在驾驶证有效期内或者
有效期届满一年内), and a renewal ahead, or a review or health report owed (even late); ``licence_postponement.date`` — for the matter chosen, the date asked for is
after the deadline and today and at most three years after it. Each comes from one rule in registry.rules
(postponement_refusal, review_postponement_refusal, health_postponement_refusal), which the registry checks again
on approval.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.licence_review import review_owed
from jiaoguan.applications.plugins.service_common import form_date, licence_of
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry_services

RENEWAL, REVIEW, HEALTH = "renewal", "review", "health"
MATTERS = (RENEWAL, REVIEW, HEALTH)


def _status(licence, today: dt.date) -> str:
    return registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=today,
                                           postponed_until=licence.postponed_until)


def _matter(data: dict) -> str:
    matter = data.get("matter")
    return matter if matter in MATTERS else RENEWAL  # drafts from before the choice: a renewal


def refusal_for(licence, matter: str, until: dt.date | None) -> tuple[str, str, str] | None:
    """Why ``matter`` may not be postponed to ``until`` (None: a date the rule accepts, to ask only about the
    licence)."""
    today = clock.today()
    status = _status(licence, today)
    if matter in (REVIEW, HEALTH):
        due = review_owed(licence) if matter == REVIEW else registry_selectors.health_report_owed(licence=licence)
        probe = until or (max(due.deadline, today) + dt.timedelta(days=1) if due is not None else today)
        refusal_of = (registry_rules.review_postponement_refusal if matter == REVIEW
                      else registry_rules.health_postponement_refusal)
        return refusal_of(due=due, until=probe, on=today, status=status)
    if licence.valid_until is None:
        return ("licence.long_term", "您的驾驶证长期有效，无需换证", "Your licence is valid for life; it needs no renewal")
    probe = until or max(licence.valid_until, today) + dt.timedelta(days=1)
    return registry_rules.postponement_refusal(valid_until=licence.valid_until, status=status, until=probe, on=today)


@eligibility_rule("licence_postponement.eligible", before_form=True)
def eligible(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    refusals = [refusal_for(licence, matter, None) for matter in MATTERS]
    if any(r is None for r in refusals):
        return []  # the form's own rule (below) checks the matter chosen
    # all refused: say why the renewal cannot be postponed, and why the others cannot unless none is owed
    quiet = ("licence.review_not_due", registry_rules.HEALTH_REPORT_NOT_DUE[0])
    return [Refusal(*r) for r in refusals if r is not None and r[0] not in quiet]


@eligibility_rule("licence_postponement.date")
def date_allowed(ctx: RuleContext) -> list[Refusal]:
    licence, until = licence_of(ctx.person), form_date(ctx.data, "until")
    if licence is None or until is None:
        return []  # the rule above, or the form's own date check, has said why
    refusal = refusal_for(licence, _matter(ctx.data), until)
    return [] if refusal is None else [Refusal(*refusal)]


@output("licence_postponement.registry")
def postpone_in_registry(*, application, actor, params: dict) -> dict:
    person = getattr(application.applicant, "person", None)
    licence = licence_of(person)
    form = application.form()
    until = form_date(form, "until")
    if licence is None or until is None:
        raise Conflict("licence.none", "未查询到申请人的驾驶证", "The applicant has no driving licence on record")
    reason = f"网上申请{application.reference} online application {application.reference}"
    matter = _matter(form)
    if matter == REVIEW:
        due = review_owed(licence)
        if due is None:
            raise Conflict("licence.review_not_due", "该驾驶证目前无需审验", "The licence owes no review now")
        registry_services.licence_review_postpone(licence=licence, due=due, until=until, actor=actor, reason=reason)
        return {"matter": REVIEW, "review_postponed_until": until.isoformat(), "cycle_end": due.cycle_end.isoformat()}
    if matter == HEALTH:
        due = registry_selectors.health_report_owed(licence=licence)
        if due is None:
            raise Conflict(*registry_rules.HEALTH_REPORT_NOT_DUE)
        registry_services.licence_health_postpone(licence=licence, due=due, until=until, actor=actor, reason=reason)
        return {"matter": HEALTH, "health_postponed_until": until.isoformat(), "cycle_end": due.cycle_end.isoformat()}
    registry_services.licence_postpone(licence=licence, until=until, actor=actor, reason=reason)
    return {"postponed_until": until.isoformat()}
