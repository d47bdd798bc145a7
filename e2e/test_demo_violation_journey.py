"""Journey (the demo city's violations): on a database seeded as `make run` seeds it (the showcase people, the
demo logins, violations.demo), the demo citizen 13800138000 logs in, sees the seeded violations, reads why the
red-light one cannot be handled online, handles the speeding one online, pays it through the payment simulator
(leaving the older fine with its late fee) and gets the e-receipt."""
from __future__ import annotations

import pytest

from jiaoguan.identity.demo import CITIZEN_PHONE, DEMO_PASSWORD, create_demo_accounts
from jiaoguan.payments import selectors as payments
from jiaoguan.registry.demo import generate_city
from jiaoguan.violations.demo import SEEDED, demo_violations
from jiaoguan.violations.models import PenaltyDecision, Violation
from tests.violations.conftest import _codes, _media  # noqa: F401 - autouse fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo():
    """The demo city's showcase people, the demo logins and the citizen's violations, made as demo_city does."""
    create_demo_accounts(city=generate_city(persons=0))
    demo_violations()
    by_record = {s.record_id: s.key for s in SEEDED}
    return {by_record[v.device_record_id]: v for v in Violation.objects.filter(device_record_id__in=by_record)}


def test_demo_citizen_handles_pays_and_gets_the_receipt(journey, demo):
    j = journey("demo-violation")
    page = j.page
    j.goto("/login/?next=/me/violations/")
    page.get_by_label("手机号码").fill(CITIZEN_PHONE)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/violations/")

    # 1. the list: the seeded violations of both cars, with their statuses
    body = j.text()
    for status in ("未处理", "已处理未缴款", "已撤销"):
        assert status in body, status
    assert "粤B·D12345" in body or "粤BD12345" in body
    j.shot("01-list")

    # 2. the red light cannot be handled online: the page says why, and offers no handling button
    j.goto(f"/me/violations/{demo['counter'].pk}/")
    body = j.text()
    assert "该违法不能在网上处理" in body and "罚款超过200元" in body
    assert page.get_by_role("button", name="确认违法事实，网上处理").count() == 0
    j.shot("02-not-online")

    # 3. the speeding one: handled online, a decision with its number
    j.goto(f"/me/violations/{demo['online'].pk}/")
    page.get_by_role("button", name="确认违法事实，网上处理").click()
    page.wait_for_url(f"**/me/violations/{demo['online'].pk}/")
    decision = PenaltyDecision.objects.get(violation=demo["online"])
    body = j.text()
    assert "处理成功" in body and decision.number in body and "已处理未缴款" in body
    j.shot("03-decision")

    # 4. my payments: this fine, and the older one with 10 days of late fee; pay only the new one
    page.get_by_role("link", name="去缴款").click()
    page.wait_for_url("**/me/payments/")
    late = payments.payable_for_source(source_type="violations.decision",
                                       source_id=str(PenaltyDecision.objects.get(violation=demo["late"]).pk))
    late_card = page.locator(f"#item-{late.pk}")
    assert "¥60.00" in late_card.inner_text() and "¥260.00" in late_card.inner_text()
    assert decision.number in j.text()
    page.locator(f"#pay-{late.pk}").uncheck()
    j.shot("04-payments")
    page.get_by_role("button", name="缴纳所选款项").click()
    page.wait_for_url("**/pay/sim/**")
    assert "¥200.00" in j.text()
    page.get_by_role("button", name="确认支付").click()
    page.get_by_role("link", name="查看电子回单").wait_for()
    assert "支付成功" in j.text()
    page.get_by_role("link", name="查看电子回单").click()
    page.wait_for_url("**/pay/receipt/**")
    body = j.text()
    assert "电子回单" in body and "¥200.00" in body and "¥260.00" not in body
    j.shot("05-receipt")

    demo["online"].refresh_from_db()
    late.refresh_from_db()
    assert demo["online"].status == "paid" and late.status == "unpaid"
