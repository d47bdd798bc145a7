"""The workflow engine: every transition, permission, separation of duties, send-back pause, auto-approval,
approve-first-review-later, outputs and notifications."""
import datetime as dt

import pytest

from jiaoguan.applications import rules, services
from jiaoguan.applications.models import Application, ApplicationEvent, Material
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.notifications.models import Message
from tests.applications.support import (
    GIF,
    PDF,
    accepted,
    actor,
    citizen,
    draft,
    sample_data,
    staff,
    submitted,
)

pytestmark = pytest.mark.django_db
S = Application.Status


def actions(app):
    return [e.action for e in ApplicationEvent.objects.filter(application=app).order_by("at", "pk")]


def inbox(user):
    return list(Message.objects.filter(recipient=user, channel="inbox").order_by("pk")
                .values_list("template_code", flat=True))


def test_full_path_with_review(workday):
    user, clerk, reviewer, approver = citizen(), staff("clerk"), staff("clerk"), staff("approver")
    app = submitted(user)
    assert app.status == S.SUBMITTED and rules.reference_valid(app.reference)
    assert app.reference.startswith("20261123")
    app = services.application_accept(application_id=app.pk, actor=actor(clerk))
    assert app.status == S.UNDER_REVIEW and app.accepted_by_id == clerk.pk
    # 3 working days from Monday 2026-11-23: Thursday 26th, end of day
    assert app.due_at == rules.end_of_day(dt.date(2026, 11, 26))
    app = services.application_review(application_id=app.pk, actor=actor(reviewer), comment="材料齐全")
    assert app.status == S.REVIEWED and app.reviewed_by_id == reviewer.pk
    app = services.application_approve(application_id=app.pk, actor=actor(approver))
    assert app.status == S.APPROVED and app.approved_by_id == approver.pk and app.decided_at is not None
    assert actions(app) == ["draft", "submit", "accept", "review", "approve"]
    audited = set(AuditEntry.objects.filter(object_type="applications.application", object_id=str(app.pk))
                  .values_list("action", flat=True))
    assert {"application.submit", "application.accept", "application.review", "application.approve"} <= audited
    assert inbox(user) == ["application.submitted", "application.accepted", "application.approved"]
    assert Message.objects.filter(recipient=user, channel="sms", template_code="application.approved").exists()
    # held materials recorded instead of asked for (免提交)
    held = Material.objects.filter(application=app, kind="held")
    assert {m.slot for m in held} == {"identity", "licence"}


def test_standard_preset_accept_then_approve(workday):
    clerk, approver = staff("clerk"), staff("approver")
    app = accepted(clerk, service="t_standard")
    with pytest.raises(Conflict) as e:
        services.application_review(application_id=app.pk, actor=actor(clerk))
    assert e.value.code == "applications.action_not_offered"
    app = services.application_approve(application_id=app.pk, actor=actor(approver), comment="同意")
    assert app.status == S.APPROVED


def test_refuse_and_reject_need_reasons_and_tell_the_applicant(workday):
    user, clerk, approver = citizen(), staff("clerk"), staff("approver")
    app = submitted(user, "t_standard")
    with pytest.raises(InvalidInput) as e:
        services.application_refuse(application_id=app.pk, actor=actor(clerk), comment=" ")
    assert e.value.code == "applications.comment_required"
    app = services.application_refuse(application_id=app.pk, actor=actor(clerk), comment="不属于本机关受理范围")
    assert app.status == S.REFUSED and app.decision_comment == "不属于本机关受理范围"
    assert "application.refused" in inbox(user)
    app2 = accepted(clerk, user, "t_standard")
    app2 = services.application_reject(application_id=app2.pk, actor=actor(approver), comment="不符合条件")
    assert app2.status == S.REJECTED
    assert Message.objects.filter(recipient=user, channel="sms", template_code="application.rejected").exists()


def test_acceptor_cannot_approve_and_is_told(workday):
    both = staff("approver")  # an approver may also accept, but never decide what they accepted
    app = accepted(both, service="t_standard")
    with pytest.raises(Forbidden) as e:
        services.application_approve(application_id=app.pk, actor=actor(both))
    assert e.value.code == "applications.separation_of_duties"
    assert "受理与审批须由不同人员办理" in e.value.zh and "different people" in e.value.en
    with pytest.raises(Forbidden):
        services.application_reject(application_id=app.pk, actor=actor(both), comment="x")
    other = staff("approver")
    assert services.application_approve(application_id=app.pk, actor=actor(other)).status == S.APPROVED


