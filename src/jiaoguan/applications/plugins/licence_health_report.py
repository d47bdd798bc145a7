"""提交身体条件证明 (drivers aged 70 and over, registry.rules.health_report_due): after each scoring cycle the holder
reports a health check; the hospital's record is the held material (registry.health_check: valid, and fit for the
licence's classes — the engine refuses without it), so the decision is the rules' alone (auto-approved) and the
registry records the report for that cycle (registry.services.licence_health_report_record, audited there).

Eligibility (``licence_health_report.due``, before the form): the applicant's own licence, valid, owing the report
now; the refusal says which is missing.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import licence_of
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry_services


@eligibility_rule("licence_health_report.due", before_form=True)
def due(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    status = registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until,
                                             on=clock.today(), postponed_until=licence.postponed_until)
    if status != registry_rules.STATUS_VALID:
        return [Refusal("licence.not_valid", "驾驶证状态不是正常，请先办理换证或恢复驾驶资格",
                        "The licence is not valid: renew or restore it first")]
    if registry_selectors.health_report_owed(licence=licence) is None:
        return [Refusal(*registry_rules.HEALTH_REPORT_NOT_DUE)]
    return []


@output("licence_health_report.registry")
def report_in_registry(*, application, actor, params: dict) -> dict:
    licence = licence_of(getattr(application.applicant, "person", None))
    owed = registry_selectors.health_report_owed(licence=licence) if licence is not None else None
    if licence is None or owed is None:
        raise Conflict("licence.health_report_not_due", "该驾驶证目前无需提交身体条件证明",
                       "The licence owes no health report now")
    registry_services.licence_health_report_record(
        licence=licence, cycle_end=owed.cycle_end, actor=actor,
        reason=f"网上提交{application.reference} online report {application.reference}")
    return {"cycle_end": owed.cycle_end.isoformat(), "overdue": owed.overdue(clock.today())}
