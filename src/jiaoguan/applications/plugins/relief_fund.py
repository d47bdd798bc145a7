"""道路交通事故社会救助基金 (traffic-accident social relief fund): advances for rescue costs (抢救费用垫付) and
funeral costs (丧葬费用垫付), and hardship relief (困难救助). The victim or a close relative applies; the most
that may be asked for per kind is data (catalogue/relief_fund.toml). Decided after acceptance, review and
approval; the decision is issued as a certificate whose bank account and ID number are masked.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import choice_text, issue_credential
from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal
from jiaoguan.core.i18n import bi
from jiaoguan.core.masking import mask_account, mask_id_number, mask_name


def yuan(fen: int) -> str:
    return f"¥{int(fen) // 100:,}.{int(fen) % 100:02d}"


@eligibility_rule("relief.amount")
def amount_ok(ctx: RuleContext) -> list[Refusal]:
    """The amount asked for is within the kind's ceiling (params ``max_fen = { kind = fen }``)."""
    kind, amount = str(ctx.data.get("kind") or ""), ctx.data.get("amount_fen")
    ceiling = (ctx.params.get("max_fen") or {}).get(kind)
    if amount is None or ceiling is None or int(amount) <= int(ceiling):
        return []
    zh, en = choice_text(ctx.service, "kind", kind)
    return [Refusal("relief.amount_too_high", f"“{zh}”申请金额不能超过{yuan(ceiling)}",
                    f"A “{en}” application may ask for at most {yuan(ceiling)}")]


@eligibility_rule("relief.victim")
def victim_matches(ctx: RuleContext) -> list[Refusal]:
    """When the applicant says they are the victim, the victim's ID number must be their own."""
    if ctx.data.get("applicant_relation") != "victim":
        return []
    person = ctx.person
    if person is None or str(ctx.data.get("victim_id_number") or "") != str(person.id_number or ""):
        return [Refusal("relief.victim_mismatch", "受害人身份证号码与申请人本人不一致，请选择与受害人的关系",
                        "The victim's ID number is not yours; choose your relationship to the victim")]
    return []


@output("relief.decision")
def relief_decision(*, application, actor, params: dict) -> dict:
    """The decision certificate (救助基金垫付/救助决定): kind, amount, victim (masked), hospital, payee (masked)."""
    service = application.service()
    data = application.form()
    kind_zh, kind_en = choice_text(service, "kind", data.get("kind"))
    amount = int(data.get("amount_fen") or 0)
    fields = [("救助类别", "Kind of relief", bi(kind_zh, kind_en)),
              ("核定金额", "Amount approved", yuan(amount)),
              ("受害人", "Victim", mask_name(str(data.get("victim_name") or ""))),
              ("受害人身份证号码", "Victim's ID number", mask_id_number(str(data.get("victim_id_number") or "")), False),
              ("事故编号", "Accident reference", str(data.get("accident_reference") or ""))]
    if data.get("hospital"):
        fields.append(("救治医院", "Hospital", str(data["hospital"])))
    fields += [("收款银行", "Bank", str(data.get("bank_name") or ""), False),
               ("收款账号", "Account", mask_account(data.get("bank_account")), False)]
    out = issue_credential(application=application, actor=actor, kind=str(params.get("kind") or "relief_decision"),
                           title_zh="道路交通事故社会救助基金救助决定", title_en="Road accident relief fund decision",
                           fields=fields, valid_from=clock.today(), valid_until=None)
    return {**out, "amount_fen": amount, "kind_of_relief": data.get("kind")}