def test_permissions_per_step(workday):
    clerk, auditor = staff("clerk"), staff("auditor")
    app = submitted(service="t_standard")
    for who in (auditor, citizen()):
        with pytest.raises(Forbidden):
            services.application_accept(application_id=app.pk, actor=actor(who))
    app = services.application_accept(application_id=app.pk, actor=actor(clerk))
    with pytest.raises(Forbidden):  # a clerk does not hold application.approve
        services.application_approve(application_id=app.pk, actor=actor(staff("clerk")))


def test_applicant_never_acts_as_staff_on_own_application(workday):
    from jiaoguan.identity.models import User

    user = citizen()
    app = submitted(user, "t_standard")
    User.objects.filter(pk=user.pk).update(role="clerk")  # the applicant later joins the staff
    user.refresh_from_db()
    with pytest.raises(Forbidden) as e:
        services.application_accept(application_id=app.pk, actor=actor(user))
    assert e.value.code == "applications.own_application"
    with pytest.raises(Forbidden):
        services.application_claim(application_id=app.pk, actor=actor(user))


def test_state_conflict_is_409(workday):
    clerk = staff("clerk")
    app = accepted(clerk, service="t_standard")
    with pytest.raises(Conflict) as e:
        services.application_accept(application_id=app.pk, actor=actor(staff("clerk")))
    assert e.value.code == "applications.state_changed" and e.value.status == 409


def test_claim_and_release(workday):
    a, b = staff("clerk"), staff("clerk")
    app = submitted(service="t_standard")
    services.application_claim(application_id=app.pk, actor=actor(a))
    services.application_claim(application_id=app.pk, actor=actor(a))  # again: fine
    with pytest.raises(Conflict) as e:
        services.application_claim(application_id=app.pk, actor=actor(b))
    assert e.value.code == "applications.claimed" and a.display_name in e.value.zh
    with pytest.raises(Conflict):  # b cannot act on what a holds
        services.application_accept(application_id=app.pk, actor=actor(b))
    with pytest.raises(Conflict):
        services.application_release(application_id=app.pk, actor=actor(b))
    services.application_release(application_id=app.pk, actor=actor(a))
    app = services.application_accept(application_id=app.pk, actor=actor(b))
    assert app.claimed_by_id is None  # a step ends the claim: the next stage is someone else's
    assert "claim" in actions(app) and "release" in actions(app)
    # a supervisor can free a stuck claim
    services.application_claim(application_id=app.pk, actor=actor(staff("approver")))
    boss = staff("approver")
    assert services.application_release(application_id=app.pk, actor=actor(boss), force=True).claimed_by_id is None
    with pytest.raises(Forbidden):  # nothing this auditor could do here
        services.application_claim(application_id=app.pk, actor=actor(staff("auditor")))


def test_send_back_pauses_the_time_limit_and_resubmit_resumes(workday, clock):
    user, clerk, approver = citizen(), staff("clerk"), staff("approver")
    app = accepted(clerk, user, "t_standard")  # Mon 23rd: due Thu 26th
    clock.freeze(dt.datetime(2026, 11, 24, 10, 0))  # Tue: 2 working days left (Wed, Thu)
    app = services.application_send_back(application_id=app.pk, actor=actor(approver), comment="请补充联系电话")
    assert app.status == S.RETURNED and app.paused_workdays == 2 and app.returned_from == S.UNDER_REVIEW
    assert "application.returned" in inbox(user)
    with pytest.raises(Conflict):
        services.application_approve(application_id=app.pk, actor=actor(approver))
    clock.freeze(dt.datetime(2026, 11, 30, 9, 0))  # the applicant answers the next Monday
    services.application_draft_update(user=user, application_id=app.pk, data={"phone": "13900001111"})
    app = services.application_resubmit(user=user, application_id=app.pk, comment="已补充")
    assert app.status == S.UNDER_REVIEW and app.paused_workdays is None
    assert rules.end_of_day(dt.date(2026, 12, 2)) == app.due_at  # Tue 1st, Wed 2nd
    assert actions(app)[-2:] == ["send_back", "resubmit"]
    assert services.application_approve(application_id=app.pk, actor=actor(approver)).status == S.APPROVED


def test_send_back_before_acceptance_returns_to_acceptance(workday):
    user, clerk = citizen(), staff("clerk")
    app = submitted(user, "t_standard")
    app = services.application_send_back(application_id=app.pk, actor=actor(clerk), comment="号牌填写有误")
    assert app.paused_workdays is None
    with pytest.raises(InvalidInput):  # the correction is validated like a submission: nothing changes
        services.application_draft_update(user=user, application_id=app.pk, data={"plate": "bad"})
        services.application_resubmit(user=user, application_id=app.pk)
    app.refresh_from_db()
    assert app.status == S.RETURNED and app.form()["plate"] == "bad"  # kept, not lost
    services.application_draft_update(user=user, application_id=app.pk, data={"plate": "粤BC7788"})
    app = services.application_resubmit(user=user, application_id=app.pk)
    assert app.status == S.SUBMITTED and app.due_at is None


