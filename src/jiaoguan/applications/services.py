"""Writes of the workflow engine: one function per transition, for every service in the catalogue.

    draft ──submit──► submitted ──accept──► under_review ──review──► reviewed ──approve──► approved ─(outputs)
      │                  │  └─refuse──► refused     │  └─approve/reject──►            └─reject──► rejected
      │                  └─send_back─┐              └─send_back─┐        (which of these a service uses, and
      │                              ▼                          ▼         who may take each step, is declared)
      │                        returned ──resubmit──► back where it was sent from (time limit resumes)
      └─ withdraw (from draft and every open state) ──► withdrawn
    fees:          submit ──► awaiting_payment ──(paid: payments.item_settled)──► submitted ...; unpaid by fee_due_at
                   ──► lapsed (the sweep); refused/rejected/withdrawn/revoked/lapsed: the fee goes back
    auto-approval: submit ──► approved at once (system), when the service's condition holds
    approve-first: submit ──► approved at once with post_review_pending; a reviewer later confirms (stays approved)
                   or revokes (──► revoked, outputs undone where they can be)

The life cycle is declared once, as data: ``rules.APPLICATION`` (a core.states.StateMachine over the staff verbs
of catalogue.VERBS and the applicant's steps, rules.APPLICANT_STEPS); the pages ask it what to offer.

Every transition locks the application row (``SELECT … FOR UPDATE``; SQLite: BEGIN IMMEDIATE), then checks
status, permission, separation of duties and claim, then writes the new status, an ApplicationEvent (the
history) and an audit row, and notifies the applicant. A second member of staff acting on the same application
at the same moment waits for the lock and then finds the status moved on: 409 ``applications.state_changed``.

Separation of duties (one rule, rules.duty_conflict, consulted by every step): a member of staff who performed
one level of an application (受理 accept/refuse, 审核 review/confirm/revoke, 审批 approve/reject) may not perform
another level of it, unless the service's declaration allows that pair (``workflow.same_person``; never for a
service that pays money out). Nobody may act as staff on an application they made themselves.

Time limits (``Service.time_limit_days`` working days, core.workdays calendar) start at acceptance and end at
the end of the last working day (``due_at``). Sent back after acceptance, the clock stops: the working days left
after the send-back day are kept (``paused_workdays``) and counted again from the day the applicant resubmits
(neither of those two days is counted). Sent back before acceptance, no clock runs yet.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.applications import hooks, rules, selectors
from jiaoguan.applications.catalogue import COMMENT_REQUIRED, Service, catalogue
from jiaoguan.applications.labels import STATUS_EN, STATUS_ZH, VERB_LABELS, delivery_label
from jiaoguan.applications.models import (
    STAFF_STATES,
    Application,
    ApplicationEvent,
    Material,
    ReferenceCounter,
)
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor, audit_record
from jiaoguan.core.errors import Conflict, DomainError, Forbidden, InvalidInput, Refusal, forbidden, not_found
from jiaoguan.core.locks import lock_row, lock_rows
from jiaoguan.core.outbox import records_changed
from jiaoguan.identity.roles import PERMISSIONS
from jiaoguan.identity.selectors import staff_accounts
from jiaoguan.notifications.services import NotificationError, message_send
from jiaoguan.payments.selectors import payable_for_source
from jiaoguan.payments.services import payable_cancel, payable_create

log = logging.getLogger(__name__)

S = Application.Status
SYSTEM = Actor.system("applications")
FEE_SOURCE = "applications.fee"  # payments.PayableItem.source_type of an application's fees (source_id: its id)
MAX_COMMENT = 500


class Ineligible(InvalidInput):
    """The applicant does not meet the service's conditions; ``reasons`` are the rules' refusals (zh/en)."""

    def __init__(self, reasons: list[Refusal]) -> None:
        self.reasons = reasons
        super().__init__(
            "applications.ineligible",
            "不符合申请条件：" + "；".join(r.zh for r in reasons),
            "You do not meet the conditions: " + "; ".join(r.en for r in reasons),
            fields={f"eligibility.{r.code}": (r.zh, r.en) for r in reasons},
        )


# --- helpers ------------------------------------------------------------------------------------------------------


def _not_found() -> DomainError:
    return not_found("申请", "application")


def _lock(application_id: int) -> Application:
    app = lock_row(Application, application_id)
    if app is None:
        raise _not_found()
    return app


def _own(app: Application, user) -> None:
    if user is None or app.applicant_id != user.pk:
        raise _not_found()  # someone else's application looks exactly like a missing one


def _service(app_or_code) -> Service:
    code = app_or_code if isinstance(app_or_code, str) else app_or_code.service_code
    service = catalogue().get(code)
    if service is None:
        raise Conflict("applications.service_gone", "该办事事项已停止办理", "This service is no longer offered")
    return service


def _comment(comment: str | None, *, required: bool, field: str = "comment") -> str:
    text = str(comment or "").strip()
    if required and not text:
        raise InvalidInput("applications.comment_required", "请填写理由（将告知申请人）",
                           "Give the reason (the applicant will see it)", field=field)
    if len(text) > MAX_COMMENT:
        raise InvalidInput("applications.comment_too_long", f"意见不能超过{MAX_COMMENT}字",
                           f"At most {MAX_COMMENT} characters", field=field)
    return text


def _state(app: Application) -> dict:
    return {"status": app.status, "due_at": app.due_at, "claimed_by_id": app.claimed_by_id,
            "post_review_pending": app.post_review_pending}


def _record(app: Application, *, action: str, actor: Actor, from_status: str, comment: str = "",
            public: bool = True, data: dict | None = None, old: dict | None = None) -> None:
    """The history row and the audit row of one step."""
    ApplicationEvent.objects.create(application=app, action=action, from_status=from_status, to_status=app.status,
                                    actor_id=actor.id, actor_label=actor.label[:150], actor_role=actor.role[:20],
                                    comment=comment[:500], public=public, data=data or {}, at=clock.now())
    audit_record(actor=actor, action=f"application.{action}", obj=app, old=old,
                 new={**_state(app), "service": app.service_code, "reference": app.reference, **(data or {})},
                 reason=comment, subject_person_id=getattr(app.applicant, "person_id", None))
    if from_status != app.status:  # the applicant's summary (jiaoguan.records) shows the status
        records_changed(user_ids=[app.applicant_id])


def _notify(app: Application, template: str, *, sms: bool = False, **params) -> None:
    """Tell the applicant (inbox; SMS as well for outcomes when the account has a phone)."""
    service = catalogue().get(app.service_code)
    user = app.applicant
    channels = ("inbox", "sms") if sms and getattr(user, "phone", None) else ("inbox",)
    try:
        message_send(template=template, user=user, channels=channels,
                     params={"service_zh": service.name.zh if service else app.service_code,
                             "service_en": service.name.en if service else app.service_code,
                             "reference": app.reference or f"#{app.pk}", **params})
    except NotificationError:
        log.exception("could not notify the applicant of application %s (%s)", app.pk, template)


def _not_own(app: Application, actor: Actor) -> None:
    """Nobody acts as staff on an application they made (an account is one person: identity.User.person is
    one-to-one, so the account id decides)."""
    if actor.id is not None and actor.id == app.applicant_id:
        raise Forbidden("applications.own_application", "不能以工作人员身份办理本人提交的申请",
                        "You cannot act as staff on an application you made yourself")


def _held_by(app: Application) -> Conflict:
    holder = app.claimed_by
    name = (holder.display_name or holder.username) if holder is not None else "?"
    return Conflict("applications.claimed", f"该申请正由{name}办理，请勿重复处理",
                    f"{name} is working on this application", field="application")


# --- reference numbers ---------------------------------------------------------------------------------------------


def _next_reference() -> str:
    day = clock.today()
    for _ in range(5):
        row = ReferenceCounter.objects.select_for_update().filter(day=day).first()
        if row is None:
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(day=day, last=1)
                return rules.reference_make(day, 1)
            except IntegrityError:
                continue  # another submission created today's counter first: lock it
        row.last += 1
        row.save(update_fields=["last"])
        return rules.reference_make(day, row.last)
    raise RuntimeError("could not draw an application reference")


# --- drafts ---------------------------------------------------------------------------------------------------------


def _applicant_kind(user) -> str:
    return "enterprise" if getattr(user, "role", "") == "enterprise" else "citizen"


def application_draft_create(*, user, service_code: str, data: dict | None = None) -> Application:
    """Start an application (a draft the applicant can save and resume)."""
    service = catalogue().get(service_code)
    if service is None:
        raise not_found("办事事项", "service")
    if getattr(user, "is_police", False):
        raise Forbidden("applications.staff_cannot_apply", "工作人员账户不能申请办事，请使用个人账户",
                        "Staff accounts cannot apply; use a personal account")
    if _applicant_kind(user) not in service.applicants:
        who = {"citizen": ("个人", "individuals"), "enterprise": ("企业", "enterprises")}
        allowed_zh = "、".join(who[a][0] for a in service.applicants)
        allowed_en = " and ".join(who[a][1] for a in service.applicants)
        raise Forbidden("applications.applicant_kind", f"本事项仅限{allowed_zh}申请",
                        f"Only {allowed_en} may apply for this service")
    values = rules.draft_values(service, data or {})
    plain, personal = rules.split_personal(service, values)
    now = clock.now()
    with transaction.atomic():
        app = Application.objects.create(
            service_code=service.code, service_version=service.version, service_digest=service.digest,
            applicant=user, enterprise_id=getattr(user, "enterprise_id", None) if _applicant_kind(user) == "enterprise"
            else None, status=S.DRAFT, form_data=plain,
            form_personal=json.dumps(personal, ensure_ascii=False) if personal else "", created_at=now, updated_at=now)
        _record(app, action="draft", actor=Actor.of(user), from_status="", public=False)
    return app


def application_draft_update(*, user, application_id: int, data: dict) -> Application:
    """Save form values into a draft (or an application sent back for correction). Values given replace the
    stored ones; an empty string clears one. Nothing is lost on a refusal: the stored draft stays as it was."""
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.editable(app.status):
            raise Conflict("applications.not_editable", "申请已提交，不能修改",
                           "The application has been submitted and can no longer be changed")
        service = _service(app)
        values = {**app.form(), **rules.draft_values(service, data)}
        plain, personal = rules.split_personal(service, values)
        app.form_data = plain
        app.form_personal = json.dumps(personal, ensure_ascii=False) if personal else ""
        app.updated_at = clock.now()
        app.save(update_fields=["form_data", "form_personal", "updated_at"])
    return app


# --- materials ----------------------------------------------------------------------------------------------------


def material_upload(*, user, application_id: int, slot: str, filename: str, content: bytes) -> Material:
    """Attach an uploaded file to a draft (or a sent-back application): only a declared slot, only the types
    it accepts (recognised by the file's bytes, not its name), within its size limit and file count."""
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.editable(app.status):
            raise Conflict("applications.not_editable", "申请已提交，不能再上传材料",
                           "The application has been submitted; materials can no longer be added")
        service = _service(app)
        spec = service.upload_slots().get(str(slot or ""))
        if spec is None:
            raise InvalidInput("applications.unknown_slot", "本事项不需要上传这项材料",
                               "This service takes no upload of that name", field="slot")
        label, types, max_kb, max_files = spec
        if not content:
            raise InvalidInput("applications.file_empty", "文件为空", "The file is empty", field="file")
        if len(content) > max_kb * 1024:
            raise InvalidInput("applications.file_too_large", f"“{label.zh}”文件不能超过{size_label(max_kb)}",
                               f"“{label.en}” may be at most {size_label(max_kb)}", field="file")
        sniffed = rules.sniff(content)
        if sniffed is None or sniffed[0] not in types:
            names = "、".join(t.upper() for t in types)
            raise InvalidInput("applications.file_type", f"“{label.zh}”只接受{names}文件",
                               f"“{label.en}” must be a {', '.join(t.upper() for t in types)} file", field="file")
        if Material.objects.filter(application=app, slot=slot, kind=Material.Kind.UPLOAD).count() >= max_files:
            raise InvalidInput("applications.too_many_files", f"“{label.zh}”最多上传{max_files}个文件",
                               f"At most {max_files} files for “{label.en}”", field="file")
        ftype, ctype = sniffed
        digest = hashlib.sha256(content).hexdigest()
        material = Material(application=app, slot=slot, kind=Material.Kind.UPLOAD,
                            original_name=str(filename or "")[-120:], content_type=ctype, size=len(content),
                            sha256=digest, uploaded_by=user, created_at=clock.now())
        material.file.save(f"upload.{rules.EXTENSIONS[ftype]}", ContentFile(content), save=False)
        material.save()
        app.updated_at = clock.now()
        app.save(update_fields=["updated_at"])
        audit_record(actor=Actor.of(user), action="application.material_upload", obj=app,
                     new={"slot": slot, "sha256": digest, "size": len(content), "type": ftype},
                     subject_person_id=getattr(user, "person_id", None))
    return material


def size_label(kb: int) -> str:
    return f"{kb // 1024} MB" if kb % 1024 == 0 else f"{kb} KB"


def material_remove(*, user, application_id: int, material_id: int) -> None:
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.editable(app.status):
            raise Conflict("applications.not_editable", "申请已提交，不能删除材料",
                           "The application has been submitted; materials can no longer be removed")
        material = Material.objects.filter(pk=material_id, application=app, kind=Material.Kind.UPLOAD).first()
        if material is None:
            raise not_found("材料", "material")
        audit_record(actor=Actor.of(user), action="application.material_remove", obj=app,
                     old={"slot": material.slot, "sha256": material.sha256},
                     subject_person_id=getattr(user, "person_id", None))
        name = material.file.name
        material.delete()
        transaction.on_commit(lambda: material.file.storage.delete(name) if name else None)


# --- submission -----------------------------------------------------------------------------------------------------


def _context(app: Application, service: Service, user, data: dict, params: dict | None = None) -> hooks.RuleContext:
    return hooks.RuleContext(user=user, service=service, data=data, enterprise=app.enterprise,
                             params=params or {}, application=app)


def _checked(app: Application, service: Service, user) -> tuple[dict, list[hooks.Held | None]]:
    """Validate everything a submission needs, writing nothing (selectors.submission_check, the same check the
    pages and the API show before submitting): the form (422 with every field's problem), the materials, then the
    eligibility rules (422 with their reasons)."""
    check = selectors.submission_check(app=app, service=service, user=user)
    if check.errors:
        raise InvalidInput("applications.form_invalid", "申请表或材料有误，请检查标出的项目（草稿已保存）",
                           "Some answers or materials need attention; see the marked items (your draft is saved)",
                           fields=check.errors)
    if check.refusals:
        raise Ineligible(check.refusals)
    return check.cleaned, check.held


def _store_submission(app: Application, service: Service, user, cleaned: dict,
                      held: list[hooks.Held | None]) -> None:
    plain, personal = rules.split_personal(service, cleaned)
    app.form_data = plain
    app.form_personal = json.dumps(personal, ensure_ascii=False) if personal else ""
    app.service_version, app.service_digest = service.version, service.digest
    Material.objects.filter(application=app, kind=Material.Kind.HELD).delete()
    now = clock.now()
    Material.objects.bulk_create([
        Material(application=app, slot=m.code, kind=Material.Kind.HELD, provider=m.held,
                 held_reference=h.reference[:120], summary_zh=h.summary_zh[:200], summary_en=h.summary_en[:200],
                 data=h.data, created_at=now)
        for m, h in zip(service.materials, held) if h is not None and m.held])  # found: a held material


def application_submit(*, user, application_id: int) -> Application:
    """Submit a draft: validated in full (form, materials, eligibility); on any refusal nothing changes and the
    draft stays as it was. A submitted application gets its reference number and waits for acceptance, or is
    approved at once where the service allows (auto-approval; approve-first for urgent categories)."""
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.step_allowed("submit", app.status):
            raise Conflict("applications.already_submitted", "该申请已提交", "This application has already been submitted")
        service = _service(app)
        cleaned, held = _checked(app, service, user)
        lines = rules.fee_lines(service, cleaned)
        fee = rules.fee_total(lines)
        payer = getattr(user, "person_id", None)
        if fee and payer is None:
            raise Conflict("applications.fee_needs_person", "缴纳规费需要实名认证的个人账户",
                           "Fees are paid by a real-name personal account")
        _store_submission(app, service, user, cleaned, held)
        now = clock.now()
        app.status, app.submitted_at, app.updated_at = S.SUBMITTED, now, now
        app.fee_lines = [line.as_json() for line in lines]
        app.reference = _next_reference()
        if fee:
            app.status = S.AWAITING_PAYMENT
            app.fee_due_at = rules.due_at_for(now, settings.JIAOGUAN_FEE_PAYMENT_WORKDAYS)
        app.save()
        if fee:
            assert payer is not None  # refused above
            _charge(app, service, fee, at="submission", payer=payer)
        _record(app, action="submit", actor=Actor.of(user), from_status=S.DRAFT,
                data={"version": service.version, "digest": service.digest, **({"fee_fen": fee} if fee else {})})
        if fee:
            assert app.fee_due_at is not None
            _notify(app, "application.fee_due", amount=f"{fee / 100:.2f}",
                    until=timezone.localtime(app.fee_due_at).strftime("%Y-%m-%d %H:%M"))
            return app
        decided = _decide_at_once(app, service)
        if not decided:
            _notify(app, "application.submitted")
    return app


def _decide_at_once(app: Application, service: Service) -> bool:
    """Auto-approval or approve-first, when the service's condition holds for this form. Runs in a savepoint: if
    an output fails (e.g. the credentials service is down) the application simply waits for staff."""
    wf = service.workflow
    data = app.form()
    auto = wf.auto_approve is not None and wf.auto_approve.holds(data)
    first = not auto and wf.approve_first is not None and wf.approve_first.holds(data)
    if not (auto or first):
        return False
    snapshot = {f: getattr(app, f) for f in ("status", "accepted_at", "due_at", "decided_at", "auto_decided",
                                               "post_review_pending", "outcome", "fee_lines", "fee_due_at")}
    try:
        with transaction.atomic():
            actor = Actor.system("applications.auto_approve" if auto else "applications.approve_first")
            now = clock.now()
            rules.APPLICATION.check(app.status, S.UNDER_REVIEW)
            app.status, app.accepted_at = S.UNDER_REVIEW, now
            app.due_at = rules.due_at_for(now, service.time_limit_days)
            app.save()
            _record(app, action="accept", actor=actor, from_status=S.SUBMITTED)
            app.decided_at, app.auto_decided = now, True
            app.post_review_pending = first
            fee = _approve_or_charge(app, service, actor, from_status=S.UNDER_REVIEW)
            app.save()
            _record(app, action="approve", actor=actor, from_status=S.UNDER_REVIEW,
                    comment="自动批准" if auto else "先批后审",  # shown through selectors.event_comment
                    data={"auto": auto, "approve_first": first, **({"fee_fen": fee} if fee else {})})
            _notify_approved(app, fee)
    except DomainError:
        log.exception("could not decide application %s at once; it waits for staff", app.pk)
        for f, v in snapshot.items():
            setattr(app, f, v)
        return False
    return True


def _run_outputs(app: Application, service: Service, actor: Actor) -> dict:
    outcome = dict(app.outcome or {})
    data = app.form()
    for use in service.outputs:
        if not use.applies(data):
            continue  # e.g. no post for a document collected at a counter
        spec = hooks.OUTPUTS[use.name]
        outcome[use.name] = spec.issue(application=app, actor=actor, params=use.params)
    return outcome


def application_resubmit(*, user, application_id: int, comment: str = "") -> Application:
    """Answer a send-back: the corrected application is validated again and goes back to where it was sent
    back from; a time limit that had started resumes with the working days it had left."""
    comment = _comment(comment, required=False)
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.step_allowed("resubmit", app.status):
            raise Conflict("applications.not_returned", "该申请不在退回补正状态", "This application was not sent back")
        service = _service(app)
        cleaned, held = _checked(app, service, user)
        _same_fee(app, service, cleaned)
        _store_submission(app, service, user, cleaned, held)
        now = clock.now()
        back_to = app.returned_from or S.SUBMITTED
        rules.APPLICATION.check(app.status, back_to)
        app.status, app.returned_from, app.updated_at = back_to, "", now
        if app.paused_workdays is not None:
            app.due_at = rules.due_at_for(now, app.paused_workdays)
            app.paused_workdays = None
            app.due_soon_warned_at = None
        app.save()
        _record(app, action="resubmit", actor=Actor.of(user), from_status=S.RETURNED, comment=comment)
        _notify(app, "application.resubmitted")
    return app


def application_withdraw(*, user, application_id: int, comment: str = "") -> Application:
    """The applicant withdraws (a draft, or an application not yet decided)."""
    comment = _comment(comment, required=False)
    with transaction.atomic():
        app = _lock(application_id)
        _own(app, user)
        if not rules.step_allowed("withdraw", app.status):
            raise Conflict("applications.not_withdrawable", "该申请已办结，不能撤回",
                           "This application has been decided and cannot be withdrawn")
        old = app.status
        fee = _fee_return(app, actor=Actor.of(user), reason="申请人撤回申请 withdrawn by the applicant")
        app.status, app.updated_at, app.claimed_by, app.claimed_at = S.WITHDRAWN, clock.now(), None, None
        app.save()
        _record(app, action="withdraw", actor=Actor.of(user), from_status=old, comment=comment,
                old={"status": old}, data=fee)
    return app


# --- fees (规费) -------------------------------------------------------------------------------------------------------


def _same_fee(app: Application, service: Service, cleaned: dict) -> None:
    """A correction may not change what the submission was charged (an answer that decides a fee or its
    exemption): refused beside those fields — withdraw and apply again, and what was paid goes back."""
    charged = [(line.get("code"), int(line.get("charged_fen") or 0)) for line in app.fee_lines or []
               if line.get("at", "submission") == "submission"]
    now = [(line.code, line.charged_fen) for line in rules.fee_lines(service, cleaned, at="submission")]
    if charged == now:
        return
    fields = {use.when.field for use in service.fees if use.when.field}
    fields |= {e.when.field for use in service.fees for e in use.item.exempt if e.when.field and service.field(e.when.field)}
    msg = ("此项决定规费，补正时不能更改；如需更改，请撤回后重新申请（已缴费用原路退回）",
           "This answer decides the fee and cannot change in a correction; withdraw and apply again (what you paid "
           "goes back)")
    raise InvalidInput("applications.fee_answer_changed", "补正不能更改决定规费的选项，如需更改请撤回后重新申请",
                       "A correction cannot change the answers that decide the fee; withdraw and apply again",
                       fields={f: msg for f in sorted(fields) if f})


def _charge(app: Application, service: Service, fee: int, *, at: str, payer: int) -> None:
    """What the application owes for one phase becomes a payable item (payments), due by ``fee_due_at``."""
    app.fee_due_at = rules.due_at_for(clock.now(), settings.JIAOGUAN_FEE_PAYMENT_WORKDAYS)
    when_zh, when_en = ("", "") if at == "submission" else ("批准后", "on approval, ")
    payable_create(kind="fee", source_type=FEE_SOURCE, source_id=rules.fee_source_id(app.pk, at),
                   payer_person_id=payer, amount_fen=fee,
                   description_zh=f"{service.name.zh}{when_zh}规费（申请编号{app.reference}）",
                   description_en=f"{service.name.en} fee, {when_en}application {app.reference}")


def _approve_or_charge(app: Application, service: Service, actor: Actor, *, from_status: str) -> int:
    """Approved: the outputs run now — unless the service charges a fee at approval for these answers, in which
    case the application waits for it (awaiting_payment, the decision taken) and the outputs run once it is paid
    (application_fee_paid). Returns the fee charged now (0: approved)."""
    lines = rules.fee_lines(service, app.form(), at="approval")
    fee = rules.fee_total(lines)
    payer = getattr(app.applicant, "person_id", None)
    if fee:
        if payer is None:
            raise Conflict("applications.fee_needs_person", "缴纳规费需要实名认证的个人账户",
                           "Fees are paid by a real-name personal account")
        rules.APPLICATION.check(from_status, S.AWAITING_PAYMENT)
        app.status = S.AWAITING_PAYMENT.value
        app.fee_lines = [*(app.fee_lines or []), *(line.as_json() for line in lines)]
        _charge(app, service, fee, at="approval", payer=payer)
        return fee
    rules.APPLICATION.check(from_status, S.APPROVED)
    app.status = S.APPROVED.value  # the plain value, as a declared step's ``to`` sets it
    if lines:
        app.fee_lines = [*(app.fee_lines or []), *(line.as_json() for line in lines)]  # exempt: kept, charged 0
    app.outcome = _run_outputs(app, service, actor)
    return 0


def _notify_approved(app: Application, fee: int) -> None:
    if not fee:
        _notify(app, "application.approved", sms=True)
        return
    assert app.fee_due_at is not None
    _notify(app, "application.approved_fee_due", sms=True, amount=f"{fee / 100:.2f}",
            until=timezone.localtime(app.fee_due_at).strftime("%Y-%m-%d %H:%M"))


def _fee_phase(app: Application) -> str:
    """Which fee an application awaiting payment waits for: the decision taken (approved) — the approval's."""
    return "approval" if app.decided_at is not None else "submission"


def _fee_return(app: Application, *, actor: Actor, reason: str) -> dict:
    """The application ends without its result: what it owes is cancelled, what it paid goes back through the
    channel (payments.payable_cancel; the caller holds the application's lock, payments then lock the order and
    the item — the settlement path never takes the application's). Returns the fee's outcome for the history."""
    out: dict = {}
    for at in ("submission", "approval"):
        if not rules.fee_total_of(app.fee_lines, at):
            continue
        source_id = rules.fee_source_id(app.pk, at)
        if payable_for_source(source_type=FEE_SOURCE, source_id=source_id) is None:
            continue
        item = payable_cancel(source_type=FEE_SOURCE, source_id=source_id, actor=actor, reason=reason[:200])
        prefix = "fee" if at == "submission" else "approval_fee"
        out.update({prefix: item.status, f"{prefix}_reference": item.reference})
    return out


def application_fee_paid(*, application_id: int, at: str = "submission") -> Application | None:
    """The fee of phase ``at`` was paid (payments.item_settled). Submission: the application goes to staff — or is
    decided at once where the service allows. Approval: the outputs run (the document is produced, posted) and the
    applicant is told it is approved. Paid after the application lapsed or was withdrawn, nothing moves here: the
    path that closed it cancelled the item, and the money that still arrived is refunded by payments."""
    with transaction.atomic():
        app = lock_row(Application, application_id)
        if app is None or not rules.step_allowed("fee_paid", app.status) or _fee_phase(app) != at:
            return app
        return _fee_paid_locked(app, at=at)


def _fee_paid_locked(app: Application, *, at: str) -> Application:
    """Under the caller's lock on the application, awaiting the fee of phase ``at``, which is paid: move it on."""
    service = _service(app)
    actor = Actor.system("payments")
    app.updated_at = clock.now()
    if at == "approval":
        app.status = S.APPROVED
        app.outcome = _run_outputs(app, service, actor)
        app.save()
        _record(app, action="fee_paid", actor=actor, from_status=S.AWAITING_PAYMENT,
                data={"fee_fen": rules.fee_total_of(app.fee_lines, "approval"), "at": at})
        _notify(app, "application.approved", sms=True)
        return app
    app.status = S.SUBMITTED
    app.save()
    _record(app, action="fee_paid", actor=actor, from_status=S.AWAITING_PAYMENT,
            data={"fee_fen": rules.fee_total_of(app.fee_lines, "submission"), "at": at})
    if not _decide_at_once(app, service):
        _notify(app, "application.submitted")
    return app


def applications_lapse_unpaid(*, batch: int = 200) -> int:
    """Close the applications whose fee was not paid by their deadline (idempotent: a lapsed one is not picked
    again). Each in its own transaction: the application's lock, then the payable's cancellation (a payment that
    arrived meanwhile is refunded). Returns how many lapsed."""
    now = clock.now()
    total = 0
    after: tuple[dt.datetime | None, int] | None = None
    while True:  # keyset pages: one that is left waiting (see below) is not picked again in this run
        due = Application.objects.filter(status=S.AWAITING_PAYMENT, fee_due_at__lt=now)
        if after is not None:
            due = due.filter(Q(fee_due_at__gt=after[0]) | Q(fee_due_at=after[0], pk__gt=after[1]))
        page = list(due.order_by("fee_due_at", "pk").values_list("fee_due_at", "pk")[:batch])
        if not page:
            return total
        after = page[-1]
        for _due_at, pk in page:
            with transaction.atomic():
                app = lock_row(Application, pk)
                if app is None or app.status != S.AWAITING_PAYMENT or app.fee_due_at is None or app.fee_due_at >= now:
                    continue
                phase = _fee_phase(app)
                item = payable_for_source(source_type=FEE_SOURCE, source_id=rules.fee_source_id(app.pk, phase))
                if item is not None and item.status == "paid":
                    # paid in time, its settlement event not delivered yet (a worker's delay): move it on now; the
                    # event, when it comes, finds nothing to do. An output that fails (a carrier down) leaves it
                    # waiting for the event's retries, never lapsed, and the sweep goes on with the others.
                    try:
                        with transaction.atomic():
                            _fee_paid_locked(app, at=phase)
                    except DomainError:
                        log.exception("application %s: fee paid, moving it on failed; the event will retry", pk)
                    continue
                fee = _fee_return(app, actor=SYSTEM, reason="逾期未缴费 fee not paid in time")
                app.status, app.updated_at, app.decided_at = S.LAPSED, now, app.decided_at or now
                app.save()
                _record(app, action="lapse", actor=SYSTEM, from_status=S.AWAITING_PAYMENT, data=fee)
                _notify(app, "application.lapsed", sms=True)
                total += 1


# --- staff: claim ---------------------------------------------------------------------------------------------------


def application_claim(*, application_id: int, actor: Actor) -> Application:
    """Take an application to work on it (one member of staff at a time). A second claimer is told who holds it."""
    with transaction.atomic():
        app = _lock(application_id)
        _service(app)  # a service no longer offered: applications.service_gone
        block = selectors.claim_block(application=app, actor=actor)  # what the console offers 认领 from
        if block == "applications.state_changed":
            raise Conflict(block, f"该申请当前状态为“{STATUS_ZH[app.status]}”，无需办理",
                           f"The application is {STATUS_EN[app.status].lower()}; there is nothing to do")
        if block == "core.forbidden":
            raise forbidden()
        if block == "applications.own_application":
            _not_own(app, actor)
        if block == "applications.claimed_by_you":
            return app
        if block == "applications.claimed":
            raise _held_by(app)
        app.claimed_by_id, app.claimed_at = actor.id, clock.now()
        app.save(update_fields=["claimed_by", "claimed_at"])
        _record(app, action="claim", actor=actor, from_status=app.status, public=False)
    return app


def application_release(*, application_id: int, actor: Actor, force: bool = False) -> Application:
    """Let go of a claimed application. ``force``: a supervisor (application.approve) frees someone else's claim."""
    with transaction.atomic():
        app = _lock(application_id)
        block = selectors.release_block(application=app, actor=actor, force=force)  # as the console offers it
        if block == "applications.not_claimed":
            return app
        if block is not None:
            raise _held_by(app)
        holder = app.claimed_by_id
        app.claimed_by_id, app.claimed_at = None, None
        app.save(update_fields=["claimed_by", "claimed_at"])
        _record(app, action="release", actor=actor, from_status=app.status, public=False, data={"holder": holder})
    return app


# --- staff: the steps -----------------------------------------------------------------------------------------------


def _step(verb: str, *, application_id: int, actor: Actor, comment: str) -> Application:
    comment = _comment(comment, required=verb in COMMENT_REQUIRED)
    with transaction.atomic():
        app = _lock(application_id)
        service = _service(app)
        spec = service.action(verb)
        zh, en = VERB_LABELS[verb]
        block = selectors.action_block(application=app, service=service, verb=verb, actor=actor)  # as offered
        if spec is None or block == "applications.action_not_offered":
            raise Conflict("applications.action_not_offered", f"本事项没有“{zh}”环节",
                           f"This service has no “{en}” step")
        if block == "core.forbidden":
            raise forbidden()
        if block == "applications.own_application":
            _not_own(app, actor)
        if block == "applications.state_changed":
            raise Conflict("applications.state_changed",
                           f"该申请当前状态为“{STATUS_ZH[app.status]}”，不能{zh}（可能已被他人处理）",
                           f"The application is {STATUS_EN[app.status].lower()}, so “{en}” is not possible "
                           "(someone may have dealt with it already)",
                           field="action")
        if block == rules.SEPARATION_OF_DUTIES:
            refusal = selectors.duty_refusal(application=app, service=service, verb=verb, actor=actor)
            assert refusal is not None  # the same rule (rules.duty_conflict) said no
            raise Forbidden(refusal.code, refusal.zh, refusal.en)
        if block == "applications.claimed":
            raise _held_by(app)
        old = _state(app)
        before = app.status
        now = clock.now()
        approval_fee = 0
        app.status = spec.to
        app.updated_at = now
        app.claimed_by_id, app.claimed_at = None, None
        notify: tuple[str, bool] | None = None
        if verb == "accept":
            app.accepted_at, app.accepted_by_id = now, actor.id
            app.due_at = rules.due_at_for(now, service.time_limit_days)
            notify = ("application.accepted", False)
        elif verb == "refuse":
            app.decided_at, app.decision_comment = now, comment
            notify = ("application.refused", True)
        elif verb == "review":
            app.reviewed_by_id = actor.id
        elif verb == "approve":
            app.decided_at, app.approved_by_id, app.decision_comment = now, actor.id, comment
            approval_fee = _approve_or_charge(app, service, actor, from_status=before)
            notify = ("application.approved", True) if not approval_fee else None
        elif verb == "reject":
            app.decided_at, app.approved_by_id, app.decision_comment = now, actor.id, comment
            notify = ("application.rejected", True)
        elif verb == "send_back":
            app.returned_from = before
            if app.due_at is not None and before != S.SUBMITTED:
                app.paused_workdays = rules.workdays_left(now, app.due_at)
            notify = ("application.returned", True)
        elif verb == "confirm":
            app.post_review_pending, app.reviewed_by_id = False, actor.id
        elif verb == "revoke":
            app.post_review_pending, app.reviewed_by_id, app.decision_comment = False, actor.id, comment
            for use in service.outputs:
                spec_o = hooks.OUTPUTS[use.name]
                if spec_o.revoke is not None and use.name in (app.outcome or {}):
                    spec_o.revoke(application=app, actor=actor, outcome=app.outcome[use.name])
            notify = ("application.revoked", True)
        # after the outputs are undone (a revoke hook that fails rolls everything back before money moves): the fee
        # goes back through the channel
        fee = (_fee_return(app, actor=actor, reason=f"{zh}，规费退回 {en}: fee returned")
               if app.status in rules.FEE_RETURNED_IN else {})
        app.save()
        _record(app, action=verb, actor=actor, from_status=before, comment=comment, old=old,
                data={**fee, **({"fee_fen": approval_fee} if verb == "approve" and approval_fee else {})})
        if verb == "approve" and approval_fee:
            _notify_approved(app, approval_fee)
        if notify is not None:
            template, sms = notify
            extra = {"comment": comment} if template in ("application.refused", "application.rejected",
                                                         "application.returned", "application.revoked") else {}
            if template == "application.accepted":
                extra = {"due": timezone.localtime(app.due_at).strftime("%Y-%m-%d")}
            _notify(app, template, sms=sms, **extra)
    return app


def application_accept(*, application_id: int, actor: Actor, comment: str = "") -> Application:
    """受理: the time limit starts (working days from today)."""
    return _step("accept", application_id=application_id, actor=actor, comment=comment)


def application_refuse(*, application_id: int, actor: Actor, comment: str) -> Application:
    """不予受理 (a reason is required and sent to the applicant)."""
    return _step("refuse", application_id=application_id, actor=actor, comment=comment)


def application_review(*, application_id: int, actor: Actor, comment: str = "") -> Application:
    """审核: the reviewer's opinion; the application waits for approval."""
    return _step("review", application_id=application_id, actor=actor, comment=comment)


def application_approve(*, application_id: int, actor: Actor, comment: str = "") -> Application:
    """批准 (never by whoever accepted or reviewed it, unless the service allows): the outputs run in the same
    transaction."""
    return _step("approve", application_id=application_id, actor=actor, comment=comment)


def application_reject(*, application_id: int, actor: Actor, comment: str) -> Application:
    """不予批准 (never by whoever accepted or reviewed it, unless the service allows; a reason is required)."""
    return _step("reject", application_id=application_id, actor=actor, comment=comment)


def application_send_back(*, application_id: int, actor: Actor, comment: str) -> Application:
    """退回补正: back to the applicant with the reasons; the time limit pauses."""
    return _step("send_back", application_id=application_id, actor=actor, comment=comment)


def application_confirm(*, application_id: int, actor: Actor, comment: str = "") -> Application:
    """The later review of an approve-first application agrees."""
    return _step("confirm", application_id=application_id, actor=actor, comment=comment)


def application_revoke(*, application_id: int, actor: Actor, comment: str) -> Application:
    """The later review of an approve-first application disagrees: revoked, outputs undone where possible."""
    return _step("revoke", application_id=application_id, actor=actor, comment=comment)


STAFF_ACTIONS = {"accept": application_accept, "refuse": application_refuse, "review": application_review,
                 "approve": application_approve, "reject": application_reject, "send_back": application_send_back,
                 "confirm": application_confirm, "revoke": application_revoke}


def application_act(*, application_id: int, action: str, actor: Actor, comment: str = "") -> Application:
    """Any staff step by name (the console's and API's one entry point)."""
    fn = STAFF_ACTIONS.get(str(action))
    if fn is None:
        raise InvalidInput("applications.unknown_action", "未知的办理操作", "Unknown action", field="action")
    return fn(application_id=application_id, actor=actor, comment=comment)


# --- time limits: warnings and escalation -------------------------------------------------------------------------


def _staff_with(permission: str) -> Iterable:
    """The active staff accounts whose role holds ``permission``, by id."""
    return staff_accounts().filter(role__in=PERMISSIONS[permission], is_active=True).order_by("pk")


def _due(app: Application) -> dict[str, str]:
    assert app.due_at is not None  # the sweeps pick applications by their due_at, never cleared once set
    return {"due_at": app.due_at.isoformat()}


def applications_warn_due_soon(*, batch: int = 500) -> int:
    """Mark open applications whose time limit ends within their service's ``due_soon_days`` working days (once
    each), record it in their history and tell the member of staff holding each. Returns how many were marked."""
    now = clock.now()
    thresholds: dict[int, object] = {}
    marked = 0
    for service in catalogue().services.values():
        threshold = thresholds.setdefault(service.due_soon_days, rules.due_soon_threshold(now, service.due_soon_days))
        while True:
            ids = list(Application.objects.filter(
                service_code=service.code, status__in=STAFF_STATES, due_at__gte=now, due_at__lte=threshold,
                due_soon_warned_at__isnull=True, overdue_at__isnull=True).order_by("due_at").values_list(
                "pk", flat=True)[:batch])
            if not ids:
                break
            with transaction.atomic():
                apps = lock_rows(Application.objects.filter(
                    pk__in=ids, due_soon_warned_at__isnull=True, status__in=STAFF_STATES), related=("claimed_by",))
                Application.objects.filter(pk__in=[a.pk for a in apps]).update(due_soon_warned_at=now)
                ApplicationEvent.objects.bulk_create([
                    ApplicationEvent(application=a, action="due_soon", from_status=a.status, to_status=a.status,
                                     actor_id=None, actor_label="applications.sweep", actor_role="system",
                                     public=False, data=_due(a), at=now) for a in apps])
                for a in apps:
                    if a.claimed_by is not None:
                        _staff_notice(a.claimed_by, "application.due_soon", count=1, references=a.reference)
                if apps:
                    audit_record(actor=SYSTEM, action="application.due_soon", object_type="applications.application",
                                 object_id=f"batch:{apps[0].pk}", new={"ids": [a.pk for a in apps]})
                marked += len(apps)
    return marked


def _staff_notice(user, template: str, **params) -> None:
    try:
        message_send(template=template, user=user, channels=("inbox",), params=params)
    except NotificationError:
        log.exception("could not send %s to staff %s", template, user.pk)


def applications_escalate_overdue(*, batch: int = 500) -> int:
    """The overdue sweep: every application still with staff after its time limit is marked overdue (once: a
    second run finds nothing new), its history records the escalation, and the approvers (application.approve)
    get one inbox message per batch listing the references. Returns how many were escalated."""
    now = clock.now()
    total = 0
    while True:
        ids = list(Application.objects.filter(status__in=STAFF_STATES, due_at__lt=now, overdue_at__isnull=True)
                   .order_by("due_at").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            apps = lock_rows(Application.objects.filter(
                pk__in=ids, overdue_at__isnull=True, status__in=STAFF_STATES, due_at__lt=now))
            if not apps:
                continue
            Application.objects.filter(pk__in=[a.pk for a in apps]).update(overdue_at=now)
            ApplicationEvent.objects.bulk_create([
                ApplicationEvent(application=a, action="escalate", from_status=a.status, to_status=a.status,
                                 actor_id=None, actor_label="applications.sweep", actor_role="system", public=False,
                                 data=_due(a), at=now) for a in apps])
            audit_record(actor=SYSTEM, action="application.escalate", object_type="applications.application",
                         object_id=f"batch:{apps[0].pk}", new={"ids": [a.pk for a in apps]})
            refs = [a.reference for a in apps if a.reference]
            listed = "、".join(refs[:5]) + (f" 等{len(refs)}件" if len(refs) > 5 else "")
            for user in _staff_with("application.approve"):
                _staff_notice(user, "application.overdue", count=len(apps), references=listed or "-")
            total += len(apps)
    return total


# --- delivery of the result ------------------------------------------------------------------------------------------

def application_delivery_update(*, application_id: int, shipment_id: int, status: str, tracking_number: str) -> None:
    """The post reports progress of the result's shipment: keep the tracking number in the outcome and show the
    step on the applicant's timeline (no status change: the application is already approved)."""
    with transaction.atomic():
        app = lock_row(Application, application_id)
        if app is None:
            return
        outcome = dict(app.outcome or {})
        post = dict(outcome.get("post") or {})
        if post.get("shipment_id") not in (None, shipment_id):
            return
        if post.get("status") == status and post.get("tracking_number", "") == (tracking_number or ""):
            return  # nothing new
        post.update(shipment_id=shipment_id, status=status, tracking_number=tracking_number or "")
        outcome["post"] = post
        app.outcome = outcome
        app.save(update_fields=["outcome"])
        zh, en = delivery_label(status)
        ApplicationEvent.objects.create(
            application=app, action="delivery", from_status=app.status, to_status=app.status, actor_id=None,
            actor_label="postal", actor_role="system",
            comment=zh + (f" · {tracking_number}" if tracking_number else ""), public=True,
            data={"status": status, "tracking_number": tracking_number or ""}, at=clock.now())
