"""Portal and console pages of counter appointments (no JavaScript needed)."""
from __future__ import annotations

import re

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.counters.models import EnterpriseBatch, Office
from tests.counters.conftest import DAY, at, citizen, enterprise_user
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_citizen_books_and_cancels_through_pages(client, city):
    u = citizen()
    client.force_login(u)
    home = client.get("/me/appointments/")
    assert home.status_code == 200 and "暂无有效预约" in home.content.decode()
    page = client.get("/me/appointments/book/")
    assert "福田车管所" in page.content.decode() and "驾驶证业务" in page.content.decode()
    q = f"?office={city.office.pk}&service=licence&date={DAY.isoformat()}"
    page = client.get("/me/appointments/book/" + q).content.decode()
    assert "09:00–09:30" in page and "余 2 个" in page
    slot = city.slot(city.licence, 9)
    r = client.post("/me/appointments/book/" + q, {"slot_id": slot.pk, "idempotency_key": key_of(page) + "x"})
    assert r.status_code == 302 and r["Location"] == "/me/appointments/"
    b = Booking.objects.get(user=u)
    home = client.get("/me/appointments/").content.decode()
    assert b.reference in home and "取消预约" in home
    # the same person, same service, same day again: a clear 409 on the page, nothing written
    r = client.post("/me/appointments/book/" + q, {"slot_id": city.slot(city.licence, 10).pk,
                                                   "idempotency_key": "another-key-1"})
    assert r.status_code == 409 and "已有一个有效预约" in r.content.decode()
    assert Booking.objects.filter(user=u).count() == 1
    r = client.post(f"/me/appointments/{b.pk}/cancel/")
    assert r.status_code == 302
    assert Booking.objects.get(pk=b.pk).status == "cancelled"


def test_other_peoples_appointment_and_unknown_office_are_404(client, city):
    owner, other = citizen(), citizen()
    client.force_login(owner)
    client.post(f"/me/appointments/book/?office={city.office.pk}&service=licence",
                {"slot_id": city.slot(city.licence, 9).pk, "idempotency_key": "k-0000000001"})
    b = Booking.objects.get(user=owner)
    client.force_login(other)
    assert client.post(f"/me/appointments/{b.pk}/cancel/").status_code == 404
    assert client.get("/me/appointments/book/?office=999&service=licence").status_code == 404
    assert Booking.objects.get(pk=b.pk).status == "confirmed"


def test_anonymous_goes_to_login(client, city):
    r = client.get("/me/appointments/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_enterprise_batch_page(client, city):
    user, cars = enterprise_user(vehicles=2)
    client.force_login(user)
    q = f"?office={city.office.pk}&service=vehicle&date={DAY.isoformat()}"
    page = client.get("/me/appointments/batch/" + q).content.decode()
    assert cars[0].plate[2:] in page
    s9, s10 = city.slot(city.vehicle, 9).pk, city.slot(city.vehicle, 10).pk
    r = client.post("/me/appointments/batch/" + q, {"idempotency_key": key_of(page), f"slot_{cars[0].pk}": s9,
                                                     f"slot_{cars[1].pk}": s10})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert EnterpriseBatch.objects.count() == 1 and Booking.objects.count() == 2


def test_batch_page_refusal_names_the_vehicle(client, city):
    user, cars = enterprise_user(vehicles=2)
    client.force_login(user)
    q = f"?office={city.office.pk}&service=vehicle&date={DAY.isoformat()}"
    s9 = city.slot(city.vehicle, 9).pk
    for _ in range(3):  # fill the 09:00 slot
        other = citizen()
        from jiaoguan.core.audit import Actor
        from jiaoguan.counters import services

        services.appointment_book(user=other, slot_id=s9, actor=Actor.of(other))
    r = client.post("/me/appointments/batch/" + q, {"idempotency_key": "batch-page-1", f"slot_{cars[0].pk}": s9,
                                                     f"slot_{cars[1].pk}": city.slot(city.vehicle, 10).pk})
    html = r.content.decode()
    assert r.status_code == 409 and "整批未预约" in html and cars[0].plate in html
    assert not Booking.objects.filter(user=user).exists()


def test_batch_page_forbidden_for_citizens(client, city):
    client.force_login(citizen())
    assert client.get("/me/appointments/batch/").status_code == 403


def test_console_generate_and_day_view_and_mark(client, city, clock):
    approver = staff_user("approver", "appr0001")
    client.force_login(approver)
    page = client.get("/console/appointments/")
    assert page.status_code == 200 and "生成预约时段" in page.content.decode()
    r = client.post("/console/appointments/", {"action": "generate", "gen-office_service": city.licence.pk,
                                               "gen-first_day": "2026-03-04", "gen-last_day": "2026-03-04"})
    assert r.status_code == 302
    assert len(client.get(f"/console/appointments/{city.licence.pk}/2026-03-04/").content.decode()
               .split("–")) > 10
    r = client.post("/console/appointments/", {"action": "office", "office-code": "SZ-NS", "office-name_zh": "南山",
                                               "office-name_en": "Nanshan", "office-address_zh": "南山区",
                                               "office-opens": "09:00", "office-closes": "08:00"})
    assert r.status_code == 422 and not Office.objects.filter(code="SZ-NS").exists()
    u = citizen()
    from jiaoguan.core.audit import Actor
    from jiaoguan.counters import services

    b = services.appointment_book(user=u, slot_id=city.slot(city.licence, 9).pk, actor=Actor.of(u))
    clerk = staff_user("clerk", "clerk0001")
    client.force_login(clerk)
    assert client.post("/console/appointments/", {"action": "generate"}).status_code == 403
    clock.freeze(at(DAY, 9, 5))
    day = client.get(f"/console/appointments/{city.licence.pk}/{DAY.isoformat()}/").content.decode()
    assert b.reference in day and "已到场" in day
    r = client.post(f"/console/appointments/bookings/{b.pk}/mark/", {"attended": "0"})
    assert r.status_code == 302 and Booking.objects.get(pk=b.pk).status == "no_show"


def test_console_refuses_citizens(client, city):
    client.force_login(citizen())
    assert client.get("/console/appointments/").status_code in (302, 403)


def test_pages_in_english(client, city):
    client.force_login(citizen())
    q = f"?office={city.office.pk}&service=licence&date={DAY.isoformat()}"
    html = client.get("/me/appointments/book/" + q, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Choose day and time" in html and "2 left" in html and "Futian Vehicle Office" in html
    html = client.get("/me/appointments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Counter appointments" in html and "No upcoming appointments." in html
