"""Journey (增驾): a C1 holder finds 增加准驾车型申请 in the catalogue, asks for A2 and is told why not (it needs B1 or
B2 held for two years), asks for B2; staff accept and approve; the application shows the learner's permit and 考试预约
lists it; once the tests are passed (the exams app's step, tested in tests/exams) the licence card shows B2 in its
own probation."""
from __future__ import annotations

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry import services as registry_services
from tests.applications.services.support import hospital_check
from tests.portal.support import browser_log_in, browser_submit_application, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_c1_holder_adds_b2(journey):
    user, person, _licence, _car = citizen(name="欧阳增驾", classes="C1")
    hospital_check(person)
    clerk = staff_user("clerk", "clerk402")
    approver = staff_user("approver", "appr402")
    j = journey("add-class")
    page = j.page

    j.goto("/services/licence_add_class/")
    assert "增加准驾车型" in j.text() and "实习期12个月" in j.text()
    j.shot("01-guide")
    browser_log_in(j, user.phone, "/services/licence_add_class/apply/")
    page.get_by_label("申请增加的准驾车型").select_option("A2")
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    assert "须已取得B1/B2准驾车型资格2年以上" in j.text()  # the check step says why, and offers no submit
    assert page.get_by_role("button", name="确认提交").is_disabled()
    j.shot("02-a2-refused")
    j.goto("/services/licence_add_class/apply/")
    page.get_by_label("申请增加的准驾车型").select_option("B2")
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="licence_add_class", status="submitted")
    services.application_accept(application_id=app.pk, actor=Actor.of(clerk))
    services.application_approve(application_id=app.pk, actor=Actor.of(approver))
    page.reload()
    assert "已批准" in j.text() and "学习驾驶证明已核发" in j.text()
    j.shot("03-permit")
    page.get_by_role("link", name="预约考试").click()
    page.wait_for_url("**/me/exams/")
    assert "B2" in j.text()
    j.shot("04-exams")
    registry_services.licence_class_add(person=person, licence_class="B2", on=clock.today(),
                                        actor=Actor.system("exams.licence_grant"), reason="all tests passed")
    j.goto("/me/")
    assert "B2" in j.text() and "实习期内" in j.text()
    j.shot("05-licence")
