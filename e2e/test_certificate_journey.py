"""Journey (证明与信息单): a driver finds 驾驶人信息单 in the catalogue, applies and gets it at once — an e-certificate
with its QR code under 我的电子证照, downloadable as a PDF carrying the same QR code — and anyone with the QR address
sees it genuine with the name masked; the same driver asks for 无车证明 while a car is registered to them and is told
why not, before anything is issued."""
from __future__ import annotations

from pathlib import Path

import pytest

from jiaoguan.applications.models import Application
from jiaoguan.credentials import selectors
from tests.portal.support import browser_log_in, citizen

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_drivers_record_at_once_verifiable_and_a_no_vehicle_certificate_refused(journey):
    user, person, _lic, _car = citizen(name="郑信息")
    j = journey("certificates")
    page = j.page

    # 1. the catalogue's certificates
    j.goto("/services/?category=certificates")
    body = j.text()
    assert "驾驶人信息单" in body and "机动车信息单" in body and "无车证明" in body and "无交通违法记录证明" in body
    j.shot("01-catalogue")

    # 2. apply: nothing to fill in, issued at once
    browser_log_in(j, user.phone, "/services/driver_record/apply/")
    page.get_by_role("button", name="下一步：核对信息").click()
    page.wait_for_url("**/check/")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/services/mine/*/")
    body = j.text()
    assert "已批准" in body and "电子证明已出具" in body
    app = Application.objects.get(applicant=user, service_code="driver_record")
    assert app.status == "approved"
    j.shot("02-issued")

    # 3. the certificate with its QR code; the public verification shows it genuine, the name masked
    page.get_by_role("link", name="查看电子证明").click()
    page.wait_for_url("**/credentials/*/")
    body = j.text()
    assert "驾驶人信息单" in body and "准驾车型" in body and "郑*息" in body and "郑信息" not in body
    assert page.locator(".qr-box svg").count() == 1
    j.shot("03-certificate")
    from jiaoguan.credentials.models import Credential

    cred = Credential.objects.get(pk=app.outcome["certificate"]["credential_id"])

    # 3b. the PDF: a download named after the certificate, a PDF whose page carries the number
    with page.expect_download() as info:
        page.get_by_role("link", name="下载PDF文件").click()
    download = info.value
    assert download.suggested_filename == f"驾驶人信息单-{cred.number}.pdf"
    saved = ARTIFACTS / f"certificates-{j.viewport}-03b-certificate.pdf"
    download.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and b"/STSong-Light" in pdf
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    j.goto(selectors.verify_url(cred))
    body = j.text()
    assert "真实有效" in body and "郑*息" in body and person.id_number not in body
    j.shot("04-verify")

    # 4. a no-vehicle certificate while a car is registered: refused before the form, with the reason
    browser_log_in(j, user.phone, "/services/no_vehicle_certificate/")
    body = j.text()
    assert "辆机动车，不能出具无车证明" in body
    j.shot("05-no-vehicle-refused")
