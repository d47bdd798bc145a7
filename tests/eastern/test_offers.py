"""The eastern pages offer an action exactly when the service accepts it (one rule for both): the citizen's
延误报备 (rules.delay_block) and 取消预约 (bookings' citizen cancel rule) on 我的东部预约, and the merchants' form
on a day page (rules.merchant_user)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from jiaoguan.core import clock as core_clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import DomainError
from jiaoguan.eastern import rules, selectors, services
from tests.eastern.conftest import slots_of
from tests.eastern.test_services import merchant_user
from tests.portal.support import citizen

pytestmark = pytest.mark.django_db


def _accepts(call) -> bool:
    try:
        call()
    except DomainError:
        return False
    return True


@pytest.mark.parametrize("state", ["confirmed", "delayed", "started", "ended", "cancelled"])
@pytest.mark.parametrize("action", ["delay", "cancel"])
def test_home_offers_delay_and_cancel_iff_the_service_accepts(state, action, day, clock, client):
    clock.freeze(core_clock.now())
    user, _, _, car = citizen()
    ab = services.booking_create(user=user, area_code=day.area.code, date=day.date, slot_id=slots_of(day)[0].pk,
                                 vehicle_id=car.pk, actor=Actor.of(user))
    if state == "delayed":
        services.booking_delay(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    elif state == "started":
        clock.freeze(ab.starts_at + dt.timedelta(minutes=1))
    elif state == "ended":
        clock.freeze(ab.slot_ends_at + dt.timedelta(minutes=1))
    elif state == "cancelled":
        services.booking_cancel(user=user, area_booking_id=ab.pk, actor=Actor.of(user))
    client.force_login(user)
    page = client.get(reverse("portal:eastern_portal:home")).content.decode()
    url = reverse(f"portal:eastern_portal:{action}", args=[ab.pk])
    shown = f'action="{url}"' in page if action == "delay" else f'href="{url}"' in page
    ab = selectors.my_booking(user=user, area_booking_id=ab.pk)
    offered = (selectors.may_report_delay(area_booking=ab) if action == "delay"
               else selectors.may_cancel(area_booking=ab))
    service = services.booking_delay if action == "delay" else services.booking_cancel
    accepted = _accepts(lambda: service(user=user, area_booking_id=ab.pk, actor=Actor.of(user)))
    assert shown == offered == accepted
    if state == "confirmed":
        assert accepted  # the matrix is not vacuous


@pytest.mark.parametrize("who", ["hotel", "citizen"])
def test_merchant_form_offered_iff_merchant_book_accepts(who, day, client):
    user = merchant_user() if who == "hotel" else citizen()[0]
    client.force_login(user)
    shown = "酒店和商户：为住客预约" in client.get(reverse(
        "portal:eastern_portal:day", args=[day.area.code, day.date.isoformat()])).content.decode()
    accepted = _accepts(lambda: services.merchant_book(user=user, area_code=day.area.code, date=day.date,
                                                       slot_id=slots_of(day)[0].pk, plates=[("湘A12321", "02")],
                                                       actor=Actor.of(user)))
    assert shown == rules.merchant_user(user) == accepted == (who == "hotel")
