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
