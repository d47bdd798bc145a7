"""The citizens' page /me/exams/: permit and progress, open sessions, apply, live rank, withdraw, result, cancel."""
import datetime as dt

import pytest

from jiaoguan.bookings.models import Application, Booking
from jiaoguan.core import clock
from jiaoguan.exams import services
from tests.exams.conftest import APPROVER, CLERK, candidate, session
from tests.portal.support import EN, PASSWORD, text

pytestmark = pytest.mark.django_db
URL = "/me/exams/"


def login(client, user):
    assert client.login(request=None, username=user.phone, password=PASSWORD) or client.force_login(user) is None


def test_anonymous_goes_to_login(client):
    r = client.get(URL)
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_page_shows_permit_sessions_and_rank(client, venues):
    theory, field = venues
    user, permit = candidate(accepted_days_ago=20, name="钱看页")
    ahead, _ = candidate(accepted_days_ago=50, name="赵在前")
    s = session(theory, "1", days=10, seats=1)
    session(field, "2", days=10)  # not my next subject: not listed
    client.force_login(user)
    page = text(client.get(URL))
    assert permit.number in page and "科目一" in page and "可预约" in page and "剩余预约次数 5/5" in page
    assert "可预约的考试场次（科目一）" in page and "福田科目一考场" in page and "龙岗考场" not in page
    assert "排名规则说明" in page and "受理学习驾驶申请的时间" in page

    services.exam_apply(user=ahead, session_id=s.pk, actor=APPROVER)
    r = client.post(f"{URL}apply/", {"session_id": s.pk, "permit_id": permit.pk, "idempotency_key": "k-apply-0001"})
    assert r.status_code == 302
    page = text(client.get(URL))
    assert "当前排名第 2 位 / 名额1个" in page or "当前排名第2位 / 名额1个" in page.replace(" 2 ", "2")
    assert "预约申请已提交，当前排名第2位，名额1个" in page
    assert "目前在名额之外" in page and "已预约" in page
    assert "预约该场次" not in page  # the subject applied for is not offered again
    # the same form posted twice is one application
    client.post(f"{URL}apply/", {"session_id": s.pk, "permit_id": permit.pk, "idempotency_key": "k-apply-0001"})
    assert Application.objects.filter(user=user).count() == 1

    # English
    page = text(client.get(URL, **EN))
    assert "My learner's permit" in page and "How the ranking works" in page


def test_apply_refusals_on_the_page(client, venues):
    theory, field = venues
    user, permit = candidate()
    _, other_permit = candidate(name="冯他人")
    s1 = session(theory, "1", days=10)
    s2 = session(field, "2", days=10)
    client.force_login(user)
    r = client.post(f"{URL}apply/", {"session_id": s1.pk, "permit_id": other_permit.pk,
                                     "idempotency_key": "k-bad-0001"})
    assert r.status_code == 404 and "学习驾驶证明不存在" in text(r)
    r = client.post(f"{URL}apply/", {"session_id": s2.pk, "permit_id": permit.pk, "idempotency_key": "k-bad-0002"})
    assert r.status_code == 409 and "须先通过科目一才能预约科目二" in text(r)
    r = client.post(f"{URL}apply/", {"session_id": "", "idempotency_key": "k-bad-0003"})
    assert r.status_code == 422
    r = client.post(f"{URL}apply/", {"session_id": s1.pk})
    assert r.status_code == 422
    clock.freeze(s1.slot.closes_at)
    r = client.post(f"{URL}apply/", {"session_id": s1.pk, "idempotency_key": "k-bad-0004"})
    assert r.status_code == 409 and "预约已截止" in text(r)
    assert Application.objects.count() == 0


def test_withdraw_result_and_cancel(client, venues):
    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10, seats=3)
    client.force_login(user)
    a = services.exam_apply(user=user, session_id=s.pk, actor=APPROVER)
    r = client.post(f"{URL}applications/{a.pk}/withdraw/")
    assert r.status_code == 302 and "已撤回预约申请" in text(client.get(URL))
    a = services.exam_apply(user=user, session_id=s.pk, actor=APPROVER)
    clock.freeze(s.slot.closes_at)
    services.exam_allocate(actor=APPROVER)
    page = text(client.get(URL))
    b = Booking.objects.get(application=a)
    assert "预约成功：排名第1位（名额3个）" in page and b.reference in page and "取消预约" in page
    other, _ = candidate(name="韩别人")
    client.force_login(other)
    r = client.post(f"{URL}bookings/{b.pk}/cancel/", {"idempotency_key": "k-cancel-001"})
    assert r.status_code == 404
    client.force_login(user)
    r = client.post(f"{URL}bookings/{b.pk}/cancel/", {"idempotency_key": "k-cancel-002"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == "cancelled" and "已取消预约" in text(client.get(URL))


def test_result_shows(client, venues):
    theory, _ = venues
    user, permit = candidate()
    s = session(theory, "1", days=10)
    a = services.exam_apply(user=user, session_id=s.pk, actor=APPROVER)
    clock.freeze(s.slot.closes_at)
    services.exam_allocate(actor=APPROVER)
    clock.freeze(s.starts_at + dt.timedelta(hours=1))
    b = Booking.objects.get(application=a)
    services.result_record(session_id=s.pk, booking_id=b.pk, outcome="pass", actor=CLERK)
    client.force_login(user)
    page = text(client.get(URL))
    assert "考试结果： 合格" in page or "考试结果：合格" in page.replace(" 合格", "合格")
    assert "已合格" in page and "可预约的考试场次（科目二、科目三）" in page


def test_no_permit(client, monday):
    from tests.portal.support import citizen

    user, *_ = citizen(vehicle=False)
    client.force_login(user)
    assert "您还没有学习驾驶证明" in text(client.get(URL))
