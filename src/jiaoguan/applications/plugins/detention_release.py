"""放车还证 (return of a detained vehicle or driving licence, catalogue ``detention_release``): the holder picks one of
their detentions still held (an ``own_record`` field listing them, source ``violations.detentions_held``), the
rules decide (violations.selectors.detention_release_refusals: every violation it was taken for handled and paid;
a licence not suspended, revoked or cancelled), and the application is approved at once (rules only, as the
certificates are). On approval the detention is released (violations.services.detention_release, which checks
the rule again under the detention's lock) and the item goes back: a licence by post (the engine's ``post``) or
collected at a counter (``pickup``, booking through the counters engine); a vehicle is always collected
(``pickup``: the release notice at the violation-handling counter, then the car at the lot).

No fee: 放车还证 has no 规费 (the lot's storage is not charged to the holder: 道路交通安全法实施条例 第一百零七条).
"""
from __future__ import annotations

from jiaoguan.applications.hooks import (
    Held,
    Option,
    RuleContext,
    eligibility_rule,
    held_material,
    output,
    record_options,
)
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Refusal
from jiaoguan.core.identifiers import format_plate
from jiaoguan.violations import selectors as violations
from jiaoguan.violations import services as violation_services

SOURCE = "violations.detentions_held"
FIELD = "detention"


def _what(d) -> tuple[str, str]:
    """How a detention reads: its kind and the plate (a vehicle) or "驾驶证" (a licence)."""
    if d.vehicle is not None:
        plate = format_plate(d.vehicle.plate)
        return f"扣留机动车 {plate}", f"Vehicle {plate}"
    return "扣留驾驶证", "Driving licence"


@record_options(SOURCE)
def held_detentions(user) -> list[Option]:
    """The applicant's own detentions still held: value the notice number, label what, where and since when."""
    out = []
    for d in violations.my_detentions(user=user, status=violations.DetentionStatus.HELD):
        zh, en = _what(d)
        day = clock.localtime(d.detained_at)
        # what and since when first: a phone's select shows only the start of the label
        out.append(Option(d.notice_number, f"{zh} · {day:%Y-%m-%d}扣留 · 凭证{d.notice_number} · 保管于{d.held_at_name}",
                          f"{en} · held since {day:%Y-%m-%d} · notice {d.notice_number} · at {d.held_at_name}"))
    return out


def _chosen(user, data: dict):
    number = str(data.get(FIELD) or "").strip()
    if not number:
        return None
    return violations.my_detentions(user=user).filter(notice_number=number).first()


@eligibility_rule("detention_release.has_held", before_form=True)
def has_held(ctx: RuleContext) -> list[Refusal]:
    if not violations.my_detentions(user=ctx.user, status=violations.DetentionStatus.HELD).exists():
        return [Refusal("detention.none_held", "没有查询到您本人被扣留的机动车或驾驶证",
                        "No vehicle or driving licence of yours is held")]
    return []


@eligibility_rule("detention_release.returnable")
def returnable(ctx: RuleContext) -> list[Refusal]:
    """The chosen detention may be returned now, and the way back fits it (a vehicle is never posted)."""
    d = _chosen(ctx.user, ctx.data)
    if d is None:
        return []  # the own_record field has said why beside it
    out = violations.detention_release_refusals(detention=d)
    if d.kind == violations.DetentionKind.VEHICLE and not ctx.data.get("pickup"):
        out.append(Refusal("detention.vehicle_pickup", "扣留的机动车不能邮寄，请勾选“到窗口或停车场领取”并预约",
                           "A detained vehicle cannot be posted: tick “collect it” and book a visit"))
    return out


@held_material("violations.detention")
def detention_record(ctx: RuleContext) -> Held | None:
    """The detention notice (扣留凭证) on record: never asked for (免提交, 不需提供复印件)."""
    d = _chosen(ctx.user, ctx.data)
    if d is None:
        return None
    zh, en = _what(d)
    return Held(reference=f"violations.detention:{d.pk}", summary_zh=f"{zh}，扣留凭证{d.notice_number}，保管于{d.held_at_name}",
                summary_en=f"{en}, detention notice {d.notice_number}, held at {d.held_at_name}",
                data={"notice_number": d.notice_number, "kind": d.kind, "held_at": d.held_at_name,
                      "violations": sorted(d.violations.values_list("pk", flat=True))})


@output("detention_release.release")
def release(*, application, actor: Actor, params: dict) -> dict:
    """The detention ends (checked again under its lock: a licence suspended or a fine refunded since the request
    stops the approval with the reason)."""
    d = _chosen(application.applicant, application.form())
    if d is None:
        raise Conflict("detention.not_found", "未查询到申请人的该扣留记录", "The applicant has no such detention on record")
    released = violation_services.detention_release(detention_id=d.pk, actor=actor, reference=application.reference)
    return {"detention_id": released.pk, "notice_number": released.notice_number, "kind": released.kind,
            "held_at_name": released.held_at_name, "held_at_address": released.held_at_address}
