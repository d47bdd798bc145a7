"""Journey (security headers): every page is served with the strict Content-Security-Policy, and the browser
blocks nothing on the portal's and the console's pages — no inline <style>, style="…", <script> or on*= is left
(each would be a "Content Security Policy" console message and a securitypolicyviolation event). The moved
styles still apply (the payment codes keep their size, the error page's 返回 works from static JS)."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.payments import services
from tests.portal.support import PASSWORD, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POLICY = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
          "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'")

PORTAL = ["/", "/services/", "/services/licence_renewal/", "/me/", "/me/payments/", "/me/payments/lookup/",
          "/me/violations/", "/me/bookings/", "/me/exams/", "/me/inspections/", "/me/east/", "/me/plates/",
          "/credentials/", "/me/appointments/"]
CONSOLE = ["/console/", "/console/applications/", "/console/persons/", "/console/disputes/", "/console/plates/",
           "/console/inspections/", "/console/east/"]


def _visit(j, path: str) -> None:
    response = j.goto(path)
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    policy = response.headers.get("content-security-policy", "")
    assert all(directive in policy for directive in POLICY), f"{path}: {policy!r}"
    j.assert_no_csp_violation()


def test_no_page_breaks_the_content_security_policy(journey):
    user, person, _, _ = citizen(name="严策略")
    services.payable_create(
        kind="fine", source_type="e2e.decision", source_id="E2E-CSP", payer_person_id=person.pk, amount_fen=20000,
        description_zh="驾驶机动车违反道路交通信号灯通行 罚款", description_en="Fine: running a red light",
        decision_date=clock.today() - dt.timedelta(days=3), late_fee=True)
    staff_user("admin", "csp001", display_name="管理员严")

    j = journey("csp")
    page = j.page
    _visit(j, "/login/")
    page.get_by_label("手机号码").fill(user.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/")
    for path in PORTAL:
        _visit(j, path)

    # a page whose style moved to a static file: the codes keep their size, at phone width as on a desktop
    _visit(j, "/me/payments/")
    barcode = page.locator('[data-testid="barcode"] svg').first
    assert 200 <= barcode.bounding_box()["width"] <= 390
    j.shot("01-my-payments")
    _visit(j, "/services/licence_renewal/")
    j.shot("02-service-guide")

    # the console, and the Django admin's login page
    page.context.clear_cookies()
    _visit(j, "/console/login/")
    page.get_by_label("用户名（警号）").fill("csp001")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(j.base_url + "/console/")
    for path in CONSOLE:
        _visit(j, path)
    j.shot("03-console")
    _visit(j, "/admin/login/")


@pytest.mark.urls("tests.core.urls_errors")
def test_the_error_pages_back_link_works_without_inline_script(journey):
    """返回 on the error page: history.back() from the static site.js (it was an inline onclick)."""
    j = journey("csp-error")
    _visit(j, "/pages/refuse?from=here")
    _visit(j, "/pages/refuse")
    assert "无法完成您的请求" in j.text()
    j.page.get_by_role("link", name="返回").click()
    j.page.wait_for_url("**/pages/refuse?from=here")
    j.assert_no_csp_violation()
