"""Journey (counter appointments): a citizen books a counter slot at a 车管所 (office → service → day → time),
sees the reference, cancels it; staff see the day's appointments in the console."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiaoguan.bookings.models import Booking
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.counters import services
from tests.portal.support import PASSWORD, citizen, staff_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANAGER = Actor.system("e2e")


@pytest.fixture
def office():
    services.services_catalogue_seed()
    o = services.office_create(code="SZ-FT", name_zh="福田车管所", name_en="Futian Vehicle Office",
                               address_zh="深圳市福田区北环大道7001号", opens=dt.time(9), closes=dt.time(12),
                               actor=MANAGER)
    os_ = services.office_service_add(office=o, service_code="licence", windows=2, actor=MANAGER)
    today = clock.today()
    services.slots_generate(office_service_id=os_.pk, first_day=today + dt.timedelta(days=1),
                            last_day=today + dt.timedelta(days=10), actor=MANAGER)
    return os_


def test_book_and_cancel_a_counter_appointment(journey, office):
    user, *_ = citizen(name="钱预约")
    j = journey("counter-book")
    page = j.page
    j.goto("/login/?next=/me/appointments/")
    page.get_by_label("手机号码").fill(user.phone)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me/appointments/")
    j.shot("01-empty")
    page.get_by_role("link", name="预约办理").first.click()
    page.wait_for_url("**/me/appointments/book/")
    assert "福田车管所" in j.text()
    j.shot("02-offices")
    page.get_by_role("link", name="驾驶证业务").click()
    page.wait_for_url("**/book/?office=*")
    assert "09:00–09:30" in j.text()
    j.shot("03-times")
    page.get_by_role("button", name="预约", exact=True).first.click()
    page.wait_for_url("**/me/appointments/")
    b = Booking.objects.get(user=user)
    assert b.reference in j.text() and "预约成功" in j.text()
    j.shot("04-booked")

    page.get_by_role("button", name="取消预约").click()
    page.wait_for_url("**/me/appointments/")
    assert "已取消预约" in j.text()
    assert Booking.objects.get(pk=b.pk).status == "cancelled"
    j.shot("05-cancelled")


def test_staff_day_view(journey, office):
    user, *_ = citizen(name="孙到场")
    slot = office.resource.slots.order_by("starts_at").first()
    b = services.appointment_book(user=user, slot_id=slot.pk, actor=Actor.of(user))
    staff_user("approver", "appr601")
    j = journey("counter-console")
    page = j.page
    j.goto("/console/login/")
    page.get_by_label("用户名（警号）").fill("appr601")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(j.base_url + "/console/")
    j.goto("/console/appointments/")
    assert "生成预约时段" in j.text()
    j.shot("01-index")
    j.goto(f"/console/appointments/{office.pk}/{timezone.localdate(slot.starts_at).isoformat()}/")
    assert b.reference in j.text()
    j.shot("02-day")
