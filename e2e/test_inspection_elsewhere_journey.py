"""Journey (异地检验): an owner whose car passed its test in another city records it online with the report; staff
approve; "我的" shows the new inspection date."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry.models import Vehicle
from tests.portal.support import browser_log_in, browser_submit_application, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_inspection_in_another_city_recorded(journey, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user, _person, _licence, car = citizen(name="欧阳外检")
    Vehicle.objects.filter(pk=car.pk).update(inspection_due=clock.today() + dt.timedelta(days=15))
    clerk, approver = staff_user("clerk", "clerk601"), staff_user("approver", "appr601")
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    j = journey("inspection-elsewhere")
    page = j.page
    browser_log_in(j, user.phone, "/services/inspection_elsewhere/apply/")
    page.get_by_label("号牌号码").select_option(value=car.plate)
    page.get_by_label("检验地（省、市）").fill("湖南省长沙市")
    page.get_by_label("检验机构名称").fill("长沙市某机动车检测有限公司")
    inspected = clock.today() - dt.timedelta(days=1)
    page.get_by_label("检验日期").fill(inspected.isoformat())
    page.get_by_label("检验报告编号").fill("HN2026120700042")
    page.locator('input[name="upload__report"]').set_input_files(str(report))
    j.shot("01-form")
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="inspection_elsewhere")
    services.application_accept(application_id=app.pk, actor=Actor.of(clerk))
    services.application_approve(application_id=app.pk, actor=Actor.of(approver))
    car.refresh_from_db()
    assert car.last_inspection_date == inspected and car.inspection_due > clock.today() + dt.timedelta(days=15)
    j.goto("/me/")
    assert f"{car.inspection_due:%Y-%m-%d}" in j.text()
    j.shot("02-me")
