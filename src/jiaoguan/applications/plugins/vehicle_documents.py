"""补领/换领 机动车号牌、行驶证、登记证书、检验合格标志 (replacing a vehicle's documents): one catalogue service
(vehicle_documents.toml) whose fees depend on the document (the fee table's vehicle_licence, registration_certificate,
plates_car; the inspection mark is free), paid before acceptance; on approval the replacement is recorded in the
audit log against the vehicle and the new document is posted (the engine's ``post`` output).

Eligibility (``vehicle_documents.eligible``): the vehicle is the applicant's own (the form's own_vehicle field) and
its status allows new documents — not seized, stolen, scrapped or transferred out (a mortgaged car may replace its
documents; the registration certificate of a mortgaged car is held by the lender: refused with the reason); a new
inspection mark only while the inspection is in date.
"""
from __future__ import annotations

from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.applications.plugins.service_common import choice_text, own_vehicle
from jiaoguan.core import clock
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.registry import selectors as registry

BLOCKED = {"seized": ("查封", "seized"), "stolen": ("被盗抢", "reported stolen"),
           "scrapped": ("已注销", "scrapped"), "transferred": ("已转出", "transferred out")}
CERTIFICATE = "registration_certificate"
MARK = "inspection_mark"


def _document(data: dict) -> str:
    return str(data.get("document") or "").split(":")[0]


@eligibility_rule("vehicle_documents.eligible")
def eligible(ctx: RuleContext) -> list[Refusal]:
    vehicle = own_vehicle(ctx, str(ctx.data.get("plate") or ""))
    if vehicle is None:
        return []  # the own_vehicle field has already said why beside the field
    if vehicle.status in BLOCKED:
        zh, en = BLOCKED[vehicle.status]
        return [Refusal("vehicle.status", f"该机动车状态为“{zh}”，不能补领、换领牌证",
                        f"The vehicle is {en}, so its documents cannot be replaced")]
    document = _document(ctx.data)
    if document == CERTIFICATE and vehicle.status == "mortgaged":
        return [Refusal("vehicle.mortgaged", "机动车已抵押，登记证书由抵押权人保管，解除抵押后方可补领",
                        "The vehicle is mortgaged: the lender holds its registration certificate until the mortgage "
                        "is released")]
    if document == MARK:
        summary = registry.vehicle_summary(vehicle=vehicle, on=clock.today())
        if summary.inspection_status == "overdue":
            return [Refusal("vehicle.inspection_overdue", "机动车检验已逾期，请先检验，检验合格后发放新标志",
                            "The inspection is overdue: have the vehicle inspected first; the new mark comes with it")]
    return []


@output("vehicle_documents.registry")
def record_replacement(*, application, actor, params: dict) -> dict:
    """Record the replacement against the vehicle (the audit log is the vehicle's document history)."""
    data = application.form()
    vehicle = own_vehicle(application, str(data.get("plate") or ""))
    if vehicle is None:
        raise Conflict("vehicle.not_own", "该机动车不是申请人名下的机动车", "The vehicle is not registered to the applicant")
    zh, en = choice_text(application.service(), "document", data.get("document"))
    audit_record(actor=actor, action="vehicle.document_replace", obj=vehicle,
                 reason=f"网上申请{application.reference} online application {application.reference}",
                 new={"document": data.get("document"), "document_zh": zh, "document_en": en},
                 subject_person_id=vehicle.owner_id)
    return {"document": data.get("document"), "plate": vehicle.plate}
