"""Journey (补领行驶证, 窗口领取): an owner replaces a lost vehicle licence and ticks "collect at a counter" instead of the
post; after the fee and the approval, the application page says the document is ready and links the counter booking
for vehicle business (the counters engine), where the visit is booked."""
from __future__ import annotations

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core.audit import Actor
from tests.applications.services.support import pay_fee
from tests.portal.support import browser_log_in, browser_submit_application, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_vehicle_licence_collected_at_a_counter(journey):
    user, _person, _licence, car = citizen(name="诸葛领证")
    clerk, approver = staff_user("clerk", "clerk501"), staff_user("approver", "appr501")
    j = journey("pickup")
    page = j.page
    browser_log_in(j, user.phone, "/services/vehicle_documents/apply/")
    page.get_by_label("号牌号码").select_option(value=car.plate)
    page.get_by_label("补领、换领的牌证").select_option(value="vehicle_licence:lost")
    page.get_by_label("不邮寄，预约到车管所窗口领取").check()
    j.shot("01-form")
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="vehicle_documents")
    pay_fee(app)
    services.application_accept(application_id=app.pk, actor=Actor.of(clerk))
    services.application_approve(application_id=app.pk, actor=Actor.of(approver))
    page.reload()
    result = page.locator("#pickup")
    assert "机动车牌证已制好" in result.inner_text() and "邮件号" not in j.text()
    j.shot("02-ready")
    page.get_by_role("link", name="预约窗口领取").click()
    page.wait_for_url("**/me/appointments/book/?service=vehicle")
    assert "预约" in j.text()
    j.shot("03-book")
