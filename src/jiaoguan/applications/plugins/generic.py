"""Generic eligibility rules any service may use (samples for the second wave's service-specific rules)."""
from __future__ import annotations

from jiaoguan.applications import selectors
from jiaoguan.applications.hooks import RuleContext, eligibility_rule
from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal
from jiaoguan.core.i18n import choice_label, zh_en
from jiaoguan.registry import selectors as registry


@eligibility_rule("account.real_name", before_form=True)
def real_name_verified(ctx: RuleContext) -> list[Refusal]:
    """The applicant's account is real-name verified (a citizen linked to a registry person; an enterprise
    account linked to its enterprise)."""
    user = ctx.user
    if getattr(user, "role", "") == "enterprise":
        if getattr(user, "enterprise_id", None) is None:
            return [Refusal("account.no_enterprise", "您的账户未关联企业，不能以企业名义申请",
                            "Your account is not linked to an enterprise, so it cannot apply for one")]
        return []
    if getattr(user, "person_id", None) is None or getattr(user, "real_name_verified_at", None) is None:
        return [Refusal("account.not_verified", "请先完成实名认证再申请",
                        "Please complete real-name verification before applying")]
    return []


@eligibility_rule("licence.valid", before_form=True)
def licence_valid(ctx: RuleContext) -> list[Refusal]:
    """The applicant holds a driving licence in the registry that is valid today. params: ``allow_expired_days``
    (a licence expired at most that many days ago still counts: renewal after expiry)."""
    person = ctx.person
    licence = registry.licence_for_person(person=person) if person is not None else None
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    if licence.status not in ("valid", "expired"):
        return [Refusal("licence.not_valid", f"您的驾驶证状态为“{zh_en(choice_label(licence.Status, licence.status))[0]}”，不能办理",
                        f"Your driving licence is {zh_en(choice_label(licence.Status, licence.status))[1].lower()}, "
                        "so this service is not available")]
    grace = int(ctx.params.get("allow_expired_days", 0) or 0)
    if licence.valid_until is not None and (clock.today() - licence.valid_until).days > grace:
        return [Refusal("licence.expired", "您的驾驶证已超过有效期", "Your driving licence has expired")]
    return []


@eligibility_rule("application.one_open", before_form=True)
def one_open_application(ctx: RuleContext) -> list[Refusal]:
    """At most one open (submitted, not yet decided) application of this service per applicant."""
    if selectors.has_open_application(user=ctx.user, service_code=ctx.service.code, besides=ctx.application):
        return [Refusal("application.already_open", f"您已有一件“{ctx.service.name.zh}”申请正在办理，请等待办结",
                        f"You already have an open “{ctx.service.name.en}” application; wait until it is decided")]
    return []
