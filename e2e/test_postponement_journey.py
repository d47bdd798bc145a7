"""Journey (驾驶证延期换证): a holder going abroad before the licence falls due finds the service, applies with the
evidence and a date, a clerk accepts and an approver approves in the console, and "我的" shows the postponement with
what it means (no driving after the expiry until renewed)."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.core import clock
from jiaoguan.registry.models import DrivingLicence
from tests.portal.support import browser_console_log_in, browser_log_in, browser_submit_application, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def console(j, username: str, app: Application, action: str):
    browser_console_log_in(j, username)
    j.goto(f"/console/applications/{app.pk}/")
    j.page.get_by_label("办理意见").fill("延期事由证明齐全")
    j.page.get_by_role("button", name=action, exact=True).click()
    j.page.wait_for_url(f"**/console/applications/{app.pk}/")
    j.page.get_by_role("button", name="退出").click()
    j.page.wait_for_url("**/console/login/")


def test_postpone_a_renewal_approved_and_shown(journey, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    user, person, licence, _car = citizen(name="欧阳出境")
    DrivingLicence.objects.filter(pk=licence.pk).update(valid_until=clock.today() + dt.timedelta(days=40))
    licence.refresh_from_db()
    until = licence.valid_until + dt.timedelta(days=365)
    staff_user("clerk", "clerk301", display_name="窗口民警")
    staff_user("approver", "appr301", display_name="审批民警")
    evidence = tmp_path / "visa.pdf"
    evidence.write_bytes(b"%PDF-1.4\n" + b"0" * 200)
    j = journey("postponement")
    page = j.page

    j.goto("/services/licence_postponement/")
    body = j.text()
    assert "驾驶证延期换证、延期审验" in body and "最长不超过三年" in body and "不得驾驶机动车" in body
    j.shot("01-guide")
    browser_log_in(j, user.phone, "/services/licence_postponement/apply/")
    page.get_by_label("延期换证", exact=True).check()
    page.get_by_label("出国（境）").check()
    page.get_by_label("延期至").fill(until.isoformat())
    page.locator('input[name="upload__evidence"]').set_input_files(str(evidence))
    j.shot("02-form")
    browser_submit_application(j)
    app = Application.objects.get(applicant=user, service_code="licence_postponement")
    assert app.status == "submitted" and "待受理" in j.text()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")

    console(j, "clerk301", app, "受理")
    console(j, "appr301", app, "批准")
    app.refresh_from_db()
    assert app.status == "approved"

    browser_log_in(j, user.phone, "/me/")
    notice = page.locator("#licence-postponed")
    assert f"已批准延期换证至 {until:%Y-%m-%d}" in notice.inner_text()
    j.shot("03-me-postponed")
