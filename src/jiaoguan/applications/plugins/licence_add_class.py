"""增驾 (adding a class to a driving licence, registry.rules.add_class_refusal): the holder asks online for one
class; staff accept and approve (the standard workflow); on approval the exams app issues a learner's permit
(学习驾驶证明) for the class, so the holder can book the tests. When every subject is passed the exams app puts the
class on the licence with its own 12-month probation (registry.services.licence_class_add).

Eligibility: ``licence_add_class.eligible`` (before the form) — the applicant's own licence, valid today;
``licence_add_class.allowed`` — the class asked for passes the regulation's conditions (age, a class held long
enough, no full score in the cycles it names: one rule in registry.rules, the full scores from the points ledger),
the hospital's health check meets that class's conditions (registry.health), and no permit for it is running.
The output checks them again on approval: a full score or a permit may have come meanwhile.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import licence_of
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.exams import selectors as exams_selectors
from jiaoguan.exams import services as exams_services
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.health import health_check_valid_for
from jiaoguan.violations.selectors import full_score_between


def _status(licence) -> str:
    return registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until,
                                           on=clock.today(), postponed_until=licence.postponed_until)


def refusals(person, licence, new_class: str) -> list[Refusal]:
    """Why ``new_class`` may not be added now (empty: it may)."""
    today = clock.today()
    start = registry_rules.add_class_window_start(first_issue_date=licence.first_issue_date, new_class=new_class,
                                                  on=today)
    refusal = registry_rules.add_class_refusal(
        classes=licence.class_list, class_since=licence.class_since or {}, first_issue_date=licence.first_issue_date,
        status=_status(licence), birth_date=person.birth_date, new_class=new_class, on=today,
        full_score_in_window=full_score_between(licence=licence, start=start, end=today),
        probation_until=licence.probation_until)
    if refusal is not None:
        return [Refusal(*refusal)]
    out = []
    if health_check_valid_for(person=person, on=today, licence_classes=new_class) is None:
        out.append(Refusal("licence.class_health_check",
                           f"未查询到满足{new_class}身体条件的有效体检信息，请先到定点医院体检",
                           f"No valid health check meeting class {new_class}'s conditions: have one at an approved "
                           f"hospital first"))
    if exams_selectors.active_permit(person_id=person.pk, licence_class=new_class) is not None:
        out.append(Refusal("licence.class_permit_running", f"您已有一份有效的{new_class}学习驾驶证明，请预约考试",
                           f"You already hold an active learner's permit for {new_class}: book the tests"))
    return out


@eligibility_rule("licence_add_class.eligible", before_form=True)
def eligible(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证；初次申领驾驶证请向驾驶培训机构报名",
                        "No driving licence of yours is on record; for a first licence enrol at a driving school")]
    if _status(licence) != registry_rules.STATUS_VALID:
        return [Refusal("licence.not_valid", "驾驶证状态不是正常（如已过期、暂扣、满分或注销），不能申请增加准驾车型",
                        "The licence is not valid (expired, suspended, full score or cancelled): no class can be added")]
    return []


@eligibility_rule("licence_add_class.allowed")
def allowed(ctx: RuleContext) -> list[Refusal]:
    licence, new_class = licence_of(ctx.person), str(ctx.data.get("licence_class") or "")
    if licence is None or not new_class:
        return []  # the rule above, or the form's own check, has said why
    return refusals(ctx.person, licence, new_class)


@output("licence_add_class.permit")
def permit_for_class(*, application, actor, params: dict) -> dict:
    person = getattr(application.applicant, "person", None)
    licence = licence_of(person)
    new_class = str(application.form().get("licence_class") or "")
    if licence is None or not new_class:
        raise Conflict("licence.none", "未查询到申请人的驾驶证", "The applicant has no driving licence on record")
    found = refusals(person, licence, new_class)
    if found:
        raise Conflict(found[0].code, found[0].zh, found[0].en)
    permit = exams_services.permit_issue(person_id=person.pk, licence_class=new_class, accepted_at=clock.now(),
                                         actor=actor)
    return {"learner_permit": permit.number, "licence_class": new_class,
            "valid_until": permit.valid_until.isoformat()}
