"""Journey (驾驶证审验): a B2 driver whose last scoring cycle had points finds the review in the catalogue, applies with
the study hours and the study certificate, staff accept and approve, and the application shows the review recorded."""
from __future__ import annotations

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.violations.models import PointsAccount
from tests.portal.support import browser_log_in, browser_submit_application, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_b2_driver_reviewed_online(journey, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user, person, licence, _car = citizen(name="司马货运", classes="B2")
    start, end = rules.review_cycle(licence.first_issue_date, clock.today())
    PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=3)
    clerk = staff_user("clerk", "clerk401")
    approver = staff_user("approver", "appr401")
    certificate = tmp_path / "study.pdf"
    certificate.write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    j = journey("licence-review")
    page = j.page

    j.goto("/services/licence_review/")
    assert "驾驶证审验" in j.text() and "不少于3小时" in j.text()
    j.shot("01-guide")
    browser_log_in(j, user.phone, "/services/licence_review/apply/")
    page.get_by_label("已完成学习学时").fill("2")
    page.get_by_label("学习机构或平台").fill("深圳市交通安全教育平台")
    page.locator('input[name="upload__study_certificate"]').set_input_files(str(certificate))
    page.get_by_role("button", name="下一步：核对信息").click()
    assert "/check/" not in page.url and "3" in j.text()  # fewer hours than the service asks: refused on the form
    j.shot("02-too-few-hours")
    page.get_by_label("已完成学习学时").fill("3")
    page.locator('input[name="upload__study_certificate"]').set_input_files(str(certificate))
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="licence_review")
    services.application_accept(application_id=app.pk, actor=Actor.of(clerk))
    services.application_approve(application_id=app.pk, actor=Actor.of(approver))
    page.reload()
    assert "已批准" in j.text()
    j.shot("03-approved")
    assert DrivingLicence.objects.get(pk=licence.pk).reviewed_through == end
