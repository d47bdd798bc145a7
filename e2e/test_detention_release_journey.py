"""Journey (放车还证): a driver whose licence was detained at the roadside has handled the violation and paid the
fine; they read the guide (no fee, no copies), pick the detention from the list of their own, leave the licence to
be posted to the address on file, and the application is approved at once: the page shows the result and the
post, and the detention is released."""
from __future__ import annotations

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.violations.models import Detention
from tests.portal.support import browser_log_in, browser_submit_application, citizen
from tests.violations.detention_support import detain, handle_and_pay, on_site

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_detained_licence_returned_by_post(journey):
    user, person, _licence, car = citizen(name="欧阳还证")
    d = detain(person, violations=[on_site(car)])
    handle_and_pay(d.violations.get(), person)
    j = journey("detention-release")
    page = j.page
    j.goto("/services/detention_release/")
    assert "放车还证" in j.text() and "不收取任何费用" in j.text() and "复印件" in j.text()
    j.shot("01-guide")
    browser_log_in(j, user.phone, "/services/detention_release/apply/")
    field = page.get_by_label("扣留记录")
    options = field.locator("option").all_inner_texts()
    assert any(d.notice_number in o and "扣留驾驶证" in o for o in options)
    field.select_option(value=d.notice_number)
    j.shot("02-form")
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="detention_release")
    assert app.status == Application.Status.APPROVED
    text = j.text()
    assert "办理结果" in text and "邮件号" in text and d.notice_number in text
    j.shot("03-approved")
    assert Detention.objects.get(pk=d.pk).status == "released"


def test_a_clerk_records_a_detention_in_the_console(journey):
    """The window's side: a clerk records the detained licence (扣留登记) and finds it in the list."""
    import datetime as dt

    from jiaoguan.core import clock
    from tests.portal.support import browser_console_log_in, staff_user

    _user, person, _licence, car = citizen(name="上官扣证")
    violation = on_site(car)
    staff_user("clerk", "clerk703")
    j = journey("detention-console")
    page = j.page
    browser_console_log_in(j, "clerk703")
    page.get_by_role("link", name="扣留登记").click()
    page.wait_for_url("**/console/violations/detentions/")
    page.get_by_label("扣留凭证编号").first.fill("440300KL7100001")
    page.get_by_label("驾驶人身份证号码（扣留驾驶证时填写）").fill(person.id_number)
    page.get_by_label("依据的违法记录编号（多个用逗号分隔）").fill(str(violation.pk))
    page.get_by_label("保管地点", exact=True).fill("福田交警大队违法处理窗口")
    page.get_by_label("保管地点地址").fill("深圳市福田区福强路3028号")
    page.get_by_label("扣留时间").fill((clock.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    j.shot("01-form")
    page.get_by_role("button", name="登记", exact=True).click()
    page.locator("#recorded").wait_for()
    assert "已登记扣留凭证 440300KL7100001" in j.text() and person.name not in j.text()
    assert Detention.objects.get(notice_number="440300KL7100001").status == "held"
    j.shot("02-recorded")
