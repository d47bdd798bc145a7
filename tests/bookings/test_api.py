"""The bookings API: my bookings across kinds, confirm/release/cancel/withdraw with Idempotency-Key, and the
staff endpoints with their permissions."""
import datetime as dt

import pytest

from jiaoguan.bookings.models import AllocationRun, Penalty
from jiaoguan.core import clock
from jiaoguan.identity import services as identity
from tests.bookings.support import apply, book, counts, join, ranked_slot, slot, user

pytestmark = pytest.mark.django_db


def auth(u, key: str | None = None):
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=u)}"}
    if key:
        h["HTTP_IDEMPOTENCY_KEY"] = key
    return h


def test_my_bookings_lists_everything_of_mine_only(client, clock):
    clock.freeze(clock.now())
    me, other = user(), user()
    s = slot(capacity=1, kind="eastern")
    held = book(s, me, "mine")
    join(s, other, "theirs")
    full = slot(capacity=1, kind="inspection")
    book(full, other, "o1")
    entry = join(full, me, "w-mine")
    r = ranked_slot(capacity=3)
    a = apply(r, me, "permit", clock.now() - dt.timedelta(days=2))
    apply(r, other, "permit2", clock.now() - dt.timedelta(days=3))
    out = client.get("/api/v1/me/bookings", **auth(me))
    assert out.status_code == 200
    items = {(i["type"], i["id"]): i for i in out.json()}
    assert set(items) == {("booking", held.pk), ("waitlist", entry.pk), ("application", a.pk)}
    b = items[("booking", held.pk)]
    assert b["status"] == "held" and b["reference"] == held.reference and b["hold_expires_at"]
    assert b["slot"]["kind"] == "eastern" and b["slot"]["resource_zh"] and b["slot"]["resource_en"]
    app = items[("application", a.pk)]
    assert app["rank"] == 2 and app["seats"] == 3 and app["closes_at"]
    assert client.get("/api/v1/me/bookings").status_code == 401


def test_confirm_cancel_with_idempotency_key(client):
    me = user()
    s = slot(capacity=1)
    b = book(s, me, "k")
    url = f"/api/v1/me/bookings/{b.pk}/confirm"
    assert client.post(url, **auth(me)).status_code == 422  # the key is required
    r1 = client.post(url, **auth(me, "confirm-key-0001"))
    r2 = client.post(url, **auth(me, "confirm-key-0001"))
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json()
    assert r1.json()["status"] == "confirmed" and r1.json()["cancel_until"]
    c1 = client.post(f"/api/v1/me/bookings/{b.pk}/cancel", **auth(me, "cancel-key-0001"))
    c2 = client.post(f"/api/v1/me/bookings/{b.pk}/cancel", **auth(me, "cancel-key-0001"))  # a retry: replayed
    assert c1.status_code == c2.status_code == 200 and c2.json()["status"] == "cancelled"
    c3 = client.post(f"/api/v1/me/bookings/{b.pk}/cancel", **auth(me, "cancel-key-0002"))  # a new request
    assert c3.status_code == 409 and c3.json()["code"] == "bookings.not_cancellable"


