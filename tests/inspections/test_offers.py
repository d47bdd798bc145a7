"""The inspection pages offer a button exactly when the service would accept it (one rule for both) and say why
when they do not: the owner's give-up button (bookings.rules.give_up_block), choosing a station
(rules.choose_refusals), the console's result buttons (rules.result_block) and attendance
(bookings.rules.mark_block)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.bookings.models import Booking
from jiaoguan.core import clock as core_clock
from jiaoguan.core.errors import Conflict
from jiaoguan.inspections import rules, selectors, services
from tests.inspections.conftest import CLERK, SYS, first_slot, owner
from tests.portal.support import EN, staff_user, text

pytestmark = pytest.mark.django_db


def _booked(station, *, confirm=True):
    user, car = owner()
    ib = services.inspection_book(user=user, vehicle_id=car.pk, slot_id=first_slot(station).pk, actor=SYS)
    if confirm:
        ib = services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    return user, car, ib


def _code(call) -> str | None:
    try:
        call()
    except Conflict as exc:
        return exc.code
    return None


@pytest.mark.parametrize("state", ["held", "confirmed", "no_show", "attended", "passed", "failed"])
def test_result_offered_iff_inspection_result_accepts(state, station, clock):
    _user, _car, ib = _booked(station, confirm=state != "held")
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=5))
    if state in ("no_show", "attended", "passed", "failed"):
        services.inspection_attendance(booking_id=ib.booking_id, attended=state != "no_show", actor=CLERK)
    if state in ("passed", "failed"):
        services.inspection_result(booking_id=ib.booking_id, passed=state == "passed", note="灯光", actor=CLERK)
    ib = selectors.staff_booking(booking_id=ib.booking_id)
    block = rules.result_block(status=ib.booking.status, result=ib.result)
    got = _code(lambda: services.inspection_result(booking_id=ib.booking_id, passed=True, actor=CLERK))
    assert got == block and (block is None) == (state == "attended")


@pytest.mark.parametrize("state", ["held", "held_expired", "confirmed", "past_deadline", "cancelled"])
def test_give_up_offered_iff_inspection_cancel_accepts(state, station, clock, client):
    """The owner's 放弃此名额 / 取消预约: shown exactly when inspection_cancel accepts. A hold whose time has
    run out is not offered, and the engine no longer releases it either (it used to, behind the page's back)."""
    clock.freeze(core_clock.now())
    user, _car, ib = _booked(station, confirm=state not in ("held", "held_expired"))
    if state == "held_expired":
        clock.advance(dt.timedelta(minutes=11))
    elif state == "past_deadline":
        clock.freeze(ib.booking.slot.cancel_until + dt.timedelta(minutes=1))
    elif state == "cancelled":
        services.inspection_cancel(user=user, booking_id=ib.booking_id, actor=SYS)
    client.force_login(user)
    page = client.get(f"/me/inspections/bookings/{ib.booking_id}/").content.decode()
    shown = f'action="/me/inspections/bookings/{ib.booking_id}/cancel/"' in page
    got = _code(lambda: services.inspection_cancel(user=user, booking_id=ib.booking_id, actor=SYS))
    assert shown == (got is None) == (state in ("held", "confirmed"))


def test_past_the_deadline_the_page_says_why_there_is_no_cancel(station, clock, client):
    clock.freeze(core_clock.now())
    user, _car, ib = _booked(station)
    clock.freeze(ib.booking.slot.cancel_until + dt.timedelta(minutes=1))
    client.force_login(user)
    url = f"/me/inspections/bookings/{ib.booking_id}/"
    r = client.get(url)
    assert f'action="{url}cancel/"' not in r.content.decode()
    assert "取消截止时间已过" in text(r)
    assert "The deadline for cancelling has passed" in text(client.get(url, **EN))
    assert Booking.objects.get(pk=ib.booking_id).status == "confirmed"


def test_a_car_due_within_the_booking_horizon_is_offered_a_booking(client, station, settings):
    """Not due today but due in three days: the home page offers 预约检验 as the station page allows it (it
    used to say only "暂不能办理"), and booking a slot on a day it is due succeeds."""
    user, car = owner()
    today = core_clock.today()
    settings.JIAOGUAN_INSPECTIONS = {"DUE_WINDOW_DAYS": (car.inspection_due - today).days - 3}
    option = selectors.vehicle_option(vehicle=car)
    assert option.action == rules.NONE and option.can_choose
    client.force_login(user)
    page = client.get("/me/inspections/").content.decode()
    assert f'href="/me/inspections/book/{car.pk}/"' in page
    r = client.get(f"/me/inspections/book/{car.pk}/")
    assert "选择此检测站" in text(r)


def test_console_day_says_why_no_buttons(client, station, clock):
    _user, car, ib = _booked(station)
    client.force_login(staff_user("clerk", "clerk811"))
    day = core_clock.localdate(ib.booking.slot.starts_at)
    url = f"/console/inspections/stations/{station.pk}/day/?date={day.isoformat()}"
    assert "时段开始后可登记到场" in text(client.get(url))
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=3))
    services.inspection_attendance(booking_id=ib.booking_id, attended=True, actor=CLERK)
    services.inspection_result(booking_id=ib.booking_id, passed=True, actor=CLERK)
    r = client.get(url)
    page = r.content.decode()
    assert f"/console/inspections/bookings/{ib.booking_id}/result/" not in page
    assert f"/console/inspections/bookings/{ib.booking_id}/attendance/" not in page
    assert "检验结果已录入" in text(r)
    assert "The result has already been recorded" in text(client.get(url, **EN))


