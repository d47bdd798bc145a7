"""Stored texts follow the reader's language (issue 9 §6): an inbox message sent in Chinese reads in English on
an English page, and a payment item's name does too on the order page and the e-receipt."""
import pytest

from jiaoguan.core.audit import Actor
from jiaoguan.notifications.services import message_send
from jiaoguan.payments import services as payments
from jiaoguan.payments.models import SimTrade
from tests.portal.support import EN, citizen, text

pytestmark = pytest.mark.django_db


def test_a_chinese_message_reads_in_english_on_an_english_page(client):
    user, *_ = citizen()
    assert user.preferred_language == "zh-hans"
    message_send(template="inspection.due", user=user, channels=("inbox",),
                 params={"plate": "粤B12345", "date": "2030-01-31"})
    client.force_login(user)
    english = text(client.get("/me/messages/", **EN))
    assert "Vehicle inspection due" in english and "must be inspected by 2030-01-31" in english
    assert "机动车检验提醒" not in english and "请及时预约检验" not in english
    chinese = text(client.get("/me/messages/"))
    assert "机动车检验提醒" in chinese and "请及时预约检验" in chinese and "must be inspected" not in chinese


def test_a_payment_items_name_reads_in_english_on_the_order_page_and_the_receipt(client, settings):
    from jiaoguan.payments import simulator

    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False
    user, person, *_ = citizen()
    item = payments.payable_create(kind="fine", source_type="tests.portal", source_id="LANG-1",
                                   payer_person_id=person.pk, amount_fen=20000,
                                   description_zh="闯红灯罚款", description_en="Fine for running a red light")
    order = payments.order_create(payer_person_id=person.pk, item_ids=[item.pk], actor=Actor.of(user))
    client.force_login(user)
    page = f"/me/payments/orders/{order.reference}/"
    assert "Fine for running a red light" in text(client.get(page, **EN))
    assert "闯红灯罚款" not in text(client.get(page, **EN))
    assert "闯红灯罚款" in text(client.get(page))
    payments.order_pay(order=order, actor=Actor.of(user))
    trade = simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=order.reference).token)
    body, headers = simulator.sim_callback(trade, "paid")
    payments.callback_receive(channel="sim", body=body, headers=headers)
    receipt = f"/pay/receipt/{order.reference}/"
    assert "Fine for running a red light" in text(client.get(receipt, **EN))
    assert "闯红灯罚款" in text(client.get(receipt))
