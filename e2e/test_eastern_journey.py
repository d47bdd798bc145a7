"""Journey (东部预约): a citizen books a slot for their car on a booking day of 大鹏半岛, sees it in "my eastern
bookings", reports a delay (the entry window grows by 6 hours), and looks at the cancel page with its warning."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.eastern.models import AreaBooking
from tests.eastern.conftest import _media, _seed, make_area, make_day  # noqa: F401 - autouse fixtures
from tests.portal.support import PASSWORD, citizen

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(j, user, next_path: str):
    j.goto(f"/login/?next={next_path}")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(f"**{next_path}")


def test_book_a_slot_and_report_a_delay(journey):
    area = make_area()
    make_area("meisha", "盐田梅沙", "Yantian Meisha")
    day = make_day(area, daily=40000, merchant=10000, slots=6, first=dt.time(6, 0), period_key="2026-national-day")
    user, _person, _licence, car = citizen(name="林东游")
    j = journey("eastern-booking")
    page = j.page
    log_in(j, user, "/me/east/")

    # 1. the areas with their booking days and the exemption notice
    body = j.text()
    assert "东部预约通行" in body and "大鹏半岛" in body and "免预约车辆" in body
    assert "暂无有效的东部预约" in body
    j.shot("01-home")

    # 2. a day: slots with free public seats; choose the first slot and my car
    page.get_by_role("link", name=day.date.isoformat()).first.click()
    page.wait_for_url(f"**/me/east/dapeng/{day.date.isoformat()}/")
    body = j.text()
    assert "各时段余量" in body and "5000 / 5000" in body and car.plate[2:] in body
    j.shot("02-day")
    page.get_by_label("06:00–08:00", exact=False).check()
    page.get_by_label(car.plate[2:], exact=False).check()
    page.get_by_role("button", name="确认预约").click()
    page.wait_for_url("**/me/east/")
    ab = AreaBooking.objects.get()
    assert ab.plate == car.plate and ab.booking.status == Booking.Status.CONFIRMED
    body = j.text()
    assert "预约成功" in body and ab.booking.reference in body and "取消3次将失去本假期预约资格" in body
    j.shot("03-booked")

    # 3. report a delay: the latest entry time moves 6 hours later
    page.get_by_role("button", name="报备延误").click()
    page.wait_for_url("**/me/east/")
    ab.refresh_from_db()
    assert ab.delay_reported_at is not None
    body = j.text()
    assert "已报备延误" in body and "14:00" in body
    assert page.get_by_role("button", name="报备延误").count() == 0
    j.shot("04-delayed")

    # 4. the cancel page warns about the penalty (not cancelled here)
    page.get_by_role("link", name="取消预约").click()
    page.wait_for_url(f"**/me/east/bookings/{ab.pk}/cancel/")
    assert "取消3次将失去本假期预约资格" in j.text()
    j.shot("05-cancel")
    assert Booking.objects.get(pk=ab.booking_id).status == Booking.Status.CONFIRMED
