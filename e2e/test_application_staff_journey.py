"""Journey: staff work the application queues. A clerk accepts an application from the acceptance queue and, even
with a tampered form, cannot approve it; an approver who accepted another application at the window is refused
when approving it (separation of duties) and another approver approves both; the statistics show them."""
import pytest

from jiaoguan.applications.catalogue import CATALOGUE_DIR, catalogue_load, catalogue_use
from tests.applications.support import TEST_CATALOGUE, citizen, submitted
from tests.portal.support import PASSWORD, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUES = "/console/applications/"


@pytest.fixture(autouse=True)
def test_catalogue(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE)) as cat:
        yield cat


def _log_in(j, username):
    j.goto("/console/login/")
    j.page.get_by_label("用户名（警号）").fill(username)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(j.base_url + "/console/")


def _log_out(j):
    j.page.get_by_role("button", name="退出").click()
    j.page.wait_for_url("**/console/login/")


def _open(j, reference):
    j.page.get_by_role("link", name=reference, exact=True).click()
    j.page.wait_for_url("**/console/applications/*/")


def test_accept_then_separation_of_duties_then_approve(journey):
    first = submitted(citizen(), "t_standard", {"plate": "粤BA1234", "phone": "13912345678"})
    second = submitted(citizen(), "t_standard", {"plate": "粤BC5678"})
    staff_user("clerk", "clerk101", display_name="张警官")
    staff_user("approver", "appr101", display_name="李警官")
    staff_user("approver", "appr102", display_name="王审批")
    j = journey("application-staff")
    page = j.page

    # --- the clerk: the acceptance queue, claim, accept ------------------------------------------------------
    _log_in(j, "clerk101")
    j.goto(QUEUES)
    body = j.text()
    assert "待受理" in body and first.reference in body and second.reference in body
    assert "王*明" in body and "王小明" not in body
    j.shot("01-clerk-queue")

    _open(j, first.reference)
    body = j.text()
    assert "测试标准事项" in body and "139****5678" in body and "13912345678" not in body
    page.get_by_role("button", name="认领", exact=True).click()
    page.wait_for_url(f"**/console/applications/{first.pk}/")
    assert "由您办理中" in j.text()
    page.get_by_label("办理意见").fill("材料齐全，予以受理")
    j.shot("02-clerk-application")
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_url(f"**/console/applications/{first.pk}/")
    body = j.text()
    assert f"申请 {first.reference} 已受理" in body and "已受理·审核中" in body and "材料齐全，予以受理" in body
    assert page.get_by_role("button", name="批准", exact=True).count() == 0  # not offered to a clerk
    j.shot("03-clerk-accepted")

    # a tampered form (the send-back button turned into "approve") is refused by the engine
    page.evaluate("""() => { const b = document.querySelector('button[name=action][value=send_back]');
                             b.value = 'approve'; b.textContent = 'approve'; }""")
    page.get_by_role("button", name="approve", exact=True).click()
    page.wait_for_load_state("load")
    assert "您无权进行此操作" in j.text()
    j.shot("04-clerk-refused")
    _log_out(j)

    # --- an approver accepts the second at the window, then tries to approve it himself ---------------------------
    _log_in(j, "appr101")
    j.goto(QUEUES + "?queue=acceptance")
    _open(j, second.reference)
    page.get_by_role("button", name="受理", exact=True).click()
    page.wait_for_url(f"**/console/applications/{second.pk}/")
    # separation of duties: approving is not offered to the acceptor, and the page says why
    duty = "您已办理该申请的受理环节。受理与审批须由不同人员办理，请交由其他人员审批"
    assert duty in j.text() and "已受理·审核中" in j.text()
    assert page.get_by_role("button", name="批准", exact=True).count() == 0
    # a tampered form (send-back turned into "approve") is refused by the engine with the same words
    page.get_by_label("办理意见").fill("同意")
    page.evaluate("""() => { const b = document.querySelector('button[name=action][value=send_back]');
                             b.value = 'approve'; b.textContent = 'approve'; }""")
    page.get_by_role("button", name="approve", exact=True).click()
    page.wait_for_load_state("load")
    body = j.text()
    assert duty in body and "已受理·审核中" in body
    j.shot("05-acceptor-refused")
    # the approval queue never offered it to him: only the clerk's acceptance is there
    j.goto(QUEUES + "?queue=approval")
    body = j.text()
    assert first.reference in body and second.reference not in body
    _log_out(j)

    # --- another approver approves both -------------------------------------------------------------------------
    _log_in(j, "appr102")
    j.goto(QUEUES)
    body = j.text()
    assert "待审批" in body and first.reference in body and second.reference in body
    j.shot("06-approver-queue")
    for app in (first, second):
        j.goto(QUEUES)
        _open(j, app.reference)
        page.get_by_label("办理意见").fill("符合条件，予以批准")
        page.get_by_role("button", name="批准", exact=True).click()
        page.wait_for_url(f"**/console/applications/{app.pk}/")
        assert f"申请 {app.reference} 已批准" in j.text()
    body = j.text()
    assert "已批准" in body and "appr102" in body  # the history names who approved
    j.shot("07-approved")
    j.goto(QUEUES + "?queue=approval")
    assert "这个队列里没有申请" in j.text()

    page.get_by_role("link", name="办件统计").click()
    page.wait_for_url("**/console/applications/statistics/")
    body = j.text()
    assert "测试标准事项" in body and "合计" in body
    j.shot("08-statistics")
