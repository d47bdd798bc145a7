"""The citizens' pages at /me/east/: areas and days, booking for my car, delay report, cancel with the warning."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from jiaoguan.bookings.models import Booking
from jiaoguan.core.audit import Actor
from jiaoguan.eastern import services
from jiaoguan.eastern.models import AreaBooking
from tests.eastern.conftest import slots_of
from tests.factories import make_person, make_vehicle
from tests.portal.support import citizen

pytestmark = pytest.mark.django_db


def day_url(day):
    return reverse("portal:eastern_portal:day", args=[day.area.code, day.date.isoformat()])


def test_home_needs_login_and_lists_areas(client, day):
    r = client.get(reverse("portal:eastern_portal:home"))
    assert r.status_code == 302 and "/login/" in r["Location"]
    user, _, _, _ = citizen()
    client.force_login(user)
    page = client.get(reverse("portal:eastern_portal:home")).content.decode()
    assert "大鹏半岛" in page and day.date.isoformat() in page and "免预约车辆" in page


def test_book_from_the_day_page(client, day):
    user, _, _, car = citizen()
    client.force_login(user)
    page = client.get(day_url(day))
    assert page.status_code == 200 and car.plate[2:] in page.content.decode()
    slot = slots_of(day)[0]
    r = client.post(day_url(day), {"slot": slot.pk, "vehicle": car.pk, "plate_type": "02",
                                   "idempotency_key": "portal-key-0001"})
    assert r.status_code == 302, r.content.decode()[:2000]
    again = client.post(day_url(day), {"slot": slot.pk, "vehicle": car.pk, "plate_type": "02",
                                       "idempotency_key": "portal-key-0001"})
    assert again.status_code == 302  # a double submit is the same booking
    assert AreaBooking.objects.count() == 1
    home = client.get(reverse("portal:eastern_portal:home")).content.decode()
    assert "报备延误" in home and "取消3次将失去本假期预约资格" in home


def test_second_booking_same_plate_is_refused_on_the_page(client, day):
    user, _, _, car = citizen()
    client.force_login(user)
    slots = slots_of(day)
    client.post(day_url(day), {"slot": slots[0].pk, "vehicle": car.pk, "idempotency_key": "portal-key-0002"})
    r = client.post(day_url(day), {"slot": slots[1].pk, "vehicle": car.pk, "idempotency_key": "portal-key-0003"})
    assert r.status_code == 409
    assert "已有一个有效预约" in r.content.decode()
    assert AreaBooking.objects.count() == 1


def test_typed_plate_of_another_city_and_refusals(client, day):
    user, _, _, _ = citizen(vehicle=False)
    client.force_login(user)
    slot = slots_of(day)[0]
    r = client.post(day_url(day), {"slot": slot.pk, "vehicle": "other", "plate": "",
                                   "idempotency_key": "portal-key-0004"})
    assert r.status_code == 400 and "请填写外地车辆的号牌号码" in r.content.decode()
    stranger = make_vehicle(owner=make_person(name="他人"))
    r = client.post(day_url(day), {"slot": slot.pk, "vehicle": "other", "plate": stranger.plate,
                                   "idempotency_key": "portal-key-0005"})
    assert r.status_code == 404
    r = client.post(day_url(day), {"slot": slot.pk, "vehicle": str(stranger.pk),
                                   "idempotency_key": "portal-key-0006"})
    assert r.status_code == 400  # not one of the choices
    assert AreaBooking.objects.count() == 0
    r = client.post(day_url(day), {"slot": slot.pk, "vehicle": "other", "plate": "湘a12345", "plate_type": "02",
                                   "idempotency_key": "portal-key-0007"})
    assert r.status_code == 302
    assert AreaBooking.objects.get().plate == "湘A12345"


def test_delay_and_cancel_pages(client, day):
    user, _, _, car = citizen()
    ab = services.booking_create(user=user, area_code=day.area.code, date=day.date, slot_id=slots_of(day)[0].pk,
                                 vehicle_id=car.pk, actor=Actor.of(user))
    other, _, _, _ = citizen()
    client.force_login(other)
    assert client.post(reverse("portal:eastern_portal:delay", args=[ab.pk])).status_code == 404
    assert client.get(reverse("portal:eastern_portal:cancel", args=[ab.pk])).status_code == 404
    client.force_login(user)
    r = client.post(reverse("portal:eastern_portal:delay", args=[ab.pk]), follow=True)
    assert "已报备延误" in r.content.decode()
    ab.refresh_from_db()
    assert ab.entry_ends_at == ab.slot_ends_at + dt.timedelta(hours=6)
    page = client.get(reverse("portal:eastern_portal:cancel", args=[ab.pk])).content.decode()
    assert "取消3次将失去本假期预约资格" in page
    r = client.post(reverse("portal:eastern_portal:cancel", args=[ab.pk]))
    assert r.status_code == 302
    assert Booking.objects.get(pk=ab.booking_id).status == Booking.Status.CANCELLED


def test_unknown_day_is_404(client, area):
    user, _, _, _ = citizen()
    client.force_login(user)
    assert client.get(reverse("portal:eastern_portal:day", args=["dapeng", "2030-01-01"])).status_code == 404
    assert client.get(reverse("portal:eastern_portal:day", args=["dapeng", "not-a-date"])).status_code == 404


def test_pages_in_english(client, day):
    from tests.portal.support import EN

    user, _, _, car = citizen()
    services.booking_create(user=user, area_code=day.area.code, date=day.date, slot_id=slots_of(day)[0].pk,
                            vehicle_id=car.pk, actor=Actor.of(user))
    client.force_login(user)
    page = client.get(reverse("portal:eastern_portal:home"), **EN).content.decode()
    assert "My eastern area bookings" in page and "Dapeng Peninsula" in page and "Report a delay" in page
    assert "Cancelling 3 times loses booking for the rest of this holiday" in page
    page = client.get(day_url(day), **EN).content.decode()
    assert "Seats left per slot" in page and "A car from another city (type the plate)" in page


def test_exemption_notice_for_my_registered_car(client, day):
    from tests.eastern.conftest import MANAGER

    user, _, _, car = citizen()
    services.exemption_add(area=day.area, plate=car.plate, reason="南澳居民", valid_until=day.date, actor=MANAGER)
    client.force_login(user)
    page = client.get(reverse("portal:eastern_portal:home")).content.decode()
    assert "已登记为大鹏半岛本地车辆" in page
    page = client.get(day_url(day)).content.decode()
    assert "已登记的本地车辆无需预约" in page


def test_merchant_books_guests_on_the_day_page(client, day):
    from tests.eastern.test_services import merchant_user

    hotel = merchant_user()
    guest = make_vehicle(owner=make_person(name="住客"))
    client.force_login(hotel)
    page = client.get(day_url(day)).content.decode()
    assert "酒店和商户：为住客预约" in page and "商户余 5 个" in page
    url = reverse("portal:eastern_portal:merchant", args=[day.area.code, day.date.isoformat()])
    r = client.post(url, {"slot": slots_of(day)[0].pk, "plates": f"{guest.plate}\n湘A66666\n粤B1",
                          "idempotency_key": "merchant-portal-01"})
    assert r.status_code == 200
    text = r.content.decode()
    assert text.count("预约成功") >= 2 and "号牌号码格式不正确" in text
    assert AreaBooking.objects.filter(enterprise_id=hotel.enterprise_id).count() == 2
    user, _, _, _ = citizen()
    client.force_login(user)
    assert "酒店和商户：为住客预约" not in client.get(day_url(day)).content.decode()
    assert client.post(url, {"slot": slots_of(day)[0].pk, "plates": "湘A77777",
                             "idempotency_key": "merchant-portal-02"}).status_code == 404
