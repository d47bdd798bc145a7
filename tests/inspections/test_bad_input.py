"""Review: garbage ids (beyond the bigint column, non-ASCII digits), far dates and missing choices are a 4xx on
every inspection endpoint and page, never a 500, and write nothing."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core.models import AuditEntry
from jiaoguan.inspections.models import InspectionBooking
from tests.inspections.conftest import first_slot, owner
from tests.inspections.test_api import auth, post
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
BIG = 2**63  # one past PostgreSQL's bigint: an unguarded lookup is an overflow (SQLite) or DataError (PostgreSQL)


def _no_5xx(results):
    assert all(code < 500 for *_, code in results), [r for r in results if r[-1] >= 500]


def test_api_garbage_is_4xx_and_writes_nothing(client, station):
    client.raise_request_exception = False
    user, car = owner()
    clerk, approver = staff_user("clerk", "clerk811"), staff_user("approver", "appr811")
    audits = AuditEntry.objects.count()
    res = []
    for d in ("9999-12-31", "0001-01-01"):
        r = client.get(f"/api/v1/inspection-stations/{station.pk}/slots?date={d}")
        res.append((d, r.status_code))
        assert r.status_code == 422 and r.json()["code"] == "inspections.date_out_of_range"
        res.append((d, client.get(f"/api/v1/staff/inspection-stations/{station.pk}/day?date={d}",
                                  **auth(clerk)).status_code))
    # an id beyond the id column is not an id: 422 before any lookup
    for url in (f"/api/v1/me/inspection-bookings/{BIG}/confirm", f"/api/v1/me/inspection-bookings/{BIG}/cancel"):
        r = post(client, url, {}, **auth(user))
        res.append((url, r.status_code))
        assert r.status_code == 422
    for url, body in ((f"/api/v1/staff/inspection-bookings/{BIG}/attendance", {"attended": True}),
                      (f"/api/v1/staff/inspection-bookings/{BIG}/result", {"passed": True})):
        r = post(client, url, body, **auth(clerk))
        res.append((url, r.status_code))
        assert r.status_code == 422
    r = post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": car.pk, "slot_id": BIG},
             **auth(user, "bad-big-slot"))
    res.append(("book", r.status_code))
    r = post(client, f"/api/v1/staff/inspection-stations/{station.pk}/slots",
             {"first": "9999-12-30", "last": "9999-12-31", "opens": "09:00", "closes": "10:00"}, **auth(approver))
    res.append(("generate far", r.status_code))
    assert r.status_code == 422 and "last" in r.json()["fields"]
    _no_5xx(res)
    assert AuditEntry.objects.count() == audits and not Booking.objects.exists()


def test_pages_garbage_is_4xx(client, station):
    client.raise_request_exception = False
    user, car = owner()
    client.force_login(user)
    res = [("booking", client.get(f"/me/inspections/bookings/{BIG}/").status_code)]
    for sid in ("²", "9" * 40, str(BIG), "-1", ""):
        r = client.post(f"/me/inspections/book/{car.pk}/hold/", {"slot_id": sid, "idempotency_key": "k" * 24})
        res.append(("hold", sid, r.status_code))
    _no_5xx(res)
    assert res[0][1] == 404 and not Booking.objects.exists()


def test_console_day_far_dates_and_attendance_needs_a_choice(client, station, clock):
    """A form posted without "attended" used to record a no-show (a penalty event); now it is refused."""
    import datetime as dt

    from jiaoguan.inspections import services
    from tests.inspections.conftest import SYS

    client.raise_request_exception = False
    user, car = owner()
    ib = services.inspection_book(user=user, vehicle_id=car.pk, slot_id=first_slot(station).pk, actor=SYS)
    services.inspection_confirm(user=user, booking_id=ib.booking_id, actor=SYS)
    clock.freeze(ib.booking.slot.starts_at + dt.timedelta(minutes=5))
    client.force_login(staff_user("clerk", "clerk812"))
    for d in ("9999-12-31", "0001-01-01"):
        assert client.get(f"/console/inspections/stations/{station.pk}/day/?date={d}").status_code == 200
    assert client.post(f"/console/inspections/bookings/{BIG}/attendance/", {"attended": "1"}).status_code == 404
    r = client.post(f"/console/inspections/bookings/{ib.booking_id}/attendance/", {})
    assert r.status_code == 400 and "请选择到场或未到场" in r.content.decode()
    assert Booking.objects.get(pk=ib.booking_id).status == "confirmed"
    r = client.post(f"/console/inspections/bookings/{ib.booking_id}/attendance/", {"attended": "1"})
    assert r.status_code == 302 and Booking.objects.get(pk=ib.booking_id).status == "attended"
    r = client.post(f"/console/inspections/bookings/{ib.booking_id}/result/", {"note": "x"})
    assert r.status_code == 400 and InspectionBooking.objects.get(pk=ib.pk).result == "pending"


def test_confirm_and_cancel_with_an_idempotency_key_answer_a_retry_the_same(client, station):
    user, car = owner()
    b = post(client, "/api/v1/me/inspection-bookings", {"vehicle_id": car.pk, "slot_id": first_slot(station).pk},
             **auth(user, "book-0000001")).json()
    for action, status in (("confirm", "confirmed"), ("cancel", "cancelled")):
        url = f"/api/v1/me/inspection-bookings/{b['id']}/{action}"
        first = post(client, url, {}, **auth(user, f"{action}-000001"))
        assert first.status_code == 200 and first.json()["status"] == status
        again = post(client, url, {}, **auth(user, f"{action}-000001"))
        assert again.status_code == 200 and again.json() == first.json()
    assert Booking.objects.get(pk=b["id"]).status == "cancelled"
