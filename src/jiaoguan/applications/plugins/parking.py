"""经营性停车场 (operating parking-lot licence): one service, three actions chosen in the form — 开办 (open),
变更 (change), 注销 (close). The reform's simplified materials: the business licence is verified by the
enterprise's USCC (never uploaded); a site plan is uploaded to open or change; the number of spaces and
charging points are form answers.

Outputs (``parking.licence``): open → the licence e-permit; change → a new licence e-permit with the new facts
and the old licence revoked; close → the old licence revoked and a closure certificate issued.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import form_date, issue_credential, revoke_credential
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Refusal
from jiaoguan.credentials.selectors import credential_in_force_of_enterprise
from jiaoguan.credentials.services import credential_revoke

LICENCE_KIND = "parking_licence"
CLOSURE_KIND = "parking_closure"


def existing_licence(ctx_user, number: str):
    """The enterprise's parking-lot licence with this number, not revoked (another enterprise's: None)."""
    enterprise_id = getattr(ctx_user, "enterprise_id", None)
    if not number or enterprise_id is None:
        return None
    return credential_in_force_of_enterprise(number=str(number).strip(), kind=LICENCE_KIND,
                                             enterprise_id=enterprise_id)


@eligibility_rule("parking.existing_licence")
def has_existing_licence(ctx: RuleContext) -> list[Refusal]:
    """To change or close, the licence number must be a current parking-lot licence of the applicant's enterprise."""
    if ctx.data.get("action") not in ("change", "close"):
        return []
    number = str(ctx.data.get("licence_number") or "")
    if not number:
        return []  # form.required_when reports the missing number
    if existing_licence(ctx.user, number) is None:
        return [Refusal("parking.licence_unknown", f"未查询到贵单位编号为{number}的有效停车场经营许可",
                        f"Your enterprise holds no current parking-lot licence numbered {number}")]
    return []


@eligibility_rule("parking.capacity")
def capacity_ok(ctx: RuleContext) -> list[Refusal]:
    """Charging points cannot exceed the parking spaces."""
    spaces, charging = ctx.data.get("spaces"), ctx.data.get("charging_points")
    if spaces is not None and charging is not None and int(charging) > int(spaces):
        return [Refusal("parking.charging_exceeds", "充电车位数不能多于停车泊位数",
                        "There cannot be more charging points than parking spaces")]
    return []


def _facts(data: dict) -> list[tuple]:
    facts = [("停车场名称", "Parking lot", data.get("lot_name", "")),
             ("地址", "Address", data.get("lot_address", ""))]
    if data.get("spaces") is not None:
        facts.append(("停车泊位", "Parking spaces", str(data["spaces"])))
    if data.get("charging_points") is not None:
        facts.append(("充电车位", "Charging points", str(data["charging_points"])))
    return facts


def _operator(application) -> list[tuple]:
    enterprise = application.enterprise
    if enterprise is None:
        return []
    return [("经营单位", "Operator", enterprise.name), ("统一社会信用代码", "USCC", enterprise.uscc)]


def _revoke_old(application, actor: Actor, number: str, why_zh: str, why_en: str):
    old = existing_licence(application.applicant, number)
    if old is None:
        return None
    credential_revoke(credential_id=old.pk, actor=actor,
                      reason=f"{why_zh}（申请{application.reference}）{why_en} (application {application.reference})")
    return old.number


def _revoke_issued(*, application, actor, outcome: dict) -> None:
    revoke_credential(application=application, actor=actor, outcome=outcome)


@output("parking.licence", revoke=_revoke_issued)
def parking_licence(*, application, actor, params: dict) -> dict:
    """Issue, replace or close the licence according to the form's ``action``."""
    data = application.form()
    action = data.get("action")
    today = clock.today()
    operator = _operator(application)
    if action == "close":
        old = _revoke_old(application, actor, str(data.get("licence_number") or ""), "停车场注销", "lot closed")
        closed_on = form_date(data, "close_date") or today
        out = issue_credential(
            application=application, actor=actor, kind=CLOSURE_KIND, title_zh="经营性停车场注销证明",
            title_en="Parking-lot closure certificate", valid_from=today, valid_until=None,
            fields=[*operator, ("原许可编号", "Former licence", str(data.get("licence_number") or "")),
                    ("停车场名称", "Parking lot", data.get("lot_name", "")),
                    ("停止经营日期", "Closed on", f"{closed_on:%Y-%m-%d}")])
        return {**out, "action": action, "revoked": old}
    starts = form_date(data, "opening_date") or today
    valid_from = max(starts, today) if action == "open" else today
    fields = [*operator, *_facts(data)]
    if action == "change" and data.get("change_items"):
        fields.append(("变更事项", "Changes", str(data["change_items"])[:200]))
    out = issue_credential(application=application, actor=actor, kind=LICENCE_KIND,
                           title_zh="经营性停车场经营许可", title_en="Operating parking-lot licence",
                           fields=fields, valid_from=valid_from, valid_until=None)
    revoked = None
    if action == "change":
        revoked = _revoke_old(application, actor, str(data.get("licence_number") or ""), "已变更换发新证",
                              "replaced by a changed licence")
    return {**out, "action": action, "revoked": revoked}
