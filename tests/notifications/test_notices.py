"""The notices a 12123 user expects (issue 9 §5): a violation recorded, a penalty decision, a fine paid, a refund,
a late fee starting. Each is an outbox event written with the change and delivered after commit; each reaches
the right person once, and nobody who may not see the record."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.models import OutboxEvent
from jiaoguan.core.outbox import event_deliver, events_due
from jiaoguan.notifications.models import Message
from jiaoguan.payments import services as payments
from jiaoguan.payments.models import PayableItem, SimTrade
from jiaoguan.violations import services as violations
from tests.factories import make_person, unique_phone
from tests.identity.helpers import later
from tests.violations.conftest import _media, camera, device, record  # noqa: F401 - fixtures
from tests.violations.test_handling import bind_other, citizen_with_car

pytestmark = pytest.mark.django_db

NOTICES = ("violation.recorded", "violation.warned", "decision.issued", "decision.warning", "payment.paid",
           "payment.refunded", "payment.late_fee")


def run_outbox() -> int:
    """Deliver every due outbox event, as the worker does after commit; every handler must succeed."""
    delivered = 0
    while ids := events_due():
        for event_id in ids:
            event_deliver(event_id)
            delivered += 1
    failed = OutboxEvent.objects.exclude(status=OutboxEvent.Status.DELIVERED)
    assert not failed.exists(), [(e.topic, e.handler, e.last_error) for e in failed]
    return delivered


def inbox(user, template: str) -> list[Message]:
    return list(Message.objects.filter(recipient=user, channel="inbox", template_code=template).order_by("pk"))


def sms(template: str) -> list[Message]:
    return list(Message.objects.filter(channel="sms", template_code=template).order_by("pk"))


def notices() -> list[tuple[str, str, int | None]]:
    return sorted((m.template_code, m.channel, m.recipient_id)
                  for m in Message.objects.filter(template_code__in=NOTICES))


# --- a violation recorded --------------------------------------------------------------------------------------

def test_recorded_violation_tells_the_owner_by_inbox_and_sms_without_personal_data(device):
    user, car = citizen_with_car()
    person = user.person
    v = camera(car, device, code="1352")
    assert OutboxEvent.objects.filter(topic="violations.violation_recorded").count() == 1
    assert not Message.objects.filter(template_code="violation.recorded").exists()  # not inside the transaction
    run_outbox()
    (message,) = inbox(user, "violation.recorded")
    assert car.plate in message.body and "¥200.00" in message.body and "3分" in message.body
    (text,) = sms("violation.recorded")
    assert text.phone == person.phone and text.body.startswith("【交管】") and car.plate in text.body
    for personal in (person.name, person.id_number, person.phone, person.address):
        assert personal not in text.body and personal not in message.body
    assert v.place in text.body


def test_a_resubmitted_device_record_and_a_second_delivery_send_nothing_more(device):
    user, car = citizen_with_car()
    first = camera(car, device, record_id="R-77")
    again = camera(car, device, record_id="R-77")
    assert again.pk == first.pk
    run_outbox()
    (event,) = OutboxEvent.objects.filter(topic="violations.violation_recorded")
    assert event_deliver(event.pk) == ""  # delivered already: the handler does not run again
    assert len(inbox(user, "violation.recorded")) == 1 and len(sms("violation.recorded")) == 1


def test_a_bound_user_is_told_only_of_violations_after_the_binding(device):
    owner, car = citizen_with_car()
    friend, _ = citizen_with_car()
    bind_other(friend, car)
    later(60)
    # happened before the binding, recorded after it: the owner is told, the friend may not see it
    camera(car, device, code="1352", when=clock.now() - dt.timedelta(days=3))
    run_outbox()
    assert len(inbox(owner, "violation.recorded")) == 1 and inbox(friend, "violation.recorded") == []
    camera(car, device, code="1357", when=clock.now())
    run_outbox()
    assert len(inbox(owner, "violation.recorded")) == 2 and len(inbox(friend, "violation.recorded")) == 1
    # SMS only to the owner's phone on file, never to the friend's
    assert [m.phone for m in sms("violation.recorded")] == [owner.person.phone] * 2


def test_an_owner_whose_account_may_not_see_the_records_gets_no_inbox_message_but_the_sms_on_file(device):
    user, car = citizen_with_car()
    person = user.person
    person.phone = unique_phone()  # updated at a window: the account no longer proves it is the owner's
    person.save()
    camera(car, device)
    run_outbox()
    assert inbox(user, "violation.recorded") == []
    assert [m.phone for m in sms("violation.recorded")] == [person.phone]


def test_a_first_violation_let_off_with_a_warning_says_so():
    owner = make_person()
    from tests.factories import make_vehicle

    old_car = make_vehicle(owner=owner, registered=clock.today() - dt.timedelta(days=800))
    v = record(old_car, code="1039")
    assert v.status == "waived"
    run_outbox()
    (text,) = sms("violation.warned")  # the owner has no account: the SMS to the phone on file only
    assert text.phone == owner.phone and "警告" in text.body and "¥" not in text.body
    assert sms("violation.recorded") == []


def test_a_plate_of_another_city_has_nobody_to_tell():
    record(None, plate="湘A12345", plate_type="02")
    run_outbox()
    assert notices() == []


# --- a penalty decision ----------------------------------------------------------------------------------------

def test_decision_tells_the_licence_holder_once_and_not_the_owner(device):
    owner, car = citizen_with_car()
    friend, _ = citizen_with_car()
    bind_other(friend, car)
    later(60)
    v = camera(car, device, code="1352", when=clock.now())
    run_outbox()
    d = violations.violation_handle_online(user=friend, violation_id=v.pk)
    assert violations.violation_handle_online(user=friend, violation_id=v.pk).pk == d.pk  # again: no new event
    run_outbox()
    (message,) = inbox(friend, "decision.issued")
    assert d.number in message.body and "¥200.00" in message.body
    due = d.decision_date + dt.timedelta(days=15)
    assert f"{due.year}年{due.month}月{due.day}日" in message.body
    assert [m.phone for m in sms("decision.issued")] == [friend.person.phone]
    assert inbox(owner, "decision.issued") == []


def test_a_warning_decision_has_nothing_to_pay(device, settings):
    settings.JIAOGUAN_VIOLATIONS = {"WAIVER_RULES": ()}
    user, car = citizen_with_car()
    v = camera(car, device, code="1019")  # a warning and 1 point
    violations.violation_handle_online(user=user, violation_id=v.pk)
    run_outbox()
    (message,) = inbox(user, "decision.warning")
    assert "警告" in message.body and "无需缴纳" in message.body
    assert inbox(user, "decision.issued") == []


# --- payments --------------------------------------------------------------------------------------------------

def _paid_item(user, settings) -> PayableItem:
    from jiaoguan.payments import simulator

    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False
    item = payments.payable_create(kind="fine", source_type="tests.notices", source_id=f"N{user.pk}",
                                   payer_person_id=user.person_id, amount_fen=20000,
                                   description_zh="闯红灯罚款", description_en="Fine for running a red light")
    payer = Actor.of(user)
    order = payments.order_create(payer_person_id=user.person_id, item_ids=[item.pk], actor=payer)
    payments.order_pay(order=order, actor=payer)
    trade = simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=order.reference).token)
    body, headers = simulator.sim_callback(trade, "paid")
    assert payments.callback_receive(channel="sim", body=body, headers=headers) == "settled"
    body, headers = simulator.sim_callback(trade, "paid")
    assert payments.callback_receive(channel="sim", body=body, headers=headers) == "duplicate"
    item.refresh_from_db()
    return item


def test_a_payment_tells_the_payer_once(settings):
    user, _ = citizen_with_car()
    _paid_item(user, settings)
    run_outbox()
    (message,) = inbox(user, "payment.paid")
    assert "闯红灯罚款" in message.body and "¥200.00" in message.body
    assert [m.phone for m in sms("payment.paid")] == [user.person.phone]


def test_a_completed_refund_tells_the_payer_once(settings):
    user, _ = citizen_with_car()
    item = _paid_item(user, settings)
    refund = payments.refund_create(item=item, actor=Actor(id=7, label="clerk", role="clerk"), reason="撤销")
    run_outbox()
    assert inbox(user, "payment.refunded") == []  # asked for, not yet back
    for _ in range(2):
        payments.refund_complete(channel="sim", out_refund_no=refund.refund_no, refund_no="SIM-RF-1")
    run_outbox()
    (message,) = inbox(user, "payment.refunded")
    assert "¥200.00" in message.body and refund.refund_no in message.body


def test_the_late_fee_notice_is_sent_once_on_its_first_day(clock):
    clock.freeze(dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC))  # 09:00 in Shenzhen
    user, _ = citizen_with_car()
    no_account = make_person()
    decided = clock.today()
    late = [payments.payable_create(kind="fine", source_type="tests.late", source_id=f"L{p}", payer_person_id=p,
                                    amount_fen=20000, description_zh="违停罚款", description_en="Parking fine",
                                    decision_date=decided, late_fee=True)
            for p in (user.person_id, no_account.pk)]
    payments.payable_create(kind="fee", source_type="tests.late", source_id="no-fee", payer_person_id=user.person_id,
                            amount_fen=5000, description_zh="工本费", description_en="Fee", decision_date=decided)
    clock.freeze(dt.datetime(2026, 3, 16, 15, 59, tzinfo=dt.UTC))  # 23:59 local on the 15th day
    assert payments.late_fee_notices_send() == 0
    clock.freeze(dt.datetime(2026, 3, 16, 16, 30, tzinfo=dt.UTC))  # 00:30 local on the 16th day
    assert payments.late_fee_notices_send() == 2
    assert payments.late_fee_notices_send() == 0
    clock.advance(dt.timedelta(days=3))
    assert payments.late_fee_notices_send() == 0
    run_outbox()
    (message,) = inbox(user, "payment.late_fee")
    assert "2026年3月17日" in message.body and "¥6.00" in message.body and "违停罚款" in message.body
    # the payer without an account: the SMS to the phone on file; one SMS per item in all
    assert sorted(m.phone for m in sms("payment.late_fee")) == sorted([user.person.phone, no_account.phone])
    assert all(PayableItem.objects.get(pk=i.pk).late_fee_notice_at is not None for i in late)


def test_a_fine_paid_before_its_late_fee_starts_gets_no_late_fee_notice(clock, settings):
    clock.freeze(dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC))
    user, _ = citizen_with_car()
    item = _paid_item(user, settings)
    PayableItem.objects.filter(pk=item.pk).update(late_fee=True, decision_date=clock.today())
    clock.advance(dt.timedelta(days=40))
    assert payments.late_fee_notices_send() == 0
    run_outbox()
    assert inbox(user, "payment.late_fee") == []