def test_release_and_withdrawals(client, clock):
    clock.freeze(clock.now())
    me = user()
    s = slot(capacity=1)
    b = book(s, me, "k")
    r = client.post(f"/api/v1/me/bookings/{b.pk}/release", **auth(me, "release-0001"))
    assert r.status_code == 200 and r.json()["status"] == "released"
    rs = ranked_slot()
    a = apply(rs, me, "p", clock.now())
    r = client.post(f"/api/v1/me/booking-applications/{a.pk}/withdraw", **auth(me, "withdraw-0001"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    full = slot(capacity=1)
    book(full, user(), "x")
    e = join(full, me, "w")
    r = client.post(f"/api/v1/me/waitlist/{e.pk}/withdraw", **auth(me, "wl-withdraw-01"))
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_someone_elses_ids_are_404_and_write_nothing(client, clock):
    owner, me = user(), user()
    s = slot(capacity=1)
    b = book(s, owner, "k")
    a = apply(ranked_slot(), owner, "p", clock.now())
    full = slot(capacity=1)
    book(full, user(), "x")
    e = join(full, owner, "w")
    before = counts()
    for i, url in enumerate([f"/api/v1/me/bookings/{b.pk}/confirm", f"/api/v1/me/bookings/{b.pk}/release",
                             f"/api/v1/me/bookings/{b.pk}/cancel", f"/api/v1/me/booking-applications/{a.pk}/withdraw",
                             f"/api/v1/me/waitlist/{e.pk}/withdraw", "/api/v1/me/bookings/999999/confirm"]):
        r = client.post(url, **auth(me, f"foreign-key-{i:04d}"))
        assert r.status_code == 404 and r.json()["code"] == "core.not_found", url
    assert counts() == before


def test_staff_endpoints_and_permissions(client, clock):
    clock.freeze(clock.now())
    citizen, clerk, approver = user(), user("clerk"), user("approver")
    s = slot(capacity=3, kind="eastern", starts_in=dt.timedelta(hours=1))
    b = book(s, citizen, "k", party="粤B1", confirm=True)
    b2 = book(s, user(), "k2", confirm=True)
    url = f"/api/v1/staff/booking-slots/{s.pk}"
    assert client.get(url, **auth(citizen)).status_code == 403
    d = client.get(url, **auth(clerk)).json()
    assert d["quotas"][0]["taken"] == 2 and d["quotas"][0]["free"] == 1
    assert {x["reference"] for x in d["bookings"]} == {b.reference, b2.reference}
    assert client.get("/api/v1/staff/booking-slots/999999", **auth(clerk)).status_code == 404
    # attendance only after the start
    att = f"/api/v1/staff/bookings/{b.pk}/attendance"
    r = client.post(att, data={"attended": False}, content_type="application/json", **auth(clerk))
    assert r.status_code == 409 and r.json()["code"] == "bookings.not_started"
    assert client.post(att, data={"attended": False}, content_type="application/json",
                       **auth(citizen)).status_code == 403
    clock.advance(dt.timedelta(hours=1))
    r = client.post(att, data={"attended": False}, content_type="application/json", **auth(clerk))
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    assert client.post(att, data={"attended": "maybe"}, content_type="application/json",
                       **auth(clerk)).status_code == 422
    # staff cancel with a reason
    cancel = f"/api/v1/staff/bookings/{b2.pk}/cancel"
    r = client.post(cancel, data={"reason": " "}, content_type="application/json", **auth(clerk, "staff-cancel-01"))
    assert r.status_code == 422
    r = client.post(cancel, data={"reason": "设备故障"}, content_type="application/json",
                    **auth(clerk, "staff-cancel-02"))
    assert r.status_code == 200 and r.json()["cancelled_by"] == "staff"
    # slot cancel and allocation need booking.manage
    s2 = slot(capacity=1)
    sc = f"/api/v1/staff/booking-slots/{s2.pk}/cancel"
    assert client.post(sc, data={"reason": "x"}, content_type="application/json",
                       **auth(clerk, "slot-cancel-01")).status_code == 403
    r = client.post(sc, data={"reason": "台风"}, content_type="application/json", **auth(approver, "slot-cancel-02"))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post("/api/v1/staff/booking-allocations", **auth(clerk)).status_code == 403
    assert AllocationRun.objects.count() == 0
    r = client.post("/api/v1/staff/booking-allocations", **auth(approver))
    assert r.status_code == 201 and AllocationRun.objects.get().pk == r.json()["id"]
    runs = client.get("/api/v1/staff/booking-allocations", **auth(clerk)).json()
    assert [x["id"] for x in runs] == [r.json()["id"]]


def test_staff_penalties_list_and_lift(client):
    clerk, approver = user("clerk"), user("approver")
    now = clock.now()
    p = Penalty.objects.create(party="粤B2", kind="eastern", reason_zh="3次未到场", reason_en="3 × no-show",
                               starts_at=now, ends_at=now + dt.timedelta(days=30), created_at=now)
    assert [x["id"] for x in client.get("/api/v1/staff/booking-penalties", **auth(clerk)).json()] == [p.pk]
    lift = f"/api/v1/staff/booking-penalties/{p.pk}/lift"
    assert client.post(lift, data={"reason": "x"}, content_type="application/json", **auth(clerk)).status_code == 403
    r = client.post(lift, data={"reason": "核实为系统原因"}, content_type="application/json", **auth(approver))
    assert r.status_code == 200 and r.json()["lifted_at"]
    assert client.get("/api/v1/staff/booking-penalties", **auth(clerk)).json() == []
    assert client.post("/api/v1/staff/booking-penalties/999/lift", data={"reason": "x"},
                       content_type="application/json", **auth(approver)).status_code == 404


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/me/bookings", "/api/v1/me/bookings/{booking_id}/confirm",
              "/api/v1/staff/booking-slots/{slot_id}", "/api/v1/staff/booking-allocations"):
        assert p in paths
