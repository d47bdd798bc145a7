"""Portal and console pages: the booking flow without JavaScript, refusals with every reason, the e-mark with its
QR code and the public verification page; the console's stations, slot generation, day view and results."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from jiaoguan.bookings.models import Booking, Slot
from jiaoguan.core import clock as core_clock
from jiaoguan.inspections.models import InspectionBooking, InspectionMark, Station
from tests.inspections.conftest import first_slot, make_station, owner, unsettled_violation
from tests.portal.support import EN, staff_user, text

pytestmark = pytest.mark.django_db
HOME = "/me/inspections/"


def key_of(response) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode()).group(1)


def test_anonymous_goes_to_login(client):
    r = client.get(HOME)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_home_shows_what_each_vehicle_can_do(client, station):
    user, car = owner()
    from tests.inspections.conftest import due_vehicle

    due_vehicle(user.person, years=4)
    later = due_vehicle(user.person, days_ahead=300)
    unsettled_violation(later)
    client.force_login(user)
    r = client.get(HOME)
    body = text(r)
    assert r.status_code == 200
    assert "预约检验" in body and "申领检验标志" in body and "暂不能办理" in body
    assert "交通违法未处理" in body and "方可办理检验" in body
    r = client.get(HOME, **EN)
    assert "Book an inspection" in text(r) and "Apply for the inspection mark" in text(r)


def test_booking_flow_without_javascript(client, station):
    user, car = owner()
    client.force_login(user)
    r = client.get(f"/me/inspections/book/{car.pk}/")
    assert r.status_code == 200 and station.name_zh in text(r)
    day = (core_clock.today() + dt.timedelta(days=1)).isoformat()
    r = client.get(f"/me/inspections/book/{car.pk}/stations/{station.pk}/?date={day}")
    body = text(r)
    assert r.status_code == 200 and "09:00–10:00" in body and "剩余 2 个" in body
    slot = first_slot(station)
    k = key_of(r)
    r = client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": k})
    b = Booking.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/me/inspections/bookings/{b.pk}/"
    client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": k})  # double click
    assert Booking.objects.count() == 1
    r = client.get(r["Location"])
    body = text(r)
    assert "请确认预约" in body and "逾期自动释放" in body and b.reference in body
    from django.utils import timezone

    assert timezone.localtime(b.hold_expires_at).strftime("%Y-%m-%d %H:%M:%S") in body
    r = client.post(f"/me/inspections/bookings/{b.pk}/confirm/", follow=True)
    assert "预约成功" in text(r) and "取消预约" in text(r)
    r = client.get(HOME)
    assert b.reference in text(r) and "已预约" in text(r)
    r = client.post(f"/me/inspections/bookings/{b.pk}/cancel/", follow=True)
    assert "预约已取消" in text(r)
    assert Booking.objects.get().status == "cancelled"


def test_refused_hold_shows_every_reason_and_writes_nothing(client, station):
    user, car = owner(insured=False)
    unsettled_violation(car)
    client.force_login(user)
    slot = first_slot(station)
    r = client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": "x" * 20})
    body = text(r)
    assert r.status_code == 409 and "未能预约" in body and "交强险" in body and "交通违法" in body
    assert Booking.objects.count() == 0 and InspectionBooking.objects.count() == 0


def test_someone_elses_vehicle_or_booking_is_404(client, station):
    user, car = owner()
    other, other_car = owner(name="蒋别人")
    client.force_login(other)
    slot = first_slot(station)
    client.post(f"/me/inspections/book/{other_car.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": "y" * 20})
    theirs = Booking.objects.get()
    client.force_login(user)
    assert client.get(f"/me/inspections/book/{other_car.pk}/").status_code == 404
    assert client.post(f"/me/inspections/book/{other_car.pk}/hold/",
                       {"slot_id": slot.pk, "idempotency_key": "z" * 20}).status_code == 404
    assert client.get(f"/me/inspections/bookings/{theirs.pk}/").status_code == 404
    assert client.post(f"/me/inspections/bookings/{theirs.pk}/cancel/").status_code == 404
    assert client.get(f"/me/inspections/marks/apply/{other_car.pk}/").status_code == 404
    assert Booking.objects.count() == 1


def test_full_slot_page(client):
    s = make_station("pf", lanes=1, days=1)
    slot = first_slot(s)
    u1, c1 = owner()
    u2, c2 = owner(name="沈后来")
    client.force_login(u1)
    client.post(f"/me/inspections/book/{c1.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": "a" * 20})
    client.force_login(u2)
    day = core_clock.today() + dt.timedelta(days=1)
    r = client.get(f"/me/inspections/book/{c2.pk}/stations/{s.pk}/?date={day.isoformat()}")
    assert "已约满" in text(r)
    r = client.post(f"/me/inspections/book/{c2.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": "b" * 20})
    assert r.status_code == 409 and "名额已满" in text(r)


def test_mark_apply_page_e_mark_and_public_verification(client):
    user, car = owner(years=4)
    client.force_login(user)
    r = client.get(f"/me/inspections/marks/apply/{car.pk}/")
    assert r.status_code == 200 and "确认申领" in text(r)
    r = client.post(f"/me/inspections/marks/apply/{car.pk}/", {"idempotency_key": key_of(r)}, follow=True)
    m = InspectionMark.objects.get()
    body = text(r)
    assert "检验标志已核发" in body and m.number in body and str(m.year) in body
    assert "<svg" in r.content.decode() and f"/me/inspections/verify/{m.number}/{m.token}/" in r.content.decode()
    client.logout()
    r = client.get(f"/me/inspections/verify/{m.number}/{m.token}/")
    body = text(r)
    assert r.status_code == 200 and "真实有效" in body and car.plate not in body and "***" in body
    assert client.get(f"/me/inspections/verify/{m.number}/wrongtoken/").status_code == 404
    assert client.get(f"/me/inspections/marks/{m.number}/").status_code == 302  # the mark page needs login


def test_non_exempt_mark_page_points_to_booking(client):
    user, car = owner()
    client.force_login(user)
    r = client.post(f"/me/inspections/marks/apply/{car.pk}/", {"idempotency_key": "c" * 20})
    assert r.status_code == 409 and "上线检验" in text(r) and InspectionMark.objects.count() == 0


# --- console --------------------------------------------------------------------------------------------------------

def test_console_stations_and_generation(client):
    client.force_login(staff_user("approver", "appr801"))
    r = client.post("/console/inspections/", {"code": "con01", "name_zh": "宝安检测站", "name_en": "Bao'an station",
                                              "district": "宝安区", "address": "深圳市宝安区1号", "lanes": 3})
    s = Station.objects.get(code="con01")
    assert r.status_code == 302 and r["Location"] == f"/console/inspections/stations/{s.pk}/"
    first = core_clock.today() + dt.timedelta(days=1)
    r = client.post(f"/console/inspections/stations/{s.pk}/", {
        "first": first.isoformat(), "last": (first + dt.timedelta(days=1)).isoformat(), "opens": "09:00",
        "closes": "10:00", "minutes": "30", "lanes": "3", "weekdays": [str(i) for i in range(7)]}, follow=True)
    assert "已生成 4 个时段" in text(r) and Slot.objects.filter(resource=s.resource).count() == 4
    r = client.post(f"/console/inspections/stations/{s.pk}/", {
        "first": first.isoformat(), "last": first.isoformat(), "opens": "10:00", "closes": "09:00",
        "minutes": "30", "lanes": "3", "weekdays": ["0"]})
    assert r.status_code == 422 and "结束营业时间须晚于开始时间" in text(r)


def test_console_roles(client, station):
    client.force_login(staff_user("clerk", "clerk801"))
    assert client.get("/console/inspections/").status_code == 200
    r = client.post("/console/inspections/", {"code": "nope"})
    assert r.status_code == 403
    r = client.post(f"/console/inspections/stations/{station.pk}/active/", {"active": "0"})
    assert r.status_code == 403 and Station.objects.get(pk=station.pk).active
    user, _car = owner()
    client.force_login(user)
    assert client.get("/console/inspections/").status_code == 403


def test_console_day_attendance_and_result(client, station, clock):
    user, car = owner()
    client.force_login(user)
    slot = first_slot(station)
    client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": slot.pk, "idempotency_key": "d" * 20})
    b = Booking.objects.get()
    client.post(f"/me/inspections/bookings/{b.pk}/confirm/")
    client.force_login(staff_user("clerk", "clerk802"))
    day = core_clock.today() + dt.timedelta(days=1)
    url = f"/console/inspections/stations/{station.pk}/day/?date={day.isoformat()}"
    body = text(client.get(url))
    assert b.reference in body and car.plate not in body and "时段开始后可登记到场" in body
    clock.freeze(slot.starts_at + dt.timedelta(minutes=3))
    r = client.post(f"/console/inspections/bookings/{b.pk}/attendance/", {"attended": "1"}, follow=True)
    assert "已登记到场" in text(r) and "检验合格" in text(r)
    r = client.post(f"/console/inspections/bookings/{b.pk}/result/", {"passed": "0", "note": ""}, follow=True)
    assert "不合格须填写不合格项目" in text(r)
    r = client.post(f"/console/inspections/bookings/{b.pk}/result/", {"passed": "0", "note": "灯光不合格"}, follow=True)
    assert "已录入检验不合格" in text(r) and "灯光不合格" in text(r)
    assert InspectionBooking.objects.get().result == "failed"


def test_station_choice_only_when_a_slot_could_be_booked(client, clock):
    clock.freeze(dt.datetime(2026, 12, 20, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    station = make_station("soon")
    user, car = owner(days_ahead=200)
    client.force_login(user)
    r = client.get(f"/me/inspections/book/{car.pk}/")
    assert r.status_code == 200 and "方可办理检验" in text(r) and station.name_zh not in text(r)
    soon_user, soon_car = owner(days_ahead=95, name="韩快到")
    assert soon_car.inspection_due == dt.date(2027, 3, 31)  # the window opens on 2026-12-31, within 14 days
    client.force_login(soon_user)
    r = client.get(f"/me/inspections/book/{soon_car.pk}/")
    assert station.name_zh in text(r) and "可以选择符合条件之日的时段" in text(r)
