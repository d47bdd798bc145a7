"""驾驶证期满换证 / 遗失补证 / 损毁换证 (driving-licence renewal and replacement, DOMAIN §3).

Eligibility (``licence_renewal.eligible``): the applicant's own licence in the registry; a renewal only within
the window (registry.rules.renewal_window_open: the 90 days before expiry) or late while expired (up to a year;
a licence cancelled for expiry needs 科目一 at a counter, not online); a replacement only for a licence that is
valid. The health check is a held material (``registry.health_check``, from the hospital partner API): without a
valid one the engine refuses with the reason. On approval (``licence_renewal.registry``) the registry's licence
is renewed through registry.services.licence_renew (audited there) or the replacement recorded in the audit log;
the engine's ``post`` output then sends the new licence and keeps the tracking number.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import licence_of
from jiaoguan.core import clock
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import services as registry_services
from jiaoguan.violations.selectors import full_score_between

RENEW = "renew"
REPLACE = ("replace_lost", "replace_damaged", "replace_error")
from jiaoguan.registry.rules import FULL_SCORE  # noqa: E402 (the one full score: registry.rules)


@eligibility_rule("licence_renewal.eligible", before_form=True)
def renewal_eligible(ctx: RuleContext) -> list[Refusal]:
    licence = licence_of(ctx.person)
    if licence is None:
        return [Refusal("licence.none", "未查询到您的机动车驾驶证", "No driving licence of yours is on record")]
    today = clock.today()
    status = registry_rules.effective_status(stored=licence.status, valid_until=licence.valid_until, on=today,
                                             postponed_until=licence.postponed_until)
    kind = ctx.data.get("kind")
    if kind == RENEW:
        if licence.valid_until is None:
            return [Refusal("licence.long_term", "您的驾驶证长期有效，无需换证",
                            "Your licence is valid for life; it needs no renewal")]
        if status == registry_rules.STATUS_VALID and not registry_rules.renewal_window_open(licence.valid_until, today):
            start, _end = registry_rules.renewal_window(licence.valid_until)
            return [Refusal("licence.renewal_not_open", f"驾驶证有效期满前90日内方可换证（{start:%Y-%m-%d}起）",
                            f"Renewal opens 90 days before expiry (from {start:%Y-%m-%d})")]
        if status == registry_rules.STATUS_CANCELLED:
            return [Refusal("licence.cancelled", "驾驶证超过有效期一年已注销，须考科目一后到窗口恢复",
                            "The licence was cancelled more than a year after expiry; pass the theory test and "
                            "restore it at a counter")]
        if status not in (registry_rules.STATUS_VALID, registry_rules.STATUS_EXPIRED):
            zh, en = registry_rules.STATUS_LABELS.get(status, (status, status))
            return [Refusal("licence.status", f"驾驶证状态为“{zh}”，不能换证",
                            f"The licence is {en.lower()}, so it cannot be renewed")]
        return []
    if kind in REPLACE and status != registry_rules.STATUS_VALID:
        zh, en = registry_rules.STATUS_LABELS.get(status, (status, status))
        hint_zh = "，已过有效期的请申请期满换证" if status == registry_rules.STATUS_EXPIRED else ""
        hint_en = "; for an expired licence apply for renewal" if status == registry_rules.STATUS_EXPIRED else ""
        return [Refusal("licence.status", f"驾驶证状态为“{zh}”，不能补领{hint_zh}",
                        f"The licence is {en.lower()}, so it cannot be replaced{hint_en}")]
    return []


@output("licence_renewal.registry")
def renew_in_registry(*, application, actor, params: dict) -> dict:
    """Renew the registry's licence (registry.services.licence_renew, which audits) or record a replacement."""
    person = getattr(application.applicant, "person", None)
    licence = licence_of(person)
    if licence is None:
        raise Conflict("licence.none", "未查询到申请人的驾驶证", "The applicant has no driving licence on record")
    kind = application.form().get("kind")
    reason = f"网上申请{application.reference} online application {application.reference}"
    if kind == RENEW:
        before = licence.valid_until
        # every scoring cycle of the ending validity period counts, not only the current one (DOMAIN §3)
        full = (licence.cycle_points or 0) >= FULL_SCORE or full_score_between(
            licence=licence, start=licence.valid_from, end=licence.valid_until or clock.today())
        registry_services.licence_renew(licence=licence, actor=actor, reason=reason, full_score_in_period=full)
        return {"action": kind, "valid_from": licence.valid_from.isoformat(),
                "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
                "previous_valid_until": before.isoformat() if before else None}
    audit_record(actor=actor, action="licence.replace", obj=licence, reason=reason,
                 new={"kind": kind, "classes": licence.classes,
                      "valid_until": licence.valid_until.isoformat() if licence.valid_until else None},
                 subject_person_id=licence.person_id)
    return {"action": kind, "valid_until": licence.valid_until.isoformat() if licence.valid_until else None}
