"""Staff pages /console/exams/: sessions with counts, create venue and session, run allocation, results, permits."""
import datetime as dt

import pytest

from jiaoguan.bookings.models import Booking
from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.exams import services
from jiaoguan.exams.models import Permit, Result, Session, Venue
from tests.exams.conftest import APPROVER, candidate, session
from tests.portal.support import citizen, citizen_records, staff_user, text

pytestmark = pytest.mark.django_db
URL = "/console/exams/"


def test_permissions(client, monday):
    assert client.get(URL).status_code == 302
    user, *_ = citizen(vehicle=False)
    client.force_login(user)
    assert client.get(URL).status_code == 403
    clerk = staff_user("clerk", "clerk10")
    client.force_login(clerk)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}venues/").status_code == 403
    assert client.post(f"{URL}allocate/").status_code == 403
    assert client.get(f"{URL}permits/").status_code == 200


def test_venue_and_session_creation(client, monday):
    client.force_login(staff_user("approver", "appr10"))
    r = client.post(f"{URL}venues/", {"code": "bs", "name_zh": "宝安考场", "name_en": "Bao'an", "subjects": ["2", "3"]})
    assert r.status_code == 302
    v = Venue.objects.get(code="BS")
    r = client.post(f"{URL}venues/", {"code": "BS", "name_zh": "x", "name_en": "x", "subjects": ["2"]})
    assert r.status_code == 409 and "已存在" in text(r)
    r = client.post(f"{URL}sessions/new/", {"venue": v.pk, "subject": "1", "starts_at": "2026-11-12T09:00",
                                            "duration_minutes": 120, "seats": 20})
    assert r.status_code == 422 and "该考场不承担科目一考试" in text(r)
    r = client.post(f"{URL}sessions/new/", {"venue": v.pk, "subject": "2", "starts_at": "2026-11-04T09:00",
                                            "duration_minutes": 120, "seats": 20})
    assert r.status_code == 422 and "3个工作日" in text(r)
    r = client.post(f"{URL}sessions/new/", {"venue": v.pk, "subject": "2", "starts_at": "2026-11-12T09:00",
                                            "duration_minutes": 120, "seats": 20})
    assert r.status_code == 302
    Session.objects.get()
    page = text(client.get(r["Location"]))
    assert "已创建考试场次，预约截止时间 2026-11-09 00:00" in page and "宝安考场" in page


def test_allocation_and_results(client, venues):
    theory, _ = venues
    s = session(theory, "1", days=10, seats=1)
    u1, p1 = candidate(accepted_days_ago=50, name="李一")
    u2, p2 = candidate(accepted_days_ago=10, name="王二")
    services.exam_apply(user=u1, session_id=s.pk, actor=APPROVER)
    services.exam_apply(user=u2, session_id=s.pk, actor=APPROVER)
    client.force_login(staff_user("approver", "appr11"))
    page = text(client.get(URL))
    assert "福田科目一考场" in page and "科目一" in page
    clock.freeze(s.slot.closes_at)
    r = client.post(f"{URL}allocate/")
    assert r.status_code == 302
    assert "1人预约成功" in text(client.get(URL))
    page = text(client.get(f"{URL}sessions/{s.pk}/"))
    assert p1.number in page and p2.number not in page and "已分配 1" in page and "未分配 1" in page
    assert "开考后登记" in page
    b = Booking.objects.get(subject=f"permit:{p1.pk}:1")
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    r = client.post(f"{URL}sessions/{s.pk}/results/", {"booking_id": b.pk, "outcome": "pass"})
    assert r.status_code == 302
    assert Result.objects.get(booking_id=b.pk).outcome == "pass"
    r = client.post(f"{URL}sessions/{s.pk}/results/", {"booking_id": b.pk, "outcome": "fail"})
    assert r.status_code == 409 and "已登记" in text(r)
    r = client.post(f"{URL}sessions/{s.pk}/results/", {"booking_id": 99999, "outcome": "fail"})
    assert r.status_code == 404
    assert client.get(f"{URL}sessions/99999/").status_code == 404


def test_permit_issue_page(client, monday):
    person, _, _ = citizen_records(licence=False, vehicle=False)
    client.force_login(staff_user("clerk", "clerk12"))
    r = client.get(f"{URL}permits/", {"id_number": person.id_number})
    assert r.status_code == 200 and "该人员还没有学习驾驶证明" in text(r)
    assert AuditEntry.objects.filter(action="exam.permits_view", subject_person_id=person.pk).exists()
    form = {"person_id": person.pk, "licence_class": "X9", "accepted_at": "2026-11-01T10:00"}
    r = client.post(f"{URL}permits/", form)
    assert r.status_code == 422 and not Permit.objects.exists()
    r = client.post(f"{URL}permits/", {**form, "licence_class": "C1"})
    assert r.status_code == 302
    p = Permit.objects.get()
    assert p.number in text(client.get(r["Location"]))
    r = client.get(f"{URL}permits/", {"id_number": "123"})
    assert r.status_code == 422


def test_the_window_rule_s_numbers_come_from_the_rule(client, monday, monkeypatch):
    """The pages say how many working days before the exam booking closes (and the permit's years, the booking
    limit) from exams.rules, the values booking_closes_at and exam_apply use: no number written in a template."""
    from jiaoguan.exams import rules

    client.force_login(staff_user("approver", "appr11"))
    assert "考试前3个工作日的0时" in text(client.get(f"{URL}sessions/new/"))
    monkeypatch.setattr(rules, "CLOSE_WORKDAYS_BEFORE", 4)
    assert "考试前4个工作日的0时" in text(client.get(f"{URL}sessions/new/"))
    assert "考试前4个工作日的0时截止" in text(client.get(URL))
    user, *_ = citizen(vehicle=False)
    client.force_login(user)
    monkeypatch.setattr(rules, "VALID_YEARS", 7)
    home = text(client.get("/me/exams/"))
    assert "考试前4个工作日的0时截止" in home and "有效期（7年）内" in home and f"最多预约{rules.MAX_BOOKINGS}次" in home
