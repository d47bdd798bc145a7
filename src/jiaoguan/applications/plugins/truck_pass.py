"""货车通行证 (truck pass permit): the vehicle checks against the registry, the validity span per category, and
the e-permit that shows plate, category, zone, route, time windows and validity.

The city's data lives in catalogue/truck_pass.toml (rule and output params): the longest validity per category
and the time windows each category may use inside the restricted zones. Nothing here hard-codes them.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import Held, RuleContext, eligibility_rule, held_material, output
from jiaoguan.applications.plugins.service_common import (
    choice_text,
    form_date,
    issue_credential,
    revoke_credential,
    window_ok,
)
from jiaoguan.core import clock
from jiaoguan.core.errors import DomainError, Refusal
from jiaoguan.core.i18n import bi, choice_label, zh_en
from jiaoguan.registry.selectors import vehicle_of_owner, vehicle_summary


def _enterprise(ctx: RuleContext):
    if getattr(ctx.user, "role", "") != "enterprise":
        return None
    return ctx.enterprise if ctx.enterprise is not None else getattr(ctx.user, "enterprise", None)


def applicant_vehicle(ctx: RuleContext, plate: str | None):
    """The registry vehicle with this plate if the applicant (the citizen, or the enterprise the account applies
    for) owns it; else None."""
    if not plate:
        return None
    enterprise = _enterprise(ctx)
    if enterprise is not None:
        return vehicle_of_owner(plate=str(plate), uscc=enterprise.uscc)
    return vehicle_of_owner(plate=str(plate), person=ctx.person)


@held_material("truck.vehicle")
def held_truck(ctx: RuleContext) -> Held | None:
    """The registration record (行驶证) of the vehicle in the form's ``plate``, owned by the applicant or the
    applicant's enterprise."""
    vehicle = applicant_vehicle(ctx, ctx.data.get("plate"))
    if vehicle is None:
        return None
    kind_zh, kind_en = zh_en(choice_label(vehicle.Kind, vehicle.kind))
    return Held(f"registry.vehicle:{vehicle.pk}", f"机动车行驶证信息（{vehicle.plate}，{kind_zh}）",
                f"Vehicle registration record ({vehicle.plate}, {kind_en.lower()})",
                {"plate": vehicle.plate, "kind": vehicle.kind, "inspection_due": vehicle.inspection_due.isoformat()})


@held_material("enterprise.business_licence")
def held_business_licence(ctx: RuleContext) -> Held | None:
    """An enterprise applicant's business licence, verified by its USCC at registration (一照通用): never
    uploaded again. Citizens have none (declare the material ``required = false``)."""
    enterprise = _enterprise(ctx)
    if enterprise is None:
        return None
    return Held(f"identity.enterprise:{enterprise.pk}", f"营业执照（{enterprise.name}，统一社会信用代码{enterprise.uscc}）",
                f"Business licence ({enterprise.name}, USCC {enterprise.uscc})",
                {"name": enterprise.name, "uscc": enterprise.uscc})


