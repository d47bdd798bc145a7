"""Journey (driving-test booking): a learner with a permit logs in, sees their progress, applies for a 科目一
session and sees the live rank; the window closes (the clock moves) and the allocation runs; the result shows as
a seat allocated."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.exams import services
from jiaoguan.exams.models import Session
from tests.exams.conftest import APPROVER, MONDAY, candidate, session
from tests.portal.support import PASSWORD, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(j, user):
    j.goto("/login/?next=/me/exams/")
    j.page.get_by_label("手机号码").fill(user.phone)
    j.page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.page.get_by_role("button", name="登录", exact=True).click()
    j.page.wait_for_url("**/me/exams/")


def test_apply_see_rank_and_result(journey):
    clock.freeze(MONDAY)  # the live server runs in this process: it sees the same clock
    try:
        theory = services.venue_create(code="FT", name_zh="福田理论考试中心", name_en="Futian theory centre",
                                       subjects=["1", "4"], actor=APPROVER, address="深圳市福田区彩田路")
        s = session(theory, "1", days=10, seats=2)
        session(theory, "1", days=10, hour=14, seats=40)
        ahead, _ = candidate(accepted_days_ago=60, name="赵先来")
        services.exam_apply(user=ahead, session_id=s.pk, actor=APPROVER)  # accepted earlier: ranks ahead
        user, permit = candidate(accepted_days_ago=20, name="吴学员")

        j = journey("exam-booking")
        page = j.page
        log_in(j, user)

        # 1. my permit, progress and the sessions open for 科目一
        body = j.text()
        assert permit.number in body and "可预约的考试场次（科目一）" in body and "排名规则说明" in body
        j.shot("01-permit-and-sessions")

        # 2. apply for the 09:00 session: the live rank
        page.get_by_role("button", name="预约该场次").first.click()
        page.wait_for_url("**/me/exams/")
        body = j.text()
        assert "当前排名第2位 / 名额2个" in body.replace("\n", "") and "如截止时仍在名额之内" in body
        j.shot("02-live-rank")

        # 3. the window closes (00:00 three working days before); an approver runs the allocation in the console
        # (the engine's periodic job would do the same within 5 minutes)
        clock.freeze(Session.objects.get(pk=s.pk).slot.closes_at + dt.timedelta(minutes=5))
        staff_user("approver", "exam-appr")
        c = journey("exam-console")
        c.goto("/console/login/?next=/console/exams/")
        c.page.get_by_label("用户名（警号）").fill("exam-appr")
        c.page.get_by_label("密码", exact=True).fill(PASSWORD)
        c.page.get_by_role("button", name="登录", exact=True).click()
        c.page.wait_for_url("**/console/exams/")
        assert "福田理论考试中心" in c.text()
        c.page.get_by_role("button", name="立即运行分配").click()
        c.page.wait_for_url("**/console/exams/")
        assert "1人预约成功" in c.text() or "2人预约成功" in c.text()
        c.shot("01-allocated")
        c.page.get_by_role("link", name="查看").first.click()
        c.page.wait_for_url("**/console/exams/sessions/**")
        assert permit.number in c.text()
        c.shot("02-session-candidates")

        page.reload()
        body = j.text()
        assert "预约成功：排名第2位（名额2个）" in body and "取消预约" in body
        j.shot("03-allocated")
    finally:
        clock.reset()