def test_auto_approval_issues_the_e_permit(workday):
    from jiaoguan.credentials.models import Credential

    user = citizen()
    app = submitted(user, "t_auto", {"purpose": "出行"})
    assert app.status == S.APPROVED and app.auto_decided and not app.post_review_pending
    assert app.due_at is not None and app.decided_at <= app.due_at
    c = Credential.objects.get(pk=app.outcome["e_permit"]["credential_id"])
    assert c.holder_id == user.pk and c.source_id == str(app.pk)
    assert c.valid_until == dt.date(2026, 11, 23) + dt.timedelta(days=30)
    assert actions(app) == ["draft", "submit", "accept", "approve"]
    assert "application.approved" in inbox(user)


def test_auto_approval_waits_for_staff_when_an_output_fails(workday, monkeypatch):
    from jiaoguan.applications import hooks
    from jiaoguan.core.errors import DomainError

    def broken(**kw):
        raise DomainError("applications.output_unavailable", "不可用", "unavailable", status=503)

    monkeypatch.setitem(hooks.OUTPUTS, "e_permit", hooks.OutputSpec("e_permit", broken))
    app = submitted(service="t_auto", data={"purpose": "出行"})
    assert app.status == S.SUBMITTED and not app.auto_decided and app.accepted_at is None
    app.refresh_from_db()
    assert app.status == S.SUBMITTED


def test_approve_first_then_confirmed(workday):
    user, reviewer = citizen(), staff("clerk")
    app = submitted(user, "t_urgent", {"kind": "emergency"})
    assert app.status == S.APPROVED and app.post_review_pending and "e_permit" in app.outcome
    with pytest.raises(Conflict):  # an approve-first application is not approved twice
        services.application_approve(application_id=app.pk, actor=actor(staff("approver")))
    app = services.application_confirm(application_id=app.pk, actor=actor(reviewer), comment="复核无误")
    assert app.status == S.APPROVED and not app.post_review_pending
    with pytest.raises(Conflict):
        services.application_revoke(application_id=app.pk, actor=actor(reviewer), comment="x")


def test_approve_first_then_revoked_undoes_the_permit(workday):
    from jiaoguan.credentials.models import Credential

    user, reviewer = citizen(), staff("clerk")
    app = submitted(user, "t_urgent", {"kind": "emergency"})
    app = services.application_revoke(application_id=app.pk, actor=actor(reviewer), comment="并非抢险作业")
    assert app.status == S.REVOKED
    assert Credential.objects.get(pk=app.outcome["e_permit"]["credential_id"]).status == "revoked"
    assert "application.revoked" in inbox(user)


def test_ordinary_category_is_not_approved_first(workday):
    app = submitted(service="t_urgent", data={"kind": "ordinary"})
    assert app.status == S.SUBMITTED and not app.post_review_pending


def test_sample_urgent_category_uses_approve_first(workday):
    app = submitted(data=sample_data(urgency="urgent"))
    assert app.status == S.APPROVED and app.post_review_pending


