"""The staff pages at /console/east/: areas, days with quota and merchants' share, exemptions, checkpoints,
today's entries and violations."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from jiaoguan.bookings.models import Quota
from jiaoguan.core import clock
from jiaoguan.eastern.models import Area, BookingDay, Checkpoint, Exemption
from tests.portal.support import citizen, staff_user

pytestmark = pytest.mark.django_db


def test_permissions(client, area):
    assert client.get(reverse("console:eastern_console:index")).status_code == 302
    user, _, _, _ = citizen()
    client.force_login(user)
    assert client.get(reverse("console:eastern_console:index")).status_code == 403
    client.force_login(staff_user("clerk", "clerk0201"))
    assert client.get(reverse("console:eastern_console:index")).status_code == 200
    assert client.get(reverse("console:eastern_console:passages")).status_code == 200
    assert client.get(reverse("console:eastern_console:day_new")).status_code == 403
    assert client.post(reverse("console:eastern_console:area_new"), {"code": "x"}).status_code == 403


def test_approver_defines_area_day_exemption_checkpoint(client):
    client.force_login(staff_user("approver", "appr0201"))
    r = client.post(reverse("console:eastern_console:area_new"),
                    {"code": "meisha", "name_zh": "盐田梅沙", "name_en": "Yantian Meisha"})
    assert r.status_code == 302 and Area.objects.filter(code="meisha").exists()
    date = clock.today() + dt.timedelta(days=10)
    form = {"area": "meisha", "date": date.isoformat(), "period_key": "2026-national-day", "daily_quota": 40000,
            "merchant_quota": 10000, "first_slot": "06:00", "slot_minutes": 120, "slots": 6}
    assert client.get(reverse("console:eastern_console:day_new")).status_code == 200
    r = client.post(reverse("console:eastern_console:day_new"), form)
    assert r.status_code == 302, r.content.decode()[:3000]
    day = BookingDay.objects.get()
    assert (day.daily_quota, day.merchant_quota, day.period_key) == (40000, 10000, "2026-national-day")
    assert sum(Quota.objects.filter(name="merchant").values_list("capacity", flat=True)) == 10000
    r = client.post(reverse("console:eastern_console:day_new"), form)  # the same day again
    assert r.status_code == 409 and "已设置" in r.content.decode()
    later = (date + dt.timedelta(days=1)).isoformat()
    r = client.post(reverse("console:eastern_console:day_new"), {**form, "date": later, "merchant_quota": 50000})
    assert r.status_code == 422 and BookingDay.objects.count() == 1
    page = client.get(reverse("console:eastern_console:index")).content.decode()
    assert "盐田梅沙" in page and "2026-national-day" in page

    r = client.post(reverse("console:eastern_console:exemptions"),
                    {"area": "meisha", "plate": "粤B12345", "reason": "梅沙居民", "valid_until": date.isoformat()})
    assert r.status_code == 302
    ex = Exemption.objects.get()
    assert "粤B" in client.get(reverse("console:eastern_console:exemptions")).content.decode()
    r = client.post(reverse("console:eastern_console:exemptions"),
                    {"area": "meisha", "plate": "粤B1", "reason": "x", "valid_until": date.isoformat()})
    assert r.status_code == 422
    client.post(reverse("console:eastern_console:exemption_revoke", args=[ex.pk]))
    ex.refresh_from_db()
    assert ex.revoked_at is not None

    r = client.post(reverse("console:eastern_console:checkpoints"), {"area": "meisha", "name": "梅沙卡口"})
    assert r.status_code == 200
    cp = Checkpoint.objects.get()
    assert cp.device.key_id in r.content.decode() and "签名密钥只显示这一次" in r.content.decode()
    assert "签名密钥只显示这一次" not in client.get(reverse("console:eastern_console:checkpoints")).content.decode()


def test_passages_page_lists_entries_and_violations(client, day, checkpoint, clock):
    from tests.eastern.conftest import at_slot, signed
    from tests.factories import make_person, make_vehicle

    car = make_vehicle(owner=make_person(name="访客"))
    when = at_slot(day)
    clock.freeze(when)
    signed(client, checkpoint, {"record_id": "P-1", "plate": car.plate, "plate_type": "02", "at": when.isoformat()})
    client.force_login(staff_user("clerk", "clerk0202"))
    page = client.get(reverse("console:eastern_console:passages")).content.decode()
    assert "未预约" in page and car.plate[2:] in page
    assert "记录违法 1 起" in page
