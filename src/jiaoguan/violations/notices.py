"""Notices of the violations app (outbox events and their handlers): a violation recorded, a decision issued.

The services call ``violation_recorded_emit`` / ``decision_issued_emit`` inside the transaction that records the
violation or issues the decision; the handlers below run after commit (never inside the contended transaction
that locks the violation and the points account) and write the inbox messages and SMS.

Who is told:

* a violation recorded (``violation.recorded``, or ``violation.warned`` for a first violation let off with a
  warning): every account that may see it *when the notice is sent* — exactly those for whom
  ``selectors.my_violation`` finds it (the owner's account while its phone is the phone on file; a bound
  non-owner only for a violation at or after the binding) — in the inbox; and an SMS to the owner's phone on
  file (预留手机号). A vehicle of another city or of a company has no one to tell here.
* a decision issued (``decision.issued``, or ``decision.warning`` without a fine): the licence holder
  (``notifications.services.notice_to_person``).
* a first-violation waiver taken back (``violation.waiver_withdrawn``: an earlier violation of the vehicle was
  uploaded late, so this one was not the first and is payable again): the same people as a violation recorded.

The texts carry the plate, the place, the time, amounts and the decision number: no name, ID number or phone.
"""
from __future__ import annotations

import datetime as dt
import logging

from jiaoguan.core.money import format_yuan
from jiaoguan.core.outbox import event_emit, records_changed, subscribe
from jiaoguan.identity import selectors as identity
from jiaoguan.notifications.services import message_send, notice_to_person
from jiaoguan.payments.selectors import late_fee_rules
from jiaoguan.violations import selectors
from jiaoguan.violations.models import PenaltyDecision, Violation

log = logging.getLogger(__name__)

TOPIC_RECORDED = "violations.violation_recorded"
TOPIC_DECIDED = "violations.decision_issued"
TOPIC_UNWAIVED = "violations.waiver_withdrawn"


# --- hooks the services call inside their transaction ------------------------------------------------------------

def recorded_payload(*, violation) -> dict:
    """The ``violations.violation_recorded`` event of a violation (``core.outbox.events_emit`` for a batch)."""
    return {"violation_id": violation.pk, "waived": bool(violation.waiver_rule)}


def violation_recorded_emit(*, violation) -> None:
    event_emit(topic=TOPIC_RECORDED, payload=recorded_payload(violation=violation))
    records_changed(vehicle_ids=[violation.vehicle_id])


def decision_issued_emit(*, decision) -> None:
    event_emit(topic=TOPIC_DECIDED, payload={"decision_id": decision.pk})
    records_changed(vehicle_ids=[decision.violation.vehicle_id])


def withdrawn_payload(*, violation, earlier, rule: str) -> dict:
    return {"violation_id": violation.pk, "earlier_id": earlier.pk, "rule": rule}


def waiver_withdrawn_emit(*, violation, earlier, rule: str) -> None:
    event_emit(topic=TOPIC_UNWAIVED, payload=withdrawn_payload(violation=violation, earlier=earlier, rule=rule))
    records_changed(vehicle_ids=[violation.vehicle_id, earlier.vehicle_id])


# --- handlers ----------------------------------------------------------------------------------------------------

def _what(v) -> dict:
    return {"plate": v.plate, "what_zh": v.code.description_zh, "what_en": v.code.description_en or
            v.code.description_zh}


def recipients_of_recorded(*, violation) -> list:
    """The accounts that may see ``violation`` now (its vehicle's owner and bound users, by the binding rule)."""
    if violation.vehicle_id is None:
        return []
    return [u for u in identity.accounts_bound_to_vehicle(vehicle_id=violation.vehicle_id)
            if selectors.my_violations(user=u).filter(pk=violation.pk).exists()]


@subscribe(TOPIC_RECORDED)
def notify_recorded(payload: dict) -> None:
    v = Violation.objects.select_related("code", "vehicle__owner").filter(pk=payload.get("violation_id")).first()
    if v is None or v.vehicle_id is None:
        return
    if payload.get("waived"):
        template, params = "violation.warned", {**_what(v), "when": v.occurred_at, "place": v.place}
    else:
        template, params = "violation.recorded", {**_what(v), "when": v.occurred_at, "place": v.place,
                                                  "fine": format_yuan(v.fine_fen), "points": v.points}
    _tell_vehicle(v, template=template, params=params)


@subscribe(TOPIC_UNWAIVED)
def notify_waiver_withdrawn(payload: dict) -> None:
    v = Violation.objects.select_related("code", "vehicle__owner").filter(pk=payload.get("violation_id")).first()
    earlier = Violation.objects.filter(pk=payload.get("earlier_id")).first()
    if v is None or v.vehicle_id is None or earlier is None or v.status != Violation.Status.RECORDED:
        return  # handled, revoked or waived again since: the notice would be stale
    _tell_vehicle(v, template="violation.waiver_withdrawn",
                  params={**_what(v), "when": v.occurred_at, "place": v.place, "earlier": earlier.occurred_at,
                          "fine": format_yuan(v.fine_fen), "points": v.points})


def _tell_vehicle(v, *, template: str, params: dict) -> None:
    """Inbox to every account that may see ``v`` now, SMS to the owner's phone on file (once)."""
    owner = v.vehicle.owner
    owner_phone = owner.phone if owner is not None else None
    sms_sent = False
    for user in recipients_of_recorded(violation=v):
        is_owner = owner is not None and user.person_id == owner.pk
        if is_owner and owner_phone and not sms_sent:
            message_send(template=template, params=params, user=user, phone=owner_phone, channels=("inbox", "sms"))
            sms_sent = True
        else:
            message_send(template=template, params=params, user=user, channels=("inbox",))
    if owner_phone and not sms_sent:
        message_send(template=template, params=params, phone=owner_phone, channels=("sms",))


@subscribe(TOPIC_DECIDED)
def notify_decided(payload: dict) -> None:
    d = (PenaltyDecision.objects.select_related("violation__code").filter(pk=payload.get("decision_id")).first())
    if d is None:
        return
    base = {**_what(d.violation), "number": d.number, "points": d.points}
    if d.fine_fen > 0:
        grace, percent = late_fee_rules()
        template = "decision.issued"
        params = {**base, "fine": format_yuan(d.fine_fen), "due": d.decision_date + dt.timedelta(days=grace),
                  "percent": percent}
    else:
        template, params = "decision.warning", base
    notice_to_person(person_id=d.person_id, template=template, params=params)
