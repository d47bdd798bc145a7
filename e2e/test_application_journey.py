"""Journeys (网上办事, /services/): a citizen finds the real 货车通行证 (truck pass) service in the catalogue, reads its
guide, applies (the vehicle record 免提交), saves a draft, checks the answers, submits, and after acceptance and
approval opens the e-permit with its QR code; a truck-pass application sent back for correction, corrected and
resubmitted; a driving-licence renewal (health check from the hospital, 免提交) whose ¥10 card fee is paid through
the channel simulator before acceptance, and whose new licence is sent by post, followed by its tracking number to
delivery.

Real services from applications/catalogue/ (truck_pass.toml, licence_renewal.toml). The staff steps (accept,
send back, approve) are taken through the engine's services: the console has its own journey.
"""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from tests.portal.support import PASSWORD, citizen, citizen_records, register, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PNG_PHOTO = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
             b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx"
             b"\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def log_in(j, user, path: str):
    """On the login page (after being sent there with ?next=), then back to ``path``."""
    page = j.page
    page.get_by_label("手机号码").fill(user.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"**{path}")


def staff():
    clerk = staff_user("clerk", "clerk501", display_name="受理民警")
    approver = staff_user("approver", "appr501", display_name="审批民警")
    return Actor.of(clerk), Actor.of(approver)


def truck_owner():
    from tests.applications.services.support import truck

    user, person, _lic, _car = citizen(name="陈运输", vehicle=False)
    vehicle = truck(owner_user=user)
    return user, vehicle


def fill_truck_form(page, plate: str, *, route: str = "") -> None:
    today = clock.today()
    page.get_by_label("号牌号码").select_option(value=plate)  # chosen from the applicant's own trucks
    page.get_by_label("通行类别").select_option(label="城市配送")
    page.get_by_label("通行区域").select_option(label="南山区限行区域")
    if route:
        page.get_by_label("主要通行道路").fill(route)
    page.get_by_label("有效期起").fill(today.isoformat())
    page.get_by_label("有效期至").fill((today + dt.timedelta(days=29)).isoformat())
    page.get_by_label("联系电话").fill("13912345678")


def the_application(user) -> Application:
    return Application.objects.filter(applicant=user).order_by("-pk").first()


def test_citizen_applies_for_a_truck_pass_and_gets_the_e_permit(journey):
    user, vehicle = truck_owner()
    clerk, approver = staff()
    j = journey("application-truck")
    page = j.page

    # 1. the catalogue (public): search for the truck pass
    j.goto("/services/")
    assert "办事大厅" in j.text() and "货车通行证" in j.text()
    j.shot("01-catalogue")
    page.get_by_label("搜索事项").fill("货车")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_url("**/services/?q=*")
    assert "货车通行证" in j.text()

    # 2. its guide, generated from the declaration
    page.get_by_role("link", name="货车通行证").first.click()
    page.wait_for_url("**/services/truck_pass/")
    body = j.text()
    assert "申请条件" in body and "免提交" in body and "1个工作日" in body and "设定依据" in body
    j.shot("02-guide")

    # 3. apply: log in first, then the form; the vehicle record is fetched by the platform (免提交)
    page.get_by_role("link", name="在线申请").first.click()
    page.wait_for_url("**/login/?next=*")
    log_in(j, user, "/services/truck_pass/apply/")
    fill_truck_form(page, vehicle.plate, route="深南大道—科苑路—滨海大道")
    j.shot("03-form")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/services/mine/*/edit/")
    body = j.text()
    assert "草稿已保存" in body and "已由平台获取" in body and vehicle.plate in body
    j.shot("04-draft-saved")

    # 4. check your answers, then submit (once)
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    body = j.text()
    assert "核对信息" in body and "城市配送" in body and "139****5678" in body and "13912345678" not in body
    j.shot("05-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/services/mine/*/")
    app = the_application(user)
    assert app.status == "submitted" and app.reference in j.text() and "待受理" in j.text()
    j.shot("06-submitted")

    # 5. staff accept and approve (a different officer decides); the timeline shows every step
    services.application_accept(application_id=app.pk, actor=clerk)
    services.application_approve(application_id=app.pk, actor=approver)
    page.goto(f"{j.base_url}/services/mine/")
    assert app.reference in j.text() and "已批准" in j.text()
    j.shot("07-mine")
    page.get_by_role("link", name="详情").first.click()
    body = j.text()
    assert "电子许可证已发放" in body and "受理" in body and "批准" in body
    j.shot("08-approved")

    # 6. the e-permit with its QR code
    page.get_by_role("link", name="查看电子许可证").click()
    page.wait_for_url("**/credentials/*/")
    assert "货车通行证" in j.text() and page.locator(".qr-box svg").count() == 1
    j.shot("09-e-permit")


