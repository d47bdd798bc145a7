"""The detention API: staff record and cancel (by permission); a citizen lists and reads only their own."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.identity import services as identity
from jiaoguan.violations.models import Detention
from tests.factories import make_vehicle
from tests.identity.helpers import PASSWORD
from tests.violations.detention_support import citizen_user, detain, handle_and_pay, on_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return identity.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def staff(admin, role):
    return bearer(identity.staff_create(actor=admin, username=f"{role}01", display_name=role, role=role,
                                        password=PASSWORD))


def test_a_clerk_records_an_approver_cancels_a_citizen_may_not(client, admin):
    user = citizen_user()
    car = make_vehicle(owner=user.person)
    v = on_site(car)
    body = {"kind": "vehicle", "notice_number": "440300kl0000777", "violation_ids": [v.pk],
            "held_at_name": "福田区交警大队车辆停放场", "held_at_address": "深圳市福田区红荔西路8006号",
            "detained_at": (clock.now() - dt.timedelta(hours=1)).isoformat()}
    assert client.post("/api/v1/staff/detentions", data=body, content_type="application/json",
                       **bearer(user)).status_code == 403
    r = client.post("/api/v1/staff/detentions", data=body, content_type="application/json", **staff(admin, "clerk"))
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["notice_number"] == "440300KL0000777" and out["plate"] == car.plate and out["status"] == "held"
    assert out["returnable"] is False and [x["code"] for x in out["reasons"]] == ["violations.detention_unhandled"]
    again = client.post("/api/v1/staff/detentions", data=body, content_type="application/json",
                        **staff(admin, "approver"))
    assert again.status_code == 409 and again.json()["code"] == "violations.detention_duplicate"
    path = f"/api/v1/staff/detentions/{out['id']}/cancel"
    assert client.post(path, data={"reason": "录错"}, content_type="application/json",
                       **bearer(identity.staff_create(actor=admin, username="clerk02", display_name="c", role="clerk",
                                                      password=PASSWORD))).status_code == 403
    r = client.post(path, data={"reason": "录错"}, content_type="application/json",
                    **bearer(identity.staff_create(actor=admin, username="approver02", display_name="a",
                                                   role="approver", password=PASSWORD)))
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


def test_a_citizen_sees_their_own_and_not_anothers(client):
    mine, theirs = citizen_user(), citizen_user()
    d = detain(mine.person)
    handle_and_pay(d.violations.get(), mine.person)
    other = detain(theirs.person)
    listed = client.get("/api/v1/me/detentions", **bearer(mine)).json()
    assert [x["id"] for x in listed] == [d.pk] and listed[0]["returnable"] is True and listed[0]["reasons"] == []
    assert listed[0]["kind_label"] and listed[0]["held_at_name"] == d.held_at_name
    r = client.get(f"/api/v1/me/detentions/{other.pk}", **bearer(mine))
    assert r.status_code == 404 and r.json()["code"] == "core.not_found"
    assert client.get(f"/api/v1/me/detentions/{other.pk}", **bearer(theirs)).status_code == 200
    assert client.get("/api/v1/me/detentions").status_code == 401
    assert Detention.objects.count() == 2
