"""Journey (提交身体条件证明): a driver aged 75 sees on 我的 that the yearly health report is due, follows the link,
reports the hospital's record online, the application is decided at once, and 我的 no longer asks for it."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, Person
from tests.applications.services.support import hospital_check
from tests.portal.support import browser_log_in, browser_submit_application, citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_driver_aged_75_reports_the_health_check(journey):
    user, person, licence, _car = citizen(name="林老先生")
    Person.objects.filter(pk=person.pk).update(birth_date=dt.date(1951, 4, 20))
    first = rules.add_years(clock.today() - dt.timedelta(days=9), -30)  # the last scoring cycle ended 10 days ago
    DrivingLicence.objects.filter(pk=licence.pk).update(first_issue_date=first, valid_from=first, valid_until=None,
                                                        validity="long")
    person.refresh_from_db()
    hospital_check(person)
    j = journey("health-report")
    page = j.page

    browser_log_in(j, user.phone, "/me/")
    notice = page.locator("#licence-health-report")
    assert "年满70周岁的驾驶人每年提交身体条件证明" in notice.inner_text()
    j.shot("01-me-due")
    notice.get_by_role("link", name="提交身体条件证明").click()
    page.wait_for_url("**/services/licence_health_report/")
    assert "即办即结" in j.text()
    j.shot("02-guide")
    j.goto("/services/licence_health_report/apply/")
    assert "已由平台获取" in j.text()
    browser_submit_application(j)
    assert "已批准" in j.text()
    j.shot("03-approved")
    assert Application.objects.get(applicant=user, service_code="licence_health_report").status == "approved"
    j.goto("/me/")
    assert page.locator("#licence-health-report").count() == 0
    j.shot("04-me-done")