def test_a_truck_pass_sent_back_is_corrected_and_resubmitted(journey):
    user, vehicle = truck_owner()
    clerk, approver = staff()
    j = journey("application-sendback")
    page = j.page
    j.goto("/services/truck_pass/apply/")
    log_in(j, user, "/services/truck_pass/apply/")
    fill_truck_form(page, vehicle.plate)
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/services/mine/*/")
    app = the_application(user)

    # the approver sends it back with the reasons
    services.application_accept(application_id=app.pk, actor=clerk)
    services.application_send_back(application_id=app.pk, actor=approver,
                                   comment="请填写主要通行道路，以便核定通行路线")
    page.reload()
    body = j.text()
    assert "退回补正" in body and "请填写主要通行道路，以便核定通行路线" in body and "暂停计时" in body
    j.shot("01-sent-back")

    # correct it: the form keeps the earlier answers and shows the reasons
    page.get_by_role("link", name="修改并重新提交").click()
    page.wait_for_url("**/edit/")
    assert page.get_by_label("号牌号码").input_value() == vehicle.plate
    assert "请填写主要通行道路" in j.text()
    page.get_by_label("主要通行道路").fill("北环大道—南坪快速—布龙路")
    j.shot("02-correcting")
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    page.get_by_label("补正说明").fill("已补充通行道路")
    j.shot("03-check")
    page.get_by_role("button", name="重新提交").click()
    page.wait_for_url("**/services/mine/*/")
    body = j.text()
    app.refresh_from_db()
    assert app.status == "under_review" and "补正材料已重新提交" in body and "补正后重新提交" in body
    assert "北环大道—南坪快速—布龙路" in body
    j.shot("04-resubmitted")

    services.application_approve(application_id=app.pk, actor=approver)
    page.reload()
    assert "已批准" in j.text() and "查看电子许可证" in j.text()
    j.shot("05-approved")


def test_a_licence_renewal_is_delivered_by_post(journey, tmp_path):
    from jiaoguan.postal.simulator import simulator_advance
    from tests.applications.services.support import hospital_check
    from tests.factories import make_licence

    person, _lic, _car = citizen_records(name="林换证", licence=False, vehicle=False)
    today = clock.today()
    make_licence(person=person, first_issue=today.replace(year=today.year - 6) + dt.timedelta(days=30),
                 valid_until=today + dt.timedelta(days=30))
    hospital_check(person)
    user = register(person)
    clerk, approver = staff()
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG_PHOTO)
    j = journey("application-renewal")
    page = j.page

    j.goto("/services/licence_renewal/")
    body = j.text()
    assert "驾驶证期满换证、补证" in body and "免提交" in body and "邮寄送达" in body
    j.shot("01-guide")
    page.get_by_role("link", name="在线申请").first.click()
    log_in(j, user, "/services/licence_renewal/apply/")
    body = j.text()
    assert "已由平台获取" in body and "身体条件证明" in body  # the hospital's health check: no paper form
    page.get_by_label("期满换证").check()
    page.get_by_label("邮寄地址").fill("广东省深圳市南山区科技园科苑路15号")
    page.locator('input[name="upload__photo"]').set_input_files(str(photo))
    j.shot("02-form")
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    body = j.text()
    assert "photo.png" in body and "已由平台获取" in body
    j.shot("03-check")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/services/mine/*/")
    app = the_application(user)
    assert app.status == "awaiting_payment"
    detail_url = page.url

    # the ¥10 card fee (规费) from the fee table: paid under 我的缴费 like a fine, then the application goes on
    fee = page.locator("#fee")
    assert "机动车驾驶证工本费" in fee.inner_text() and "¥10.00" in fee.inner_text() and "缴费期限" in fee.inner_text()
    assert "待缴费" in j.text()
    j.shot("04-fee-due")
    fee.get_by_role("link", name="去缴费").click()
    page.wait_for_url("**/me/payments/")
    assert "驾驶证期满换证、补证规费" in j.text() and app.reference in j.text()
    page.get_by_role("button", name="缴纳所选款项").click()
    page.wait_for_url("**/pay/sim/**")
    assert "¥10.00" in page.locator('[data-testid="amount"]').inner_text()
    page.get_by_role("button", name="确认支付").click()
    page.get_by_role("link", name="查看电子回单").wait_for()
    app.refresh_from_db()
    assert app.status == "submitted"
    page.goto(detail_url)
    body = j.text()
    assert "待受理" in body and "已缴费" in body and "规费已缴纳" in body
    j.shot("05-fee-paid")

    services.application_accept(application_id=app.pk, actor=clerk)
    services.application_approve(application_id=app.pk, actor=approver)
    app.refresh_from_db()
    tracking = app.outcome["post"]["tracking_number"]
    assert tracking
    page.reload()
    body = j.text()
    assert "办理结果" in body and tracking in body and "机动车驾驶证" in body
    j.shot("06-posted")

    # the post reports progress: the page follows it to delivery
    simulator_advance(tracking, to="delivered")
    page.reload()
    body = j.text()
    assert "已签收" in body or "妥投" in body, body
    j.shot("07-delivered")

    # the same page in English
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("load")
    body = j.text()
    assert "Result" in body and "Tracking number" in body and "Delivered" in body and "Progress" in body
    j.shot("08-english")


