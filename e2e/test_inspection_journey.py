"""Journeys (inspections): a citizen books an on-site inspection (station → date → slot → hold → confirm) and
sees the booking; the owner of a car in an exempt year gets the electronic inspection mark online, with its QR
code, and the public verification page shows it (masked plate only)."""
from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.bookings.models import Booking
from jiaoguan.inspections.models import InspectionMark
from tests.inspections.conftest import make_station, owner
from tests.portal.support import PASSWORD, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(j, user, path: str = "/me/inspections/"):
    j.goto(f"/login/?next={path}")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url(f"**{path}")


def test_book_an_inspection_slot(journey):
    station = make_station("nanshan01", lanes=3, days=5, name_zh="南山机动车检测站",
                           name_en="Nanshan Vehicle Inspection Station", address="深圳市南山区沙河西路3011号")
    make_station("futian01", lanes=2, days=5, name_zh="福田安托山检测站", name_en="Futian Antuoshan Inspection Station",
                 district="福田区", address="深圳市福田区安托山六路8号")
    user, car = owner(name="林检验")
    j = journey("inspection-booking")
    page = j.page
    log_in(j, user)

    # 1. my vehicles and what each can do
    body = j.text()
    assert "机动车检验" in body and "上线检验" in body and "即将到期" in body
    j.shot("01-home")

    # 2. choose a station
    page.get_by_role("link", name="预约检验", exact=True).click()
    page.wait_for_url(f"**/me/inspections/book/{car.pk}/")
    assert station.name_zh in j.text()
    j.shot("02-stations")
    page.locator("li", has_text=station.name_zh).get_by_role("link", name="选择此检测站").click()
    page.wait_for_url(f"**/me/inspections/book/{car.pk}/stations/*/")

    # 3. dates with free seats and the day's slots
    body = j.text()
    assert "选择日期" in body and "09:00–10:00" in body and "剩余 3 个" in body
    j.shot("03-slots")
    page.get_by_role("button", name="选择 09:00").click()
    page.wait_for_url("**/me/inspections/bookings/*/")

    # 4. the hold: expiry time and the confirm button
    b = Booking.objects.get()
    body = j.text()
    assert "请确认预约" in body and "逾期自动释放" in body and b.reference in body and b.status == "held"
    j.shot("04-hold")
    page.get_by_role("button", name="确认预约").click()
    page.wait_for_url(f"**/me/inspections/bookings/{b.pk}/")
    b.refresh_from_db()
    assert b.status == "confirmed" and "预约成功" in j.text() and "取消预约" in j.text()
    j.shot("05-confirmed")

    # 5. the booking on the inspections page
    page.get_by_role("link", name="返回我的检验预约").click()
    page.wait_for_url("**/me/inspections/#bookings")
    body = j.text()
    assert b.reference in body and "预约成功" in body
    j.shot("06-my-bookings")

    # 5b. the same booking on 我的预约, the list of every kind of booking, with its cancel button
    j.goto("/me/bookings/")
    body = j.text()
    assert b.reference in body and station.name_zh in body and car.plate in body and "取消预约" in body
    j.shot("06b-all-bookings")

    # 6. the station's day in the staff console: the booking with the plate masked
    staff_user("clerk", "clerk601", display_name="检验林警官")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    j.goto("/console/login/")
    page.get_by_label("用户名（警号）").fill("clerk601")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(j.base_url + "/console/")
    j.goto("/console/inspections/")
    assert station.name_zh in j.text()
    day = timezone.localtime(b.slot.starts_at).date().isoformat()
    j.goto(f"/console/inspections/stations/{station.pk}/day/?date={day}")
    body = j.text()
    assert b.reference in body and car.plate not in body and "时段开始后可登记到场" in body
    j.shot("07-console-day")


def test_exempt_car_gets_the_electronic_mark(journey):
    user, car = owner(years=4, name="何免检")
    j = journey("inspection-mark")
    page = j.page
    log_in(j, user)
    assert "免检，网上申领检验标志" in j.text()
    page.get_by_role("link", name="申领检验标志").click()
    page.wait_for_url(f"**/me/inspections/marks/apply/{car.pk}/")
    assert "该车符合免检条件" in j.text()
    j.shot("01-apply")
    page.get_by_role("button", name="确认申领").click()
    page.wait_for_url("**/me/inspections/marks/*/")
    m = InspectionMark.objects.get()
    body = j.text()
    assert "检验标志已核发" in body and m.number in body and str(m.year) in body
    assert page.locator(".qr-box svg").count() == 1
    j.shot("02-mark")

    # the address in the QR code: anyone may check it, and sees the masked plate only
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(j.base_url + "/")
    j.goto(f"/me/inspections/verify/{m.number}/{m.token}/")
    body = j.text()
    assert "真实有效" in body and car.plate not in body and car.plate[-2:] in body
    j.shot("03-verify")
