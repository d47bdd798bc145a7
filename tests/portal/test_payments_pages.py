"""我的缴费: unpaid items with today's late fee and their codes, ordering and paying through the simulator, the
e-receipt, past orders, the reference look-up; another citizen's items, orders and receipts stay invisible."""
from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiaoguan.core import clock
from jiaoguan.payments import services
from jiaoguan.payments.models import Order, PayableItem, Payment, SimTrade
from jiaoguan.payments.reference import KIND_ITEM, reference_display, reference_make
from jiaoguan.portal.applications.catalogue import CATALOGUE
from tests.portal.support import EN, citizen, field_errors, text

pytestmark = pytest.mark.django_db

_src = itertools.count(1)


def fine(person, *, amount_fen: int = 20000, decision_date=None, late_fee: bool = False) -> PayableItem:
    return services.payable_create(kind="fine", source_type="tests.portal", source_id=f"P{next(_src)}",
                                   payer_person_id=person.pk, amount_fen=amount_fen,
                                   description_zh="闯红灯罚款", description_en="Fine for running a red light",
                                   decision_date=decision_date, late_fee=late_fee)


def key_of(response) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode()).group(1)


def order_form(client, *items):
    page = client.get("/me/payments/")
    return {"idempotency_key": key_of(page), "item_ids": [str(i.pk) for i in items]}


@pytest.fixture
def me(client):
    user, person, _, _ = citizen(name="王缴费")
    client.force_login(user)
    return person


def test_unpaid_items_show_amounts_late_fee_and_codes(client, me):
    today = clock.today()
    on_time = fine(me, amount_fen=20000, decision_date=today, late_fee=True)
    late = fine(me, amount_fen=10000, decision_date=today - dt.timedelta(days=20), late_fee=True)  # 5 days late
    r = client.get("/me/payments/")
    assert r.status_code == 200
    page = text(r)
    assert "我的缴费" in page and "待缴款项" in page and "缴款编号查询" in page
    assert reference_display(on_time.reference) in page and reference_display(late.reference) in page
    assert "¥200.00" in page and "¥100.00" in page
    assert "¥15.00" in page and "¥115.00" in page  # 3% a day for 5 days on ¥100, shown before paying
    html = r.content.decode()
    assert len(re.findall(r'data-testid="barcode"[^>]*><svg', html)) == 2
    assert len(re.findall(r'data-testid="qr"[^>]*><svg', html)) == 2
    assert "viewBox=" in html  # the codes scale to a phone's width
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # the codes are drawn by the server, no inline script


def test_my_page_and_the_catalogue_link_here(client, me):
    assert 'href="/me/payments/"' in client.get("/me/").content.decode()
    service = next(s for c in CATALOGUE for s in c.services if s.code == "fine_payment")
    assert service.available and service.url == "/me/payments/"
    assert "/me/payments/" in client.get("/").content.decode()