def test_eligibility_refusal_keeps_the_draft(workday):
    user = citizen(verified=False)
    app = draft(user)
    with pytest.raises(services.Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert {r.code for r in e.value.reasons} == {"material.identity", "account.not_verified"}
    assert "实名认证" in e.value.zh and "real-name" in e.value.en
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.reference is None and app.form()["plate"] == "粤BA1234"
    assert Material.objects.filter(application=app, kind="upload").count() == 1


def test_one_open_application_rule(workday):
    user = citizen()
    submitted(user)
    second = draft(user)
    with pytest.raises(services.Ineligible) as e:
        services.application_submit(user=user, application_id=second.pk)
    assert e.value.reasons[0].code == "application.already_open"


def test_form_and_material_errors_listed_together(workday):
    user = citizen(licence=False)  # no licence held: it must be uploaded instead
    app = draft(user, data=sample_data(plate="粤I0000", trips="11", contact_phone=""), route_map=False)
    with pytest.raises(InvalidInput) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert set(e.value.fields) == {"plate", "trips", "contact_phone", "licence", "route_map"}
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["trips"] == "11"


def test_personal_fields_are_encrypted_at_rest(workday):
    from django.db import connection

    app = submitted(data=sample_data(driver_id_number="11010519491231002X"))
    with connection.cursor() as cur:
        cur.execute("SELECT form_data, form_personal FROM applications_application WHERE id = %s", [app.pk])
        plain, secret = cur.fetchone()
    assert "13800138000" not in str(plain) and "11010519491231002X" not in str(plain)
    assert "13800138000" not in secret and secret.startswith("enc1:")
    assert app.form()["driver_id_number"] == "11010519491231002X"
    from jiaoguan.applications.selectors import form_display

    shown = dict((n, v) for n, _label, v in form_display(application=app))
    assert shown["contact_phone"] == "138****8000" and shown["driver_id_number"] == "1101**********002X"


def test_withdraw(workday):
    user = citizen()
    app = submitted(user, "t_standard")
    app = services.application_withdraw(user=user, application_id=app.pk, comment="不需要了")
    assert app.status == S.WITHDRAWN
    with pytest.raises(Conflict):
        services.application_withdraw(user=user, application_id=app.pk)
    with pytest.raises(NotFound):  # someone else's application is a 404
        services.application_withdraw(user=citizen(), application_id=app.pk)


def test_drafts_only_for_declared_applicants_and_not_staff(workday):
    from jiaoguan.identity.models import Enterprise, User

    ent = Enterprise.objects.create(name="顺达物流", uscc="91440300MA5F0TL61B", created_at=workday.now())
    company = User.objects.create_user(username="ent1", role="enterprise", enterprise=ent)
    with pytest.raises(Forbidden) as e:
        services.application_draft_create(user=company, service_code="t_standard")
    assert e.value.code == "applications.applicant_kind"
    assert services.application_draft_create(user=company, service_code="t_auto").enterprise_id == ent.pk
    with pytest.raises(Forbidden):
        services.application_draft_create(user=staff("clerk"), service_code="t_standard")
    with pytest.raises(NotFound):
        services.application_draft_create(user=citizen(), service_code="nope")


def test_uploads_checked_by_content_size_and_slot(workday):
    user = citizen()
    app = draft(user, route_map=False)
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="map.pdf", content=GIF)
    assert e.value.code == "applications.file_type"
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="a.pdf",
                                 content=PDF + bytes(600 * 1024))
    assert e.value.code == "applications.file_too_large"
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="identity", filename="id.pdf", content=PDF)
    assert e.value.code == "applications.unknown_slot"  # held by the platform: never uploaded
    m = services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="x.png.exe",
                                 content=b"\x89PNG\r\n\x1a\n" + bytes(10))
    assert m.content_type == "image/png" and m.file.name.endswith(".png") and len(m.sha256) == 64
    services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="y.pdf", content=PDF)
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=user, application_id=app.pk, slot="route_map", filename="z.pdf", content=PDF)
    assert e.value.code == "applications.too_many_files"
    services.material_remove(user=user, application_id=app.pk, material_id=m.pk)
    assert Material.objects.filter(application=app).count() == 1


def test_history_is_append_only(workday):
    app = submitted(service="t_standard")
    e = ApplicationEvent.objects.filter(application=app).first()
    e.comment = "changed"
    with pytest.raises(ValueError):
        e.save()
    with pytest.raises(ValueError):
        e.delete()


def test_act_dispatches_by_name(workday):
    clerk = staff("clerk")
    app = submitted(service="t_standard")
    assert services.application_act(application_id=app.pk, action="accept", actor=actor(clerk)).status == S.UNDER_REVIEW
    with pytest.raises(InvalidInput):
        services.application_act(application_id=app.pk, action="delete", actor=actor(clerk))


def test_approval_sends_the_result_by_post(workday, django_capture_on_commit_callbacks):
    from jiaoguan.postal.models import Shipment

    user, clerk, approver = citizen(), staff("clerk"), staff("approver")
    app = accepted(clerk, user, "t_post", {"recipient_name": "王小明", "recipient_phone": "13912345678",
                                           "address": "广东省深圳市福田区福华一路1号"})
    with django_capture_on_commit_callbacks(execute=True):
        app = services.application_approve(application_id=app.pk, actor=actor(approver))
    shipment = Shipment.objects.get(pk=app.outcome["post"]["shipment_id"])
    assert shipment.source_id == str(app.pk) and shipment.item_zh == "机动车驾驶证"
    assert app.outcome["post"]["reference"] == shipment.reference
    # the post's progress reaches the applicant's timeline (outbox event postal.shipment_changed)
    from jiaoguan.applications.selectors import timeline

    app.refresh_from_db()
    deliveries = [e for e in timeline(application=app) if e.action == "delivery"]
    assert deliveries, "the shipment's booking should show on the timeline"
    shipment.refresh_from_db()
    assert app.outcome["post"]["status"] == shipment.status
    assert app.outcome["post"]["tracking_number"] == (shipment.tracking_number or "")
