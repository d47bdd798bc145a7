"""The booking write path stays short (issue 12 §2; docs/performance.md §5): the number of queries of one
``POST /api/v1/me/appointments`` is pinned — a booking, and a refusal for a full slot, which is answered by a
plain read before any lock. A regression guard: the figures may go down, never up, without a reason."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jiaoguan.bookings.models import Booking
from jiaoguan.core.models import IdempotencyKey
from jiaoguan.notifications.models import Message
from tests.counters.conftest import bearer, citizen
from tests.counters.test_api import post

pytestmark = pytest.mark.django_db

# Counted inside a test case (its wrapping savepoint pair included; COMMIT is not a query here). PostgreSQL adds
# the lock statements (lock_timeout set and reset once around both locks, the advisory lock on the key) that are no-ops
# on SQLite, where BEGIN IMMEDIATE serialises writers.
BOOKING = {"postgresql": 17, "sqlite": 14}
REFUSAL = {"postgresql": 4, "sqlite": 4}  # token, counter slot, quota state, "is this key stored?"


def _book(client, slot, headers, key):
    with CaptureQueriesContext(connection) as ctx:
        r = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, headers, key=key)
    return r, [q["sql"] for q in ctx.captured_queries]


def _shown(queries) -> str:
    return "\n".join(f"{i:2} {q[:160]}" for i, q in enumerate(queries, 1))


def test_a_booking_and_a_refusal_take_a_fixed_small_number_of_queries(client, city, django_capture_on_commit_callbacks):
    slot = city.slot(city.licence, 9)  # 2 seats
    headers = [bearer(citizen()) for _ in range(3)]
    for h in headers:  # the token's first use notes last_used_at once: not part of the booking path
        client.get("/api/v1/me/appointments", **h)
    _book(client, slot, headers[0], "rush-q-000001")
    with django_capture_on_commit_callbacks():
        r, booked = _book(client, slot, headers[1], "rush-q-000002")
    assert r.status_code == 201, r.content
    r, refused = _book(client, slot, headers[2], "rush-q-000003")
    assert r.status_code == 409 and r.json()["code"] == "bookings.full"
    print(f"booking: {len(booked)} queries\n{_shown(booked)}\nrefusal: {len(refused)} queries\n{_shown(refused)}")
    assert len(booked) <= BOOKING[connection.vendor], _shown(booked)
    assert len(refused) <= REFUSAL[connection.vendor], _shown(refused)
    assert not any("FOR UPDATE" in q or "advisory" in q for q in refused), "a refusal for a full slot takes no lock"
    assert not any(q.split()[0].upper() in ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN") for q in refused), \
        "a refusal for a full slot writes nothing and opens no transaction (the idempotency key is not claimed)"
    assert not IdempotencyKey.objects.filter(key="rush-q-000003").exists()
    assert Booking.objects.filter(slot=slot, status="confirmed").count() == 2


def test_a_retry_after_success_is_answered_from_the_stored_key_though_the_check_now_refuses(client, city):
    """The pre-claim check refuses a retry of a booking that went through (the key is booked, the slot may be
    full): the stored answer is replayed, as for any repeat; the same key for another slot is a 422."""
    slot, other = city.slot(city.licence, 9), city.slot(city.licence, 10)
    h = bearer(citizen())
    first = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h, key="rush-r-000001")
    assert first.status_code == 201
    post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, bearer(citizen()), key="rush-r-000002")  # full
    again = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h, key="rush-r-000001")
    assert again.status_code == 201 and again.json() == first.json()
    mismatch = post(client, "/api/v1/me/appointments", {"slot_id": other.pk}, h, key="rush-r-000001")
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "core.idempotency_mismatch"
    # a fresh key for the same slot: the refusal stands (already booked that day), nothing stored
    dup = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, h, key="rush-r-000003")
    assert dup.status_code == 409 and not IdempotencyKey.objects.filter(key="rush-r-000003").exists()
    assert Booking.objects.filter(slot=slot).count() == 2


def test_the_confirmation_notice_is_written_after_commit_by_the_outbox(client, city, django_capture_on_commit_callbacks):
    """The inbox message and SMS of a booking are not written in the seat's transaction: the
    ``bookings.booking_changed`` handler writes them after commit (Celery eager here), once."""
    slot = city.slot(city.licence, 9)
    u = citizen()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, bearer(u), key="rush-n-000001")
        assert r.status_code == 201
        assert not Message.objects.filter(template_code="booking.confirmed").exists()  # not inside the transaction
    for callback in callbacks:
        callback()
    inbox = Message.objects.get(recipient=u, template_code="booking.confirmed", channel="inbox")
    assert r.json()["reference"] in inbox.body
    sms = Message.objects.get(template_code="booking.confirmed", channel="sms")
    assert sms.phone == u.phone and r.json()["reference"] in sms.body
    # a replay of the same request neither books nor tells the citizen again
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, "/api/v1/me/appointments", {"slot_id": slot.pk}, bearer(u), key="rush-n-000001")
    assert again.json() == r.json()
    assert Message.objects.filter(template_code="booking.confirmed").count() == 2
    assert Booking.objects.filter(user=u).count() == 1
