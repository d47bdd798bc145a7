"""The exams API: permits with progress, open sessions, applying with rank (Idempotency-Key), withdraw, cancel,
and the staff endpoints."""
import datetime as dt

import pytest

from jiaoguan.bookings.models import Application, Booking
from jiaoguan.core import clock
from jiaoguan.exams.models import Permit, Session, Venue
from jiaoguan.identity import services as identity
from tests.exams.conftest import at, candidate, pass_subject, session
from tests.portal.support import citizen_records, staff_user

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def post(client, url, body, h, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, data=body, content_type="application/json", **h, **extra)


def test_permits_and_sessions(client, venues):
    theory, field = venues
    user, permit = candidate()
    s = session(theory, "1", days=10, seats=3)
    session(field, "2", days=10)
    r = client.get("/api/v1/me/exam-permits", **auth(user))
    assert r.status_code == 200
    [p] = r.json()
    assert p["number"] == permit.number and p["next_subjects"] == ["1"] and p["valid"]
    by = {row["subject"]["code"]: row for row in p["progress"]}
    assert by["2"]["bookings_left"] == 5 and by["1"]["bookings_left"] is None and by["1"]["eligible"]
    assert client.get("/api/v1/me/exam-permits").status_code == 401

    rows = client.get("/api/v1/exam-sessions?subject=1").json()
    assert [(x["id"], x["seats"], x["pending"]) for x in rows] == [(s.pk, 3, 0)]
    assert rows[0]["closes_at"].startswith("2026-11-09T00:00:00")
    assert len(client.get("/api/v1/exam-sessions").json()) == 2
    assert client.get("/api/v1/exam-sessions?venue=LG").json()[0]["subject"]["code"] == "2"
    assert client.get("/api/v1/exam-sessions?subject=9").status_code == 422


def test_apply_with_idempotency_and_live_rank(client, venues):
    theory, _ = venues
    s = session(theory, "1", days=10, seats=1)
    first, _ = candidate(accepted_days_ago=60, name="钱先")
    me, _ = candidate(accepted_days_ago=20, name="孙我")
    h = auth(me)
    assert post(client, "/api/v1/me/exam-applications", {"session_id": s.pk}, h).status_code == 422  # no key
    r1 = post(client, "/api/v1/me/exam-applications", {"session_id": s.pk}, h, key="apply-0001")
    r2 = post(client, "/api/v1/me/exam-applications", {"session_id": s.pk}, h, key="apply-0001")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert r1.json()["rank"] == 1 and r1.json()["seats"] == 1 and r1.json()["live"]
    assert Application.objects.count() == 1
    post(client, "/api/v1/me/exam-applications", {"session_id": s.pk}, auth(first), key="apply-0002")
    mine = client.get("/api/v1/me/exam-applications", **h).json()
    assert [(a["rank"], a["status"]) for a in mine] == [(2, "pending")]  # someone accepted earlier went ahead

    # withdraw, then a closed window
    app_id = mine[0]["id"]
    r = client.post(f"/api/v1/me/exam-applications/{app_id}/withdraw", **auth(first))
    assert r.status_code == 404  # not theirs
    r = client.post(f"/api/v1/me/exam-applications/{app_id}/withdraw", **h)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["rank"] is None


