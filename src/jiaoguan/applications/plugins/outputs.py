"""The outputs an approval produces: an e-permit (credentials app) and an item sent by post (postal app).

Thin adapters over the other apps' services. Each runs inside the approval's transaction; both services are idempotent per (source_type, source_id), so a retried approval never
issues twice. Parameters come from the declaration: ``outputs = [{ name = "e_permit", params = {…} }]``.
"""
from __future__ import annotations

import datetime as dt

from jiaoguan.applications import selectors
from jiaoguan.applications.hooks import RuleContext, eligibility_rule, output
from jiaoguan.core import clock
from jiaoguan.core.errors import Refusal
from jiaoguan.credentials.services import credential_issue, credential_revoke
from jiaoguan.notifications.services import message_send
from jiaoguan.postal import selectors as postal
from jiaoguan.postal.services import shipment_create

SOURCE_TYPE = "applications.application"


def _date_param(application, params: dict, key: str) -> dt.date | None:
    name = params.get(key)
    if not name:
        return None
    value = application.form().get(name)
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _revoke_permit(*, application, actor, outcome: dict) -> None:
    if outcome.get("credential_id"):
        credential_revoke(credential_id=outcome["credential_id"], actor=actor,
                          reason=f"申请{application.reference}经复核撤销 revoked on review")


@output("e_permit", revoke=_revoke_permit)
def issue_e_permit(*, application, actor, params: dict) -> dict:
    """params: ``kind`` (default the service code), ``valid_days`` (from approval) or ``valid_from_field`` /
    ``valid_until_field`` (form date fields); with neither, the permit has no end date."""
    service = application.service()
    valid_from = _date_param(application, params, "valid_from_field") or clock.today()
    valid_until = _date_param(application, params, "valid_until_field")
    if valid_until is None and params.get("valid_days"):
        valid_until = valid_from + dt.timedelta(days=int(params["valid_days"]))
    fields = [("申请编号", "Application number", application.reference)]
    fields += [(label.zh, label.en, value) for _name, label, value in selectors.form_display(application=application)]
    credential = credential_issue(
        kind=str(params.get("kind") or service.code), holder_user=application.applicant,
        title_zh=service.name.zh, title_en=service.name.en, fields=fields, valid_from=valid_from,
        valid_until=valid_until, source_type=SOURCE_TYPE, source_id=str(application.pk), actor=actor)
    return {"credential_id": credential.pk, "number": credential.number}


@eligibility_rule("postal.delivery_available", before_form=True)
def delivery_available(ctx: RuleContext) -> list[Refusal]:
    """A service whose result is sent by post (output "post") lists this rule: without a postal carrier (a valid
    deployment) it is not offered online, and the entry page says why before anything is typed."""
    refusal = postal.delivery_refusal()
    return [refusal] if refusal else []


@eligibility_rule("postal.address_known")
def address_known(ctx: RuleContext) -> list[Refusal]:
    """A service that posts to the form's ``address`` or else the address on file (and may offer collection at a
    counter, form field ``pickup``) lists this rule: with neither an address typed nor one on file, it is refused
    before submission instead of failing at approval."""
    if ctx.data.get("pickup") or str(ctx.data.get("address") or "").strip():
        return []
    if str(getattr(ctx.person, "address", "") or "").strip():
        return []
    return [Refusal("postal.address_missing", "档案中没有登记联系地址，请填写邮寄地址或选择到窗口领取",
                    "There is no address on file: enter a postal address or choose to collect it at a counter")]


@output("post", requires="postal.delivery_available")
def send_by_post(*, application, actor, params: dict) -> dict:
    """params: ``name_field``, ``phone_field``, ``address_field`` (form fields; defaults recipient_name,
    recipient_phone, address), falling back to the applicant's registry record; ``item_zh``/``item_en``."""
    service = application.service()
    data = application.form()
    person = getattr(application.applicant, "person", None)
    name = data.get(params.get("name_field", "recipient_name")) or getattr(person, "name", "")
    phone = (data.get(params.get("phone_field", "recipient_phone")) or getattr(person, "phone", None)
             or application.applicant.phone or "")
    address = data.get(params.get("address_field", "address")) or getattr(person, "address", "")
    shipment = shipment_create(recipient_name=name, recipient_phone=phone, address=address,
                               item_zh=params.get("item_zh", service.name.zh),
                               item_en=params.get("item_en", service.name.en),
                               source_type=SOURCE_TYPE, source_id=str(application.pk), actor=actor)
    return {"shipment_id": shipment.pk, "reference": shipment.reference,
            "tracking_number": getattr(shipment, "tracking_number", "") or ""}


@output("pickup")
def ready_for_pickup(*, application, actor, params: dict) -> dict:
    """柜台领取: the document is collected at a counter instead of posted (the form's choice; the service declares
    ``post`` with ``unless`` and this with ``when``). params: ``counter_service`` (the counters app's service the
    applicant books: "licence", "vehicle", "violation"…), ``item_zh``/``item_en``; ``template`` (the notice sent,
    default "application.pickup_ready": a document made and ready) and ``note_zh``/``note_en`` (what the
    application page says instead of "ready, book a visit", e.g. where a released vehicle is collected). The
    applicant is told to book a visit; the application page links the booking (counters engine) for that service."""
    service = application.service()
    item_zh, item_en = params.get("item_zh", service.name.zh), params.get("item_en", service.name.en)
    message_send(template=str(params.get("template") or "application.pickup_ready"), user=application.applicant,
                 channels=("inbox", "sms") if getattr(application.applicant, "phone", None) else ("inbox",),
                 params={"service_zh": service.name.zh, "service_en": service.name.en,
                         "reference": application.reference, "item_zh": item_zh, "item_en": item_en})
    out = {"counter_service": str(params.get("counter_service", "")), "item_zh": item_zh, "item_en": item_en}
    if params.get("note_zh"):
        out.update(note_zh=str(params["note_zh"]), note_en=str(params.get("note_en") or params["note_zh"]))
    return out
