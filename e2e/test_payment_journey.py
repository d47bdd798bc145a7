"""Journey (payments): a citizen with a fine logs in, opens 我的缴费, sees the item with its late fee, barcode and
QR code, pays it through the channel simulator's page and sees the e-receipt (then the order in the history)."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.payments import services
from jiaoguan.payments.models import Order, Payment
from jiaoguan.payments.reference import reference_display
from tests.portal.support import PASSWORD, citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_see_the_fine_with_its_codes_pay_it_and_get_the_receipt(journey):
    user, person, _, _ = citizen(name="周缴款")
    item = services.payable_create(
        kind="fine", source_type="e2e.decision", source_id="E2E-1", payer_person_id=person.pk, amount_fen=20000,
        description_zh="驾驶机动车违反道路交通信号灯通行 罚款", description_en="Fine: running a red light",
        decision_date=clock.today() - dt.timedelta(days=17), late_fee=True)  # 2 days late: ¥12.00 late fee

    j = journey("payment")
    page = j.page
    j.goto("/login/?next=/me/")
    page.get_by_label("手机号码").fill(user.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/")

    # 1. 我的 → 我的缴费: the item, today's late fee, the total, the reference as digits, barcode and QR code
    page.get_by_role("link", name="我的缴费").first.click()
    page.wait_for_url("**/me/payments/")
    card = page.locator('[data-testid="payable"]')
    assert card.count() == 1
    body = card.inner_text()
    assert "违反道路交通信号灯" in body and "¥200.00" in body and "¥12.00" in body and "¥212.00" in body
    assert reference_display(item.reference) in body
    barcode = card.locator('[data-testid="barcode"] svg')
    qr = card.locator('[data-testid="qr"] svg')
    assert barcode.is_visible() and qr.is_visible()
    box = barcode.bounding_box()
    assert box["width"] >= 200 and box["width"] <= 390  # wide enough to scan, inside a phone's screen
    assert qr.bounding_box()["width"] >= 100
    j.shot("01-my-payments")

    # 2. pay the ticked item: to the channel's (simulator's) pay page
    page.get_by_role("button", name="缴纳所选款项").click()
    page.wait_for_url("**/pay/sim/**")
    assert "¥212.00" in page.locator('[data-testid="amount"]').inner_text()
    j.shot("02-simulator")
    page.get_by_role("button", name="确认支付").click()
    # the page posts back to its own address: wait for the paid page itself, not just any "load"
    page.get_by_role("link", name="查看电子回单").wait_for()
    assert "支付成功" in j.text()
    order = Order.objects.get(payer_person_id=person.pk)
    assert order.status == "paid" and Payment.objects.filter(order=order).count() == 1
    j.shot("03-paid")

    # 3. the e-receipt: reference, amounts, channel, serial
    page.get_by_role("link", name="查看电子回单").click()
    page.wait_for_url(f"**/pay/receipt/{order.reference}/")
    receipt = j.text()
    assert "电子回单" in receipt and reference_display(order.reference) in receipt
    assert "¥212.00" in receipt and "¥12.00" in receipt and Payment.objects.get(order=order).trade_no in receipt
    j.shot("04-receipt")

    # 4. back to 我的缴费: nothing left to pay, the order listed with its receipt
    j.goto("/me/payments/")
    body = j.text()
    assert "您没有待缴的款项" in body and "已支付" in body
    assert page.get_by_role("link", name="电子回单").count() == 1
    j.shot("05-history")
