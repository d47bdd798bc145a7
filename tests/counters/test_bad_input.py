"""Review: garbage ids, far dates and missing choices are a 4xx on every counter endpoint and page (never a
500) and write nothing."""
from __future__ import annotations

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core.models import AuditEntry
from jiaoguan.counters.models import EnterpriseBatch
from tests.counters.conftest import DAY, bearer, citizen, enterprise_user
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
BIG = 2**63


def post(client, url, data, headers, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data=data, content_type="application/json", **headers, **extra)


def test_api_garbage_is_4xx_and_writes_nothing(client, city):
    client.raise_request_exception = False
    u = citizen()
    ent, cars = enterprise_user()
    vslot = city.slot(city.vehicle, 9)
    audits = AuditEntry.objects.count()
    # dates no calendar can use are refused by the API's bounds (core.inputs)
    for d in ("9999-12-31", "0001-01-01"):
        r = client.get(f"/api/v1/counter-offices/{city.office.pk}/slots", {"service": "licence", "date": d})
        assert r.status_code == 422 and r.json()["code"] == "core.invalid_input" and "date" in r.json()["fields"]
    # an id beyond the id column is not an id: 422 before any lookup
    r = client.get(f"/api/v1/counter-offices/{BIG}/slots", {"service": "licence", "date": DAY.isoformat()})
    assert r.status_code == 422 and r.json()["code"] == "core.invalid_input"
    assert post(client, "/api/v1/me/appointments", {"slot_id": BIG}, bearer(u), "bad-k-0001").status_code == 422
    assert post(client, f"/api/v1/me/appointments/{BIG}/cancel", {}, bearer(u)).status_code == 422
    for n, items in enumerate(([{"slot_id": BIG, "vehicle_id": cars[0].pk}],
                               [{"slot_id": vslot.pk, "vehicle_id": cars[0].pk},
                                {"slot_id": BIG, "vehicle_id": cars[1].pk}])):
        r = post(client, "/api/v1/me/appointments/batch", {"items": items}, bearer(ent), f"bad-batch-{n:04d}")
        assert r.status_code == 422, r.content
    assert AuditEntry.objects.count() == audits
    assert not Booking.objects.exists() and not EnterpriseBatch.objects.exists()


def test_batch_service_refuses_an_unknown_slot_with_the_rest(city):
    """The service itself (not only the API schema) survives an id beyond the column: refused, nothing kept."""
    from jiaoguan.core.audit import Actor
    from jiaoguan.counters import services

    ent, cars = enterprise_user()
    items = [services.BatchItem(city.slot(city.vehicle, 9).pk, cars[0].pk), services.BatchItem(BIG, cars[1].pk)]
    with pytest.raises(services.BatchRefused) as refused:
        services.batch_book(user=ent, items=items, actor=Actor.of(ent))
    assert [i for i, _e in refused.value.items] == [1]
    assert not Booking.objects.exists() and not EnterpriseBatch.objects.exists()


def test_pages_garbage_is_4xx(client, city):
    client.raise_request_exception = False
    u = citizen()
    client.force_login(u)
    for d in ("9999-12-31", "0001-01-01"):
        r = client.get("/me/appointments/book/", {"office": city.office.pk, "service": "licence", "date": d})
        assert r.status_code == 200  # an impossible day falls back to the first bookable one
    assert client.get("/me/appointments/book/", {"office": "²", "service": "licence"}).status_code == 200
    assert client.get("/me/appointments/book/", {"office": str(BIG), "service": "licence"}).status_code == 200
    for sid in ("²", str(BIG), "9" * 40):
        r = client.post("/me/appointments/book/", {"slot_id": sid, "idempotency_key": "k" * 24})
        assert r.status_code in (400, 404), (sid, r.status_code)
    assert client.post(f"/me/appointments/{BIG}/cancel/").status_code == 404
    ent, cars = enterprise_user(uscc="91440300MA5G00000X")
    client.force_login(ent)
    for value in ("²", str(BIG)):
        r = client.post("/me/appointments/batch/", {f"slot_{cars[0].pk}": value, "idempotency_key": "k" * 30})
        assert r.status_code in (400, 409), (value, r.status_code)
    assert not Booking.objects.exists()


def test_console_far_dates_and_attendance_needs_a_choice(client, city, clock):
    """A form posted without "attended" used to record a no-show (a penalty event); now it is refused."""
    from jiaoguan.core.audit import Actor
    from jiaoguan.counters import services
    from tests.counters.conftest import at

    client.raise_request_exception = False
    u = citizen()
    b = services.appointment_book(user=u, slot_id=city.slot(city.licence, 9).pk, actor=Actor.of(u))
    clock.freeze(at(DAY, 9, 5))
    client.force_login(staff_user("clerk", "clerk813"))
    for d in ("9999-12-31", "0001-01-01"):
        assert client.get(f"/console/appointments/{city.licence.pk}/{d}/").status_code == 404
    assert client.get(f"/console/appointments/{BIG}/{DAY.isoformat()}/").status_code == 404
    assert client.post(f"/console/appointments/bookings/{BIG}/mark/", {"attended": "1"}).status_code == 404
    r = client.post(f"/console/appointments/bookings/{b.pk}/mark/", {})
    assert r.status_code == 400 and "请选择已到场或未到场" in r.content.decode()
    assert Booking.objects.get(pk=b.pk).status == "confirmed"
    r = client.post(f"/console/appointments/bookings/{b.pk}/mark/", {"attended": "0"})
    assert r.status_code == 302 and Booking.objects.get(pk=b.pk).status == "no_show"


def test_cancel_with_an_idempotency_key_answers_a_retry_the_same(client, city):
    u = citizen()
    made = post(client, "/api/v1/me/appointments", {"slot_id": city.slot(city.licence, 9).pk}, bearer(u),
                "book-0000001").json()
    url = f"/api/v1/me/appointments/{made['id']}/cancel"
    first = post(client, url, {}, bearer(u), "cancel-000001")
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    again = post(client, url, {}, bearer(u), "cancel-000001")
    assert again.status_code == 200 and again.json() == first.json()
    assert post(client, url, {}, bearer(u)).status_code == 409  # without a key: refused, not applied twice
    assert Booking.objects.get(pk=made["id"]).status == "cancelled"
