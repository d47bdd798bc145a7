"""驾驶证审验 (the review of a large-class licence after a scoring cycle with points, registry.rules.review_due):
the holder studies (the hours the service's form asks for: its TOML is the requirement), applies online with the
study certificate; staff accept and approve (the standard workflow); on approval the registry records the review
(registry.services.licence_review_record, audited there).

Eligibility (``licence_review.due``, before the form): the applicant's licence owes a review now — it has an A or B
class and the scoring cycle that has just ended had points in the ledger (violations.selectors.points_of_cycle),
with no review recorded for it. The refusal says which of these is missing.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import licence_of
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import services as registry_services
from jiaoguan.violations.selectors import points_of_cycle


def review_owed(licence) -> registry_rules.ReviewDue | None:
    """The review the licence owes today (None: none)."""
    today = clock.today()
    cycle = registry_rules.review_cycle(licence.first_issue_date, today)
    points = points_of_cycle(licence=licence, cycle_start=cycle[0]) if cycle is not None else 0
    return registry_rules.review_due(classes=licence.class_list, first_issue_date=licence.first_issue_date,
                                     on=today, points_of_cycle=points, reviewed_through=licence.reviewed_through,
                                     postponed_until=licence.review_postponed_until,
                                     postponed_for=licence.review_postponed_for)


@eligibility_rule("licence_review.due", before_form=True)
def due(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    if not set(licence.class_list) & registry_rules.REVIEW_CLASSES:
        return [Refusal("licence.review_not_required", "您的驾驶证不含A1、A2、A3、B1、B2准驾车型，无需审验",
                        "Your licence has no A1, A2, A3, B1 or B2 class, so it needs no review")]
    if review_owed(licence) is None:
        return [Refusal("licence.review_not_due", "上一个记分周期没有记分，或已完成审验，目前无需审验",
                        "The last scoring cycle had no points, or its review is done: no review is due now")]
    return []


@output("licence_review.registry")
def review_in_registry(*, application, actor, params: dict) -> dict:
    licence = licence_of(getattr(application.applicant, "person", None))
    owed = review_owed(licence) if licence is not None else None
    if licence is None or owed is None:
        raise Conflict("licence.review_not_due", "该驾驶证目前无需审验", "The licence owes no review now")
    registry_services.licence_review_record(
        licence=licence, cycle_end=owed.cycle_end, actor=actor,
        reason=f"网上申请{application.reference}，学习{application.form().get('study_hours')}学时 online application "
               f"{application.reference}")
    return {"cycle_end": owed.cycle_end.isoformat(), "overdue": owed.overdue(clock.today())}
