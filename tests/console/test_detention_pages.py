"""Staff detention page (扣留登记): a clerk records a detained licence from the console, the list shows it with the
holder's name masked, a citizen is kept out, and an approver cancels a held one with a reason."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.violations.models import Detention
from tests.factories import make_vehicle
from tests.portal.support import staff_user, text
from tests.violations.conftest import _codes  # noqa: F401 - autouse fixture: the code table
from tests.violations.detention_support import citizen_user, on_site

pytestmark = pytest.mark.django_db
PAGE = "/console/violations/detentions/"


def form(person, violation, **over) -> dict:
    data = {"kind": "licence", "notice_number": "440300KL7000001", "id_number": person.id_number,
            "violation_ids": str(violation.pk), "held_at_name": "福田交警大队违法处理窗口",
            "held_at_address": "深圳市福田区福强路3028号",
            "detained_at": (clock.localtime() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")}
    return {**data, **over}


def test_a_clerk_records_a_licence_detention_and_sees_it_listed(client):
    user = citizen_user()
    violation = on_site(make_vehicle(owner=user.person))
    client.force_login(staff_user("clerk", "clrk701"))
    assert client.get(PAGE).status_code == 200
    bad = client.post(PAGE, form(user.person, violation, violation_ids="12a"))
    assert bad.status_code == 400 and "请填写违法记录编号" in text(bad)
    page = client.post(PAGE, form(user.person, violation))
    assert page.status_code == 200, text(page)
    d = Detention.objects.get(notice_number="440300KL7000001")
    assert d.status == "held" and d.person_id == user.person_id
    body = text(page)
    assert "已登记扣留凭证 440300KL7000001" in body
    assert user.person.name not in body and user.person.id_number not in body  # masked: no look at the record
    again = client.post(PAGE, form(user.person, violation, notice_number="440300KL7000002"))
    assert again.status_code == 409 and "该驾驶证已在扣留中" in text(again)
    listed = text(client.get(PAGE, {"q": "440300kl7000001"}))
    assert "440300KL7000001" in listed and "撤销扣留" not in listed  # a clerk may not cancel


def test_a_citizen_is_kept_out_and_an_approver_cancels(client):
    user = citizen_user()
    violation = on_site(make_vehicle(owner=user.person))
    client.force_login(user)
    assert client.get(PAGE).status_code in (302, 403)
    client.force_login(staff_user("clerk", "clrk702"))
    client.post(PAGE, form(user.person, violation))
    d = Detention.objects.get()
    client.force_login(staff_user("approver", "appr702"))
    assert "撤销扣留" in text(client.get(PAGE))
    done = client.post(f"{PAGE}{d.pk}/cancel/", {"reason": "凭证号录入错误"})
    assert done.status_code == 302
    d.refresh_from_db()
    assert d.status == "cancelled"
    assert AuditEntry.objects.filter(action="detention.cancel", object_id=str(d.pk)).exists()
    again = client.post(f"{PAGE}{d.pk}/cancel/", {"reason": "再次"})
    assert again.status_code == 409