def test_renewal_refused_before_the_form(journey):
    """A driver whose licence is valid for life opens 驾驶证期满换证: the guide says at once that renewal is not
    for them (and why), offers only the replacements; the renewal entry shows the reason and no form."""
    from jiaoguan.registry.models import DrivingLicence

    user, _person, lic, _car = citizen(name="冯长期", vehicle=False)
    DrivingLicence.objects.filter(pk=lic.pk).update(valid_until=None)
    j = journey("renewal-refused")
    page = j.page
    j.goto("/login/?next=/services/licence_renewal/")
    log_in(j, user, "/services/licence_renewal/")
    body = j.text()
    assert "您的驾驶证长期有效，无需换证" in body and "申请遗失补证" in body
    assert page.locator('a[href$="?kind=renew"]').count() == 0
    assert page.locator('.entry-options [aria-disabled="true"]').first.evaluate(
        "e => getComputedStyle(e).cursor") == "not-allowed"  # a closed option looks closed
    j.shot("01-guide")
    j.goto("/services/licence_renewal/apply/?kind=renew")
    body = j.text()
    assert "您目前不能申请“期满换证”" in body and "您的驾驶证长期有效" in body
    assert page.locator("form.app-form").count() == 0 and page.get_by_label("邮寄地址").count() == 0
    j.shot("02-entry-refused")


def test_a_paid_fee_goes_back_when_staff_refuse(journey):
    """A replacement's ¥10 card fee is paid; staff refuse the application; its page shows why and the fee refunded
    (规费已原路退回)."""
    from tests.applications.services.support import hospital_check, pay_fee
    from tests.factories import make_licence

    person, _lic, _car = citizen_records(name="林退费", licence=False, vehicle=False)
    make_licence(person=person)
    hospital_check(person)
    user = register(person)
    clerk, _approver = staff()
    draft = services.application_draft_create(user=user, service_code="licence_renewal",
                                              data={"kind": "replace_lost", "address": "广东省深圳市福田区福华路1号"})
    services.material_upload(user=user, application_id=draft.pk, slot="photo", filename="photo.png",
                             content=PNG_PHOTO)
    app = pay_fee(services.application_submit(user=user, application_id=draft.pk))
    assert app.status == "submitted"
    services.application_refuse(application_id=app.pk, actor=clerk, comment="照片不符合要求")
    j = journey("application-refund")
    j.goto(f"/login/?next=/services/mine/{app.pk}/")
    log_in(j, user, f"/services/mine/{app.pk}/")
    fee = j.page.locator("#fee")
    assert "已退款" in fee.inner_text() and "¥10.00" in fee.inner_text()
    assert "规费已原路退回" in fee.inner_text()
    assert "不予受理" in j.text() and "照片不符合要求" in j.text()
    j.shot("01-refunded")