FACTS = rules.Facts(status="normal", status_zh="正常", status_en="Normal", on_site=True, due=dt.date(2027, 1, 31),
                    on=dt.date(2026, 12, 7), insured=True, unsettled=0, window_days=30)


@given(status=st.sampled_from(["normal", "mortgaged", "seized", "scrapped"]), on_site=st.booleans(),
       due_in=st.integers(-30, 120), insured=st.booleans(), unsettled=st.integers(0, 2),
       window=st.integers(0, 90), ahead=st.integers(0, 30))
def test_choose_refusals_is_some_day_the_service_accepts(status, on_site, due_in, insured, unsettled, window, ahead):
    """A station may be chosen exactly when some day from today to the horizon is one on which inspection_book's
    rule (booking_refusals, on the slot's day) has nothing against the vehicle."""
    f = dataclasses.replace(FACTS, status=status, on_site=on_site, due=FACTS.on + dt.timedelta(days=due_in),
                            insured=insured, unsettled=unsettled, window_days=window)
    horizon = f.on + dt.timedelta(days=ahead)
    some_day = any(not rules.booking_refusals(dataclasses.replace(f, on=f.on + dt.timedelta(days=d)))
                   for d in range(ahead + 1))
    assert (not rules.choose_refusals(f, horizon=horizon)) == some_day


@pytest.mark.parametrize("role", ["clerk", "approver"])
def test_console_forms_offered_iff_the_services_accept(role, station, client):
    """添加检测站 and 批量生成时段 are shown exactly to the staff whose role station_create / slots_generate
    accept (one permission, services.MANAGE); anyone else posting gets the forbidden page and changes nothing."""
    from jiaoguan.console.inspections.views import can_manage
    from jiaoguan.core.audit import Actor
    from jiaoguan.core.errors import Forbidden

    user = staff_user(role, f"{role[:4]}812")
    client.force_login(user)
    index = client.get("/console/inspections/").content.decode()
    page = client.get(f"/console/inspections/stations/{station.pk}/").content.decode()
    actor = Actor.of(user)
    today = core_clock.today()
    try:
        services.slots_generate(station_id=station.pk, actor=actor, first=today + dt.timedelta(days=20),
                                last=today + dt.timedelta(days=20), opens=dt.time(9), closes=dt.time(10),
                                minutes=60)
        accepted = True
    except Forbidden:
        accepted = False
    assert ("添加检测站" in index) == ("批量生成时段" in page) == can_manage(user) == accepted == (role == "approver")
    if not accepted:
        r = client.post("/console/inspections/", {"code": "x1", "name_zh": "站", "name_en": "S", "district": "南山",
                                                  "address": "路1号", "lanes": 2})
        assert r.status_code == 403