def test_allocation_result_and_cancel(client, venues):
    theory, _ = venues
    s = session(theory, "1", days=10, seats=1)
    user, permit = candidate()
    h = auth(user)
    post(client, "/api/v1/me/exam-applications", {"session_id": s.pk}, h, key="apply-0003")
    approver = staff_user("approver", "appr01")
    clock.freeze(s.slot.closes_at)
    r = post(client, "/api/v1/staff/exam-allocation", {}, auth(approver))
    assert r.status_code == 200 and r.json()["allocated"] == 1
    [a] = client.get("/api/v1/me/exam-applications", **h).json()
    assert a["status"] == "allocated" and a["rank"] == 1 and a["booking"]["status"] == "confirmed"
    assert a["booking"]["can_cancel"]
    other, _ = candidate(name="郑旁人")
    bid = a["booking"]["id"]
    assert client.post(f"/api/v1/me/exam-bookings/{bid}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-001",
                       **auth(other)).status_code == 404
    r = client.post(f"/api/v1/me/exam-bookings/{bid}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-001", **h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.post(f"/api/v1/me/exam-bookings/{bid}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-001", **h)
    assert r.status_code == 200  # the replay
    r = client.post(f"/api/v1/me/exam-bookings/{bid}/cancel", HTTP_IDEMPOTENCY_KEY="cancel-002", **h)
    assert r.status_code == 409


def test_bad_input_is_a_clear_4xx_and_writes_nothing(client, venues):
    theory, field = venues
    user, permit = candidate()
    _, other_permit = candidate(name="冯他人")
    h = auth(user)
    s1 = session(theory, "1", days=10)
    s2 = session(field, "2", days=10)
    url = "/api/v1/me/exam-applications"
    r = post(client, url, {"session_id": s1.pk, "permit_id": other_permit.pk}, h, key="bad-00001")
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    r = post(client, url, {"session_id": s2.pk}, h, key="bad-00002")
    assert r.status_code == 409 and r.json()["code"] == "exams.subject_not_eligible"
    r = post(client, url, {"session_id": "x"}, h, key="bad-00003")
    assert r.status_code == 422
    clock.freeze(s1.slot.closes_at + dt.timedelta(hours=1))
    r = post(client, url, {"session_id": s1.pk}, h, key="bad-00004")
    assert r.status_code == 409 and r.json()["code"] == "exams.window_closed"
    clock.freeze(s1.starts_at + dt.timedelta(hours=1))
    r = post(client, url, {"session_id": s1.pk}, h, key="bad-00005")
    assert r.status_code == 422 and r.json()["code"] == "exams.session_past"
    assert Application.objects.count() == 0


def test_sixth_subject_two_booking_over_the_api(client, venues):
    from jiaoguan.exams import services
    from tests.exams.conftest import CLERK, sys_actor

    _, field = venues
    user, permit = candidate(accepted_days_ago=200)
    pass_subject(permit, "1")
    sessions = [session(field, "2", days=10 + 7 * i) for i in range(6)]
    for s in sessions[:5]:  # five seats allocated and failed, a week apart
        services.exam_apply(user=user, session_id=s.pk, actor=sys_actor())
        clock.freeze(s.slot.closes_at)
        services.exam_allocate(actor=sys_actor())
        b = Booking.objects.get(subject=f"permit:{permit.pk}:2", status="confirmed")
        clock.freeze(s.starts_at + dt.timedelta(hours=1))
        services.result_record(session_id=s.pk, booking_id=b.pk, outcome="fail", actor=CLERK)
    h = auth(user)
    by = {r["subject"]["code"]: r for r in client.get("/api/v1/me/exam-permits", **h).json()[0]["progress"]}
    assert by["2"]["bookings_used"] == 5 and by["2"]["bookings_left"] == 0
    r = post(client, "/api/v1/me/exam-applications", {"session_id": sessions[5].pk}, h, key="sixth-0001")
    assert r.status_code == 409 and r.json()["code"] == "exams.booking_limit"
    assert not Application.objects.filter(slot=sessions[5].slot).exists()


def test_staff_endpoints(client, monday):
    approver = staff_user("approver", "appr02")
    clerk = staff_user("clerk", "clerk02")
    person, _, _ = citizen_records(licence=False, vehicle=False)
    citizen_user, _ = candidate(name="陈市民")
    ha, hc = auth(approver), auth(clerk)
    r = post(client, "/api/v1/staff/exam-venues", {"code": "NS", "name_zh": "南山考场", "name_en": "Nanshan",
                                                    "subjects": ["1", "4"]}, ha)
    assert r.status_code == 201
    venue_id = r.json()["id"]
    assert post(client, "/api/v1/staff/exam-venues", {"code": "X", "name_zh": "x", "name_en": "x",
                                                      "subjects": ["1"]}, hc).status_code == 403
    assert post(client, "/api/v1/staff/exam-venues", {"code": "Y", "name_zh": "x", "name_en": "x",
                                                      "subjects": ["1"]}, auth(citizen_user)).status_code == 403
    r = post(client, "/api/v1/staff/exam-sessions", {"venue_id": venue_id, "subject": "1",
                                                      "starts_at": at(10).isoformat(), "seats": 30}, ha)
    assert r.status_code == 201 and r.json()["seats"] == 30
    sid = r.json()["id"]
    r = post(client, "/api/v1/staff/exam-sessions", {"venue_id": venue_id, "subject": "2",
                                                      "starts_at": at(10).isoformat(), "seats": 30}, ha)
    assert r.status_code == 422 and "subject" in r.json()["fields"]
    assert client.get("/api/v1/staff/exam-sessions", **hc).json()[0]["id"] == sid
    yesterday = (clock.now() - dt.timedelta(days=1)).isoformat()
    r = post(client, "/api/v1/staff/exam-permits", {"person_id": person.pk, "licence_class": "C2",
                                                     "accepted_at": yesterday}, hc)
    assert r.status_code == 201 and r.json()["licence_class"] == "C2"
    r = post(client, "/api/v1/staff/exam-permits", {"person_id": person.pk, "licence_class": "Q",
                                                     "accepted_at": clock.now().isoformat()}, hc)
    assert r.status_code == 422 and "licence_class" in r.json()["fields"]
    assert len(client.get(f"/api/v1/staff/exam-permits?person_id={person.pk}", **hc).json()) == 1
    assert client.get(f"/api/v1/staff/exam-permits?person_id={person.pk}", **auth(citizen_user)).status_code == 403
    assert client.get(f"/api/v1/staff/exam-sessions/{sid}/candidates", **hc).json() == []
    r = post(client, f"/api/v1/staff/exam-sessions/{sid}/results", {"booking_id": 1, "outcome": "pass"}, hc)
    assert r.status_code == 404
    assert Venue.objects.count() == 1 and Session.objects.count() == 1 and Permit.objects.count() == 2