def test_pay_through_the_simulator_then_see_the_receipt(client, me, django_capture_on_commit_callbacks):
    a, b = fine(me, amount_fen=20000), fine(me, amount_fen=5000)
    r = client.post("/me/payments/", order_form(client, a, b))
    order = Order.objects.get(payer_person_id=me.pk)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    assert r.status_code == 302 and r["Location"] == f"/pay/sim/{trade.token}/"
    assert order.total_fen == 25000 and order.status == "paying"
    sim = client.get(r["Location"])
    assert sim.status_code == 200 and "¥250.00" in text(sim)
    with django_capture_on_commit_callbacks(execute=True):  # the callback goes in-process (no broker in tests)
        r = client.post(r["Location"], {"action": "pay"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "paid" and Payment.objects.filter(order=order).count() == 1
    receipt = client.get(f"/pay/receipt/{order.reference}/")
    page = text(receipt)
    assert receipt.status_code == 200 and "电子回单" in page and "¥250.00" in page
    assert reference_display(order.reference) in page and Payment.objects.get(order=order).trade_no in page
    # the order's number is labelled as one (订单编号); 缴款编号 names each item's payment reference, beside it
    html = receipt.content.decode()
    assert re.search(r"<dt>订单编号</dt><dd[^>]*>" + re.escape(reference_display(order.reference)), html)
    assert not re.search(r"<dt>缴款编号</dt><dd[^>]*>" + re.escape(reference_display(order.reference)), html)
    assert reference_display(a.reference) in page or a.reference in page
    # the items are no longer owed; the order is listed with a link to its receipt
    page = client.get("/me/payments/")
    assert "您没有待缴的款项" in text(page) and f"/pay/receipt/{order.reference}/" in page.content.decode()
    assert "已支付" in text(page)
    detail = client.get(f"/me/payments/orders/{order.reference}/")
    assert "已支付" in text(detail) and f"/pay/receipt/{order.reference}/" in detail.content.decode()


def test_double_submit_of_the_same_form_makes_one_order(client, me):
    item = fine(me)
    data = order_form(client, item)
    first = client.post("/me/payments/", data)
    second = client.post("/me/payments/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Order.objects.filter(payer_person_id=me.pk).count() == 1
    # a new page render is a new request: the item is being paid, so it is refused beside the field
    again = client.post("/me/payments/", {**data, "idempotency_key": "another-key-123"})
    assert again.status_code == 409 and field_errors(again, "item_ids") == [
        f"款项 {item.reference} 当前不可缴纳"]
    assert Order.objects.filter(payer_person_id=me.pk).count() == 1


def test_nothing_ticked_or_a_missing_key_is_a_field_error(client, me):
    fine(me)
    r = client.post("/me/payments/", {"idempotency_key": "k" * 20})
    assert r.status_code == 400 and field_errors(r, "item_ids") == ["请选择要缴纳的款项"]
    r = client.post("/me/payments/", {"idempotency_key": "k" * 20, "item_ids": ["abc"]})
    assert r.status_code == 400 and field_errors(r, "item_ids") == ["所选款项无效，请刷新页面后重试"]
    r = client.post("/me/payments/", {"item_ids": ["1"]})
    assert r.status_code == 400 and "idempotency_key" in r.context["form"].errors
    r = client.post("/me/payments/", {"idempotency_key": "k" * 20}, **EN)
    assert field_errors(r, "item_ids") == ["Choose at least one item to pay"]
    assert not Order.objects.exists()


def test_another_citizens_items_orders_and_receipts_are_invisible(client, me):
    _, other, _, _ = citizen(name="赵别人")
    theirs = fine(other, amount_fen=30000)
    order = services.order_create(payer_person_id=other.pk, item_ids=[theirs.pk],
                                  actor=services.Actor.system("test"))
    trade_url = services.order_pay(order=order, actor=services.Actor.system("test"))
    from jiaoguan.payments import simulator

    simulator.sim_trade_confirm(token=trade_url.rstrip("/").rsplit("/", 1)[1])
    services.order_reconcile(order=order, actor=services.Actor.system("test"))
    order.refresh_from_db()
    assert order.status == "paid"
    page = client.get("/me/payments/")
    assert reference_display(theirs.reference) not in text(page) and order.reference not in page.content.decode()
    assert client.get(f"/me/payments/orders/{order.reference}/").status_code == 404
    assert client.post(f"/me/payments/orders/{order.reference}/pay/").status_code == 404
    assert client.post(f"/me/payments/orders/{order.reference}/refresh/").status_code == 404
    assert client.get(f"/pay/receipt/{order.reference}/").status_code == 404
    r = client.get("/me/payments/lookup/", {"reference": theirs.reference})
    assert r.status_code == 404 and 'data-testid="payable"' not in r.content.decode()
    assert field_errors(r, "reference") == ["缴款记录不存在"]
    # ticking their item id by hand: "not found", no order made
    mine_unpaid = fine(me)
    r = client.post("/me/payments/", {"idempotency_key": "x" * 20, "item_ids": [str(theirs.pk)]})
    assert r.status_code == 404 and Order.objects.filter(payer_person_id=me.pk).count() == 0
    assert mine_unpaid.pk  # still listed for me
    assert "赵别人" not in text(client.get("/me/payments/"))


def test_lookup_finds_my_item_and_offers_to_pay_it(client, me):
    item = fine(me, amount_fen=15000)
    r = client.get("/me/payments/lookup/", {"reference": reference_display(item.reference)})  # typed with spaces
    assert r.status_code == 200
    page = text(r)
    assert reference_display(item.reference) in page and "¥150.00" in page and "缴纳此款项" in page
    r = client.post("/me/payments/", {"idempotency_key": key_of(r), "item_ids": [str(item.pk)]})
    assert r.status_code == 302 and r["Location"].startswith("/pay/sim/")


def test_bad_reference_is_a_field_error_before_any_lookup(client, me):
    item = fine(me)
    digits = item.reference
    wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/me/payments/lookup/", {"reference": wrong})
    assert r.status_code == 422
    assert field_errors(r, "reference") == ["缴款编号校验位错误，请核对后重新输入"]
    assert not [q for q in queries.captured_queries if "payments_payableitem" in q["sql"]]
    r = client.get("/me/payments/lookup/", {"reference": "12345"})
    assert r.status_code == 422 and field_errors(r, "reference") == ["缴款编号应为18位数字"]
    outside = "99999" + digits[5:]
    r = client.get("/me/payments/lookup/", {"reference": outside})
    assert r.status_code == 422 and field_errors(r, "reference") == ["该编号不是交警部门的缴款编号，请勿缴费"]
    r = client.get("/me/payments/lookup/", {"reference": wrong}, **EN)
    assert field_errors(r, "reference") == ["The check digits of the payment reference are wrong"]
    # well-formed but unknown: not found
    unknown = reference_make(kind=KIND_ITEM, sequence=987654)
    r = client.get("/me/payments/lookup/", {"reference": unknown})
    assert r.status_code == 404 and 'data-testid="payable"' not in r.content.decode()
    assert field_errors(r, "reference") == ["缴款记录不存在"]
    r = client.get("/me/payments/lookup/", {"reference": ""})
    assert r.status_code == 400


def test_an_order_being_paid_can_be_refreshed_and_paid_again(client, me, settings):
    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False  # the callback is lost: the citizen asks for the result
    item = fine(me)
    r = client.post("/me/payments/", order_form(client, item))
    order = Order.objects.get(payer_person_id=me.pk)
    detail = client.get(f"/me/payments/orders/{order.reference}/")
    assert "支付中" in text(detail) and "我已支付，刷新结果" in text(detail)
    again = client.post(f"/me/payments/orders/{order.reference}/pay/")
    assert again.status_code == 302 and again["Location"] == r["Location"]  # the same pay page
    r = client.post(f"/me/payments/orders/{order.reference}/refresh/", follow=True)
    assert "尚未收到支付结果" in text(r)
    client.post(again["Location"], {"action": "pay"})
    order.refresh_from_db()
    assert order.status == "paying"
    r = client.post(f"/me/payments/orders/{order.reference}/refresh/", follow=True)
    order.refresh_from_db()
    assert order.status == "paid" and "缴费成功" in text(r)
    assert f"/pay/receipt/{order.reference}/" in r.content.decode()


def test_bad_order_references_are_404(client, me):
    assert client.get("/me/payments/orders/123/").status_code == 404
    assert client.get("/me/payments/orders/not-a-ref/").status_code == 404
    assert client.get("/pay/receipt/123/").status_code == 404


def test_anonymous_and_english(client):
    client.logout()
    r = client.get("/me/payments/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    user, person, _, _ = citizen()
    client.force_login(user)
    fine(person)
    page = text(client.get("/me/payments/", **EN))
    assert "My payments" in page and "Fine for running a red light" in page and "Pay the selected items" in page