@eligibility_rule("truck_pass.vehicle")
def truck_vehicle_ok(ctx: RuleContext) -> list[Refusal]:
    """The plate is a registry vehicle of an allowed kind (params ``kinds``, default ["truck"]) owned by the
    applicant, in normal status, with its inspection and compulsory insurance valid until the permit's last day."""
    plate = ctx.data.get("plate")
    vehicle = applicant_vehicle(ctx, plate)
    if vehicle is None:
        return [Refusal("truck.not_owned", f"未查询到申请人名下号牌为{plate}的车辆",
                        f"No vehicle with plate {plate} is registered to the applicant")]
    kinds = list(ctx.params.get("kinds") or ["truck"])
    out: list[Refusal] = []
    if vehicle.kind not in kinds:
        out.append(Refusal("truck.not_a_truck", f"{vehicle.plate}不是载货汽车，不能申请货车通行证",
                           f"{vehicle.plate} is not a truck, so it cannot have a truck pass"))
    if vehicle.status != "normal":
        zh, en = zh_en(choice_label(vehicle.Status, vehicle.status))
        out.append(Refusal("truck.status", f"车辆状态为“{zh}”，不能申请",
                           f"The vehicle's status is “{en.lower()}”, so it cannot apply"))
    until = form_date(ctx.data, "valid_until") or clock.today()
    summary = vehicle_summary(vehicle=vehicle)
    if summary.inspection_status == "overdue" or vehicle.inspection_due < until:
        out.append(Refusal("truck.inspection", f"车辆检验有效期至{vehicle.inspection_due:%Y-%m-%d}，"
                                               "未覆盖通行证有效期，请先检验",
                           f"The vehicle's inspection is valid until {vehicle.inspection_due:%Y-%m-%d}, which does "
                           "not cover the permit's validity; have it inspected first"))
    if summary.insurance_until is None or summary.insurance_until < until:
        out.append(Refusal("truck.insurance", "车辆交强险未覆盖通行证有效期，请先投保",
                           "The vehicle's compulsory insurance does not cover the permit's validity; insure it first"))
    return out


@eligibility_rule("truck_pass.validity")
def truck_validity_ok(ctx: RuleContext) -> list[Refusal]:
    """valid_until on or after valid_from, and the span within the category's maximum (params ``max_days``:
    ``{ category = days }``)."""
    start, end = form_date(ctx.data, "valid_from"), form_date(ctx.data, "valid_until")
    if start is None or end is None:
        return []
    if end < start:
        return [Refusal("truck.dates", "有效期截止日期不能早于起始日期", "The last day cannot be before the first day")]
    category = str(ctx.data.get("category") or "")
    limit = (ctx.params.get("max_days") or {}).get(category)
    days = (end - start).days + 1
    if limit is not None and days > int(limit):
        zh, en = choice_text(ctx.service, "category", category)
        return [Refusal("truck.too_long", f"“{zh}”类通行证有效期最长{limit}天（所填{days}天）",
                        f"A “{en}” permit is valid for at most {limit} days (you asked for {days})")]
    return []


def windows_for(params: dict, category: str) -> list[str]:
    windows = (params.get("windows") or {}).get(category)
    if not windows or not all(window_ok(w) for w in windows):
        raise DomainError("truck.windows_undeclared", "该类别的通行时段未配置，请联系管理员",
                          f"No valid time windows are declared for the category {category!r}", status=500)
    return list(windows)


def _revoke(*, application, actor, outcome: dict) -> None:
    revoke_credential(application=application, actor=actor, outcome=outcome)


@output("truck_pass.e_permit", revoke=_revoke)
def issue_truck_permit(*, application, actor, params: dict) -> dict:
    """The truck pass: plate, category, zone, route, the category's time windows (params ``windows``) and the
    validity dates from the form."""
    service = application.service()
    data = application.form()
    category = str(data.get("category"))
    windows = windows_for(params, category)
    cat_zh, cat_en = choice_text(service, "category", category)
    zone_zh, zone_en = choice_text(service, "zone", data.get("zone"))
    start, end = form_date(data, "valid_from"), form_date(data, "valid_until")
    shown = "、".join(windows)
    fields = [("号牌号码", "Plate number", data.get("plate", "")),
              ("通行类别", "Category", bi(cat_zh, cat_en)),
              ("通行区域", "Zone", bi(zone_zh, zone_en))]
    if data.get("route"):
        fields.append(("通行路线", "Route", str(data["route"])))
    fields += [("通行时段", "Time windows", bi(f"每日 {shown}", f"{shown} daily")),
               ("有效期", "Valid", bi(f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"))]
    out = issue_credential(application=application, actor=actor, kind=str(params.get("kind") or "truck_pass"),
                           fields=fields, valid_from=start, valid_until=end)
    return {**out, "plate": data.get("plate"), "category": category, "zone": data.get("zone"), "windows": windows}
