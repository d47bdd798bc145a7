"""The console's application pages: the work queues, one application (masked form, materials, history, the steps
offered), claim/release, each step through the engine (its refusals shown on the page), material downloads,
the access audit, the statistics — and who may see what (clerk, approver, auditor, administrator, citizen)."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import CATALOGUE_DIR, catalogue_load, catalogue_use
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.core.models import AuditEntry
from tests.applications.support import TEST_CATALOGUE, accepted, actor, citizen, staff, submitted
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db

BASE = "/console/applications/"


@pytest.fixture(autouse=True)
def test_catalogue():
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE)) as cat:
        yield cat


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def workday(clock):
    """Monday 2026-11-23 10:00, a working day: time limits are deterministic."""
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    return clock


def login(client, role: str):
    user = staff(role)
    client.force_login(user)
    return user


def access_rows(app):
    return AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS, object_type="applications.application",
                                     object_id=str(app.pk))


# --- who may ----------------------------------------------------------------------------------------------------

def test_anonymous_goes_to_the_console_login(client):
    r = client.get(BASE)
    assert r.status_code == 302 and r["Location"].startswith("/console/login/?next=")


def test_citizens_are_refused_everywhere(client):
    user = citizen()
    app = submitted(user, "sample")
    m = app.materials.filter(kind="upload").first()
    client.force_login(citizen())
    for url in (BASE, f"{BASE}statistics/", f"{BASE}{app.pk}/", f"{BASE}{app.pk}/materials/{m.pk}/"):
        assert client.get(url).status_code == 403, url
    for url in (f"{BASE}{app.pk}/claim/", f"{BASE}{app.pk}/act/"):
        assert client.post(url, {"action": "accept"}).status_code == 403, url
    app.refresh_from_db()
    assert app.status == "submitted" and app.claimed_by_id is None
    assert not access_rows(app).exists()


def test_auditor_sees_statistics_only(client):
    app = submitted(service="t_standard")
    login(client, "auditor")
    assert client.get(f"{BASE}statistics/").status_code == 200
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}{app.pk}/").status_code == 403
    assert client.post(f"{BASE}{app.pk}/act/", {"action": "accept"}).status_code == 403
    assert Application.objects.get(pk=app.pk).status == "submitted"


def test_clerk_may_not_see_statistics(client):
    login(client, "clerk")
    assert client.get(f"{BASE}statistics/").status_code == 403


def test_admin_sees_applications_but_is_offered_no_step(client):
    app = submitted(service="t_standard")
    login(client, "admin")
    r = client.get(f"{BASE}{app.pk}/")
    assert r.status_code == 200 and r.context["offered"] == []
    assert client.post(f"{BASE}{app.pk}/act/", {"action": "accept"}).status_code == 403
    assert Application.objects.get(pk=app.pk).status == "submitted"


# --- the queues -------------------------------------------------------------------------------------------------

def test_clerk_queue_lists_waiting_applications_masked(client):
    app = submitted(citizen(), "t_standard")
    other = submitted(service="sample")
    login(client, "clerk")
    r = client.get(BASE)
    assert r.status_code == 200 and r.context["queue"] == "acceptance"
    body = text(r)
    assert app.reference in body and other.reference in body
    assert "王*明" in body and "王小明" not in body  # the applicant, masked
    assert "测试标准事项" in body and "受理后起算" in body
    counts = {t["name"]: t["count"] for t in r.context["tabs"]}
    assert counts["acceptance"] == 2 and counts["approval"] == 0
    # the service filter
    r = client.get(BASE, {"queue": "acceptance", "service": "t_standard"})
    assert [row["a"].pk for row in r.context["rows"]] == [app.pk]
    assert {t["name"]: t["count"] for t in r.context["tabs"]}["acceptance"] == 1
    assert "service=t_standard" in r.context["tabs"][0]["url"]


def test_unknown_queue_or_service_is_a_400_with_the_default_queue(client):
    login(client, "clerk")
    assert client.get(BASE, {"queue": "nope"}).status_code == 400
    r = client.get(BASE, {"service": "<script>"})
    assert r.status_code == 400 and r.context["queue"] == "acceptance"


def test_approver_queue_due_dates_and_overdue_in_red(client, workday):
    clerk = staff("clerk")
    soon = accepted(clerk, service="t_standard")  # due Thu 2026-11-26
    approver = login(client, "approver")
    r = client.get(BASE)
    assert r.context["queue"] == "approval"
    assert "2026-11-26" in text(r) and "剩 3 个工作日" in text(r)
    workday.freeze(dt.datetime(2026, 11, 27, 9, 0))
    r = client.get(BASE, {"queue": "overdue"})
    assert [row["a"].pk for row in r.context["rows"]] == [soon.pk]
    assert '<span class="due-late">已超期</span>' in r.content.decode()
    r = client.get(BASE, {"queue": "due_soon"})
    assert r.context["rows"] == []
    assert approver.pk  # the approver sees it: approval is theirs


def test_paging(client):
    for _ in range(3):
        submitted(service="t_standard")
    login(client, "clerk")
    from jiaoguan.console.applications import views as applications_views

    old = applications_views.PAGE
    applications_views.PAGE = 2
    try:
        r = client.get(BASE, {"queue": "acceptance"})
        first = [row["a"].pk for row in r.context["rows"]]
        assert len(first) == 2 and "after=" in r.context["next_url"] and r.context["first_url"] == ""
        r = client.get(r.context["next_url"])
        assert len(r.context["rows"]) == 1 and r.context["next_url"] == "" and r.context["first_url"]
        assert r.context["rows"][0]["a"].pk not in first
        r = client.get(BASE, {"queue": "acceptance", "after": "not-a-cursor"})  # edited by hand: the first page
        assert r.status_code == 400 and [row["a"].pk for row in r.context["rows"]] == first
        assert "翻页位置无效" in r.content.decode()
    finally:
        applications_views.PAGE = old


def test_english(client):
    app = submitted(service="t_standard")
    login(client, "clerk")
    body = text(client.get(BASE, **EN))
    assert "Waiting for acceptance" in body and "Test standard service" in body and "Claim" in body
    body = text(client.get(f"{BASE}{app.pk}/", **EN))
    assert "Application form" in body and "History" in body and "Send back, Refuse: a reason is required" in body
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "refuse"}, **EN)
    assert r.status_code == 422 and "This could not be done" in text(r) and "Give the reason" in text(r)


# --- one application ----------------------------------------------------------------------------------------------

def test_application_page_masks_and_writes_the_access_audit(client):
    app = submitted(citizen(), "t_standard", {"plate": "粤BA1234", "phone": "13912345678"})
    clerk = login(client, "clerk")
    r = client.get(f"{BASE}{app.pk}/")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = text(r)
    assert "13912345678" not in body and "139****5678" in body
    assert "王*明" in body and "粤BA1234" in body
    assert "提交申请" in body  # the history
    assert [o["verb"] for o in r.context["offered"]] == ["accept", "send_back", "refuse"]
    row = access_rows(app).get()
    assert row.actor_id == clerk.pk and row.action == "person.view" and row.subject_person_id == app.applicant.person_id


def test_missing_application_is_404(client):
    login(client, "clerk")
    assert client.get(f"{BASE}999999/").status_code == 404
    assert client.post(f"{BASE}999999/act/", {"action": "accept"}).status_code == 404
    assert client.post(f"{BASE}999999/claim/").status_code == 404


def test_clerk_accepts_and_is_not_offered_approval(client):
    app = submitted(service="t_standard")
    clerk = login(client, "clerk")
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "accept", "comment": "材料齐全"})
    assert r.status_code == 302 and r["Location"] == f"{BASE}{app.pk}/"
    app.refresh_from_db()
    assert app.status == "under_review" and app.accepted_by_id == clerk.pk and app.due_at is not None
    r = client.get(r["Location"])
    body = text(r)
    assert f"申请 {app.reference} 已受理" in body and "材料齐全" in body
    verbs = [o["verb"] for o in r.context["offered"]]
    assert "approve" not in verbs and "reject" not in verbs  # clerks do not approve (t_standard: accept → approve)
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "approve"})
    assert r.status_code == 403
    assert Application.objects.get(pk=app.pk).status == "under_review"


def test_the_acceptor_is_refused_when_approving(client):
    app = submitted(service="t_standard")
    approver = login(client, "approver")
    client.post(f"{BASE}{app.pk}/act/", {"action": "accept"})
    r = client.get(f"{BASE}{app.pk}/")
    # separation of duties: approve/reject are not offered to the acceptor, and the page says why
    verbs = [o["verb"] for o in r.context["offered"]]
    assert "approve" not in verbs and "reject" not in verbs
    assert r.context["duties"] and "受理与审批须由不同人员办理" in text(r)
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "approve", "comment": "同意"})  # a forged form
    assert r.status_code == 403
    body = text(r)
    assert "受理与审批须由不同人员办理" in body
    assert r.context["form"]["comment"].value() == "同意"  # what was typed is kept
    app.refresh_from_db()
    assert app.status == "under_review" and app.accepted_by_id == approver.pk
    # another approver approves
    client.force_login(staff("approver"))
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "approve", "comment": "同意"})
    assert r.status_code == 302
    assert Application.objects.get(pk=app.pk).status == "approved"


def test_one_approver_may_not_review_and_approve_a_relief_payout(client):
    """Separation of duties across levels (issue 10 item 2): the approver who reviewed a relief-fund payout is
    offered neither 批准 nor 不予批准 and is told why; a forged form is refused with the engine's message; the
    acceptor cannot review it either; a third person sees the buttons and approves."""
    from tests.applications.services.support import relief_application

    app = relief_application()
    clerk = login(client, "clerk")
    client.post(f"{BASE}{app.pk}/act/", {"action": "accept"})
    r = client.get(f"{BASE}{app.pk}/")
    assert "review" not in [o["verb"] for o in r.context["offered"]]
    assert "受理与审核须由不同人员办理" in text(r)
    reviewer = login(client, "approver")
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "review", "comment": "票据齐全"})
    assert r.status_code == 302
    r = client.get(f"{BASE}{app.pk}/")
    verbs = [o["verb"] for o in r.context["offered"]]
    assert "approve" not in verbs and "reject" not in verbs and "send_back" in verbs
    assert 'value="approve"' not in r.content.decode()
    assert "审核与审批须由不同人员办理" in text(r)
    r = client.get(f"{BASE}{app.pk}/", **EN)
    assert "Review and approval must be done by different people" in text(r)
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "approve", "comment": "同意"})  # a forged form
    assert r.status_code == 403 and "审核与审批须由不同人员办理" in text(r)
    app.refresh_from_db()
    assert app.status == "reviewed" and app.reviewed_by_id == reviewer.pk and app.accepted_by_id == clerk.pk
    login(client, "approver")
    r = client.get(f"{BASE}{app.pk}/")
    assert "approve" in [o["verb"] for o in r.context["offered"]] and not r.context["duties"]
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "approve"})
    assert r.status_code == 302 and Application.objects.get(pk=app.pk).status == "approved"


def test_a_reason_is_required_to_refuse(client):
    app = submitted(service="t_standard")
    login(client, "clerk")
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "refuse", "comment": "  "})
    assert r.status_code == 422
    assert "请填写理由" in text(r) and r.context["form"].errors["comment"]
    assert Application.objects.get(pk=app.pk).status == "submitted"
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "refuse", "comment": "不属于本事项办理范围"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.status == "refused" and app.decision_comment == "不属于本事项办理范围"


def test_send_back_with_reasons(client):
    clerk = staff("clerk")
    app = accepted(clerk, service="sample")
    login(client, "clerk")
    r = client.get(f"{BASE}{app.pk}/")
    assert [o["verb"] for o in r.context["offered"]] == ["review", "send_back"]
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "send_back", "comment": "路线图不清晰，请重新上传"})
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.status == "returned" and app.paused_workdays is not None
    body = text(client.get(f"{BASE}{app.pk}/"))
    assert "退回补正" in body and "路线图不清晰，请重新上传" in body and "计时暂停" in body


def test_someone_else_acted_first_is_a_clear_409(client):
    app = submitted(service="t_standard")
    other = staff("clerk")
    login(client, "clerk")
    client.get(f"{BASE}{app.pk}/")  # the page is open with "accept" on it …
    services.application_accept(application_id=app.pk, actor=actor(other))  # … and someone else accepts
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "accept"})
    assert r.status_code == 409
    assert "可能已被他人处理" in text(r)
    assert Application.objects.get(pk=app.pk).accepted_by_id == other.pk


def test_unknown_action_is_400(client):
    app = submitted(service="t_standard")
    login(client, "clerk")
    assert client.post(f"{BASE}{app.pk}/act/", {"action": "delete"}).status_code == 400
    assert client.get(f"{BASE}{app.pk}/act/").status_code == 405


# --- claims -------------------------------------------------------------------------------------------------------

def test_claim_and_release(client):
    app = submitted(service="t_standard")
    clerk = login(client, "clerk")
    r = client.post(f"{BASE}{app.pk}/claim/")
    assert r.status_code == 302
    app.refresh_from_db()
    assert app.claimed_by_id == clerk.pk
    r = client.get(f"{BASE}{app.pk}/")
    assert "由您办理中" in text(r) and "您已认领申请" in text(r)
    r = client.get(BASE, {"queue": "claimed"})
    assert [row["a"].pk for row in r.context["rows"]] == [app.pk]
    # someone else cannot claim or act, and is told who holds it
    client.force_login(staff("clerk"))
    r = client.post(f"{BASE}{app.pk}/claim/", follow=True)
    assert f"{clerk.display_name}正在办理" in text(r) or "正在办理" in text(r)
    r = client.post(f"{BASE}{app.pk}/act/", {"action": "accept"})
    assert r.status_code == 409 and clerk.display_name in text(r)
    # the holder releases
    client.force_login(clerk)
    client.post(f"{BASE}{app.pk}/release/")
    app.refresh_from_db()
    assert app.claimed_by_id is None


def test_an_approver_frees_someone_elses_claim(client):
    app = submitted(service="t_standard")
    clerk = staff("clerk")
    services.application_claim(application_id=app.pk, actor=actor(clerk))
    login(client, "clerk")
    r = client.get(f"{BASE}{app.pk}/")
    assert not r.context["can_force_release"]
    client.post(f"{BASE}{app.pk}/release/", {"force": "1"})
    assert Application.objects.get(pk=app.pk).claimed_by_id == clerk.pk
    login(client, "approver")
    r = client.get(f"{BASE}{app.pk}/")
    assert r.context["can_force_release"] and "强制释放认领" in text(r)
    client.post(f"{BASE}{app.pk}/release/", {"force": "1"})
    assert Application.objects.get(pk=app.pk).claimed_by_id is None


# --- approve first, review later --------------------------------------------------------------------------------

def test_post_review_confirm_and_revoke(client):
    first = submitted(service="t_urgent", data={"kind": "emergency"})
    second = submitted(service="t_urgent", data={"kind": "emergency"})
    login(client, "clerk")
    r = client.get(BASE, {"queue": "post_review"})
    assert {row["a"].pk for row in r.context["rows"]} == {first.pk, second.pk}
    r = client.get(f"{BASE}{first.pk}/")
    assert [o["verb"] for o in r.context["offered"]] == ["confirm", "revoke"]
    assert client.post(f"{BASE}{first.pk}/act/", {"action": "confirm"}).status_code == 302
    assert client.post(f"{BASE}{second.pk}/act/", {"action": "revoke"}).status_code == 422  # a reason is required
    assert client.post(f"{BASE}{second.pk}/act/", {"action": "revoke", "comment": "非抢险作业"}).status_code == 302
    assert Application.objects.get(pk=first.pk).status == "approved"
    assert Application.objects.get(pk=second.pk).status == "revoked"


# --- materials ------------------------------------------------------------------------------------------------------

def test_material_download_for_staff_only_and_audited(client):
    app = submitted(service="sample")
    m = app.materials.get(kind="upload")
    held = app.materials.filter(kind="held").first()
    url = f"{BASE}{app.pk}/materials/{m.pk}/"
    login(client, "clerk")
    r = client.get(f"{BASE}{app.pk}/")
    assert url in r.content.decode() and "/media/" not in r.content.decode()
    if held is not None:
        assert "平台已有，免提交" in text(r)
    r = client.get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
    assert r["Content-Type"] == "application/pdf" and r["Content-Disposition"].startswith("attachment")
    assert r["Cache-Control"] == "private, no-store" and r["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.filter(kind=AuditEntry.Kind.ACCESS, object_type="applications.material",
                                     object_id=str(m.pk)).count() == 1
    # wrong application, a held record (no file), or someone without the permission
    other = submitted(service="sample")
    assert client.get(f"{BASE}{other.pk}/materials/{m.pk}/").status_code == 404
    if held is not None:
        assert client.get(f"{BASE}{app.pk}/materials/{held.pk}/").status_code == 404
    login(client, "auditor")
    assert client.get(url).status_code == 403


def test_drafts_and_their_materials_are_not_shown(client):
    from tests.applications.support import draft

    app = draft(citizen(), "sample")
    m = app.materials.get(kind="upload")
    login(client, "approver")
    assert client.get(f"{BASE}{app.pk}/materials/{m.pk}/").status_code == 404
    assert client.get(f"{BASE}{app.pk}/").status_code == 404  # a draft is not staff's business yet
    assert not access_rows(app).exists()


# --- statistics ------------------------------------------------------------------------------------------------------

def test_statistics(client, workday):
    clerk, approver = staff("clerk"), staff("approver")
    done = accepted(clerk, service="t_standard")
    workday.freeze(dt.datetime(2026, 11, 25, 10, 0))  # two working days later
    services.application_approve(application_id=done.pk, actor=actor(approver))
    late = accepted(clerk, service="t_standard")
    submitted(service="sample")
    workday.freeze(dt.datetime(2026, 12, 4, 10, 0))  # `late` is past its limit
    login(client, "approver")
    r = client.get(f"{BASE}statistics/")
    assert r.status_code == 200
    rows = {row["service_code"]: row for row in r.context["rows"]}
    std = rows["t_standard"]
    assert (std["received"], std["done"], std["on_time"], std["overdue"]) == (2, 1, 1, 1)
    assert std["average"] == 2.0 and std["on_time_rate"] == 100
    assert rows["sample"]["received"] == 1 and rows["sample"]["average"] is None
    assert r.context["totals"]["received"] == 3
    body = text(r)
    assert "测试标准事项" in body and "2.0" in body and "合计" in body
    assert late.pk
    # a period with nothing in it, and a bad range
    r = client.get(f"{BASE}statistics/", {"since": "2026-01-01", "until": "2026-01-31"})
    assert r.context["rows"] == [] and "这段时间没有提交的申请" in text(r)
    r = client.get(f"{BASE}statistics/", {"since": "2026-12-01", "until": "2026-11-01"})
    assert r.status_code == 400 and "结束日期不能早于开始日期" in text(r)


def test_statistics_average_skips_the_national_day_holiday(client, workday):
    clerk, approver = staff("clerk"), staff("approver")
    workday.freeze(dt.datetime(2026, 9, 30, 10, 0))  # Wed before the National Day holiday
    app = accepted(clerk, service="t_standard")
    workday.freeze(dt.datetime(2026, 10, 9, 10, 0))  # Fri after it (Oct 1–8 off in 2026; Oct 10 is a make-up day)
    services.application_approve(application_id=app.pk, actor=actor(approver))
    login(client, "auditor")
    r = client.get(f"{BASE}statistics/", {"since": "2026-09-01", "until": "2026-10-31"})
    from jiaoguan.core import workdays

    expected = workdays.workdays_between(dt.date(2026, 9, 30), dt.date(2026, 10, 9))
    assert r.context["rows"][0]["average"] == expected and expected < 7


def test_history_shows_internal_steps_to_staff(client):
    app = submitted(service="t_standard")
    clerk = staff("clerk")
    services.application_claim(application_id=app.pk, actor=actor(clerk))
    login(client, "approver")
    r = client.get(f"{BASE}{app.pk}/")
    labels = [h["label"] for h in r.context["history"]]
    assert "认领" in labels and "提交申请" in labels
    assert ApplicationEvent.objects.filter(application=app, action="claim", public=False).exists()


def test_staff_see_the_fee_paid_with_its_reference(client):
    from tests.applications.services.support import PNG, hospital_check, pay_fee
    from tests.applications.services.support import submit as submit_with

    user = citizen()
    hospital_check(user.person)
    app = pay_fee(submit_with(user, "licence_renewal", {"kind": "replace_lost", "address": "深圳市南山区科苑路15号 测试"},
                              {"photo": PNG}))
    login(client, "clerk")
    body = text(client.get(f"{BASE}{app.pk}/"))
    assert "规费" in body and "机动车驾驶证工本费 ¥10.00" in body and "已缴费" in body
    from jiaoguan.payments.selectors import payable_for_source

    assert payable_for_source(source_type=services.FEE_SOURCE, source_id=str(app.pk)).reference in body
