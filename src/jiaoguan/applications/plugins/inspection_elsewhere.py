"""异地检验 (an inspection done in another city counts): the owner records a passed test at another city's station
with its report; staff check it (the standard workflow); on approval the registry records the inspection
(registry.services.vehicle_record_inspection: the next due date moves on, insurance on the day checked, audited).

Eligibility (``inspection_elsewhere.eligible``): the vehicle is the applicant's own and in a status that can be
inspected, and the date is one registry.rules.inspection_date_refusal accepts (not in the future, not more than 90
days before the due date) — the registry checks both again on approval.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import form_date, own_vehicle
from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import services as registry_services

INSPECTABLE = ("normal", "mortgaged")


@eligibility_rule("inspection_elsewhere.eligible")
def eligible(ctx: RuleContext) -> list[Refusal]:
    vehicle = own_vehicle(ctx, str(ctx.data.get("plate") or ""))
    if vehicle is None:
        return []  # the own_vehicle field has already said why
    if vehicle.status not in INSPECTABLE:
        return [Refusal("vehicle.status", "该机动车当前状态不能登记检验", "The vehicle's status does not allow an inspection")]
    inspected_on = form_date(ctx.data, "inspected_on")
    if inspected_on is None:
        return []
    refusal = registry_rules.inspection_date_refusal(due=vehicle.inspection_due, inspected_on=inspected_on,
                                                     on=clock.today())
    return [] if refusal is None else [Refusal(*refusal)]


@output("inspection_elsewhere.registry")
def record_inspection(*, application, actor, params: dict) -> dict:
    data = application.form()
    vehicle = own_vehicle(application, str(data.get("plate") or ""))
    inspected_on = form_date(data, "inspected_on")
    if vehicle is None or inspected_on is None:
        raise Conflict("vehicle.not_own", "该机动车不是申请人名下的机动车", "The vehicle is not registered to the applicant")
    before = vehicle.inspection_due
    registry_services.vehicle_record_inspection(vehicle=vehicle, inspected_on=inspected_on, actor=actor)
    return {"plate": vehicle.plate, "inspected_on": inspected_on.isoformat(), "city": data.get("city", ""),
            "previous_due": before.isoformat(), "inspection_due": vehicle.inspection_due.isoformat()}
