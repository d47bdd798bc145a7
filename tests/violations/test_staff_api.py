"""The staff API: on-site recording, CSV import, revocation, the dispute queue and its review."""
import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiaoguan.core import clock
from jiaoguan.identity import services as identity
from jiaoguan.violations import services
from jiaoguan.violations.models import Dispute, Violation
from tests.identity.helpers import PASSWORD
from tests.violations.conftest import JPEG, b64, camera
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return identity.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)


def staff(admin, role):
    user = identity.staff_create(actor=admin, username=f"{role}01", display_name=f"{role}", role=role,
                                 password=PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}


def test_on_site_record(client, admin):
    _, car = citizen_with_car()
    h = staff(admin, "clerk")
    data = {"plate": car.plate, "plate_type": car.plate_type, "code": "1362", "place": "福华路",
            "occurred_at": (clock.now() - dt.timedelta(minutes=5)).isoformat(), "photos": [b64(JPEG)]}
    r = client.post("/api/v1/staff/violations", data=data, content_type="application/json", **h)
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "on_site" and len(r.json()["photos"]) == 1
    bad = client.post("/api/v1/staff/violations", data={**data, "code": "0001"}, content_type="application/json",
                      **h)
    assert bad.status_code == 422 and bad.json()["fields"] == {"code": "违法代码“0001”不存在"}
    user, _ = citizen_with_car()
    citizen = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    assert client.post("/api/v1/staff/violations", data=data, content_type="application/json",
                       **citizen).status_code == 403
    assert Violation.objects.count() == 1


def test_csv_upload(client, admin):
    _, car = citizen_with_car()
    y = (clock.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    text = f"plate,plate_type,code,place,occurred_at\n{car.plate},02,1352,深南大道,{y}\n{car.plate},02,1,x,{y}\n"
    f = SimpleUploadedFile("day.csv", text.encode(), content_type="text/csv")
    r = client.post("/api/v1/staff/violations/import", {"file": f}, HTTP_ACCEPT_LANGUAGE="en",
                    **staff(admin, "clerk"))
    assert r.status_code == 200, r.content
    assert r.json()["loaded"] == 1
    assert r.json()["errors"][0]["line"] == 3 and r.json()["errors"][0]["code"] == "violations.unknown_code"


def test_dispute_queue_and_review(client, admin, device, payments):
    user, car = citizen_with_car()
    v = camera(car, device, code="1352")
    services.violation_handle_online(user=user, violation_id=v.pk)
    d = services.dispute_submit(user=user, kind="cloned", violation_ids=[v.pk], reason="车辆当时停在外地停车场")
    clerk = staff(admin, "clerk")
    approver = staff(admin, "approver")
    assert client.get("/api/v1/staff/disputes", **clerk).status_code == 403
    queue = client.get("/api/v1/staff/disputes", **approver).json()
    assert [q["id"] for q in queue] == [d.pk] and queue[0]["violation_ids"] == [v.pk]
    r = client.post(f"/api/v1/staff/disputes/{d.pk}/review", data={"confirm": True, "note": "轨迹核查确认套牌"},
                    content_type="application/json", **approver)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert Violation.objects.get(pk=v.pk).status == "revoked"
    assert Dispute.objects.get(pk=d.pk).reviewed_by_id is not None
    assert client.get("/api/v1/staff/disputes", **approver).json() == []
    assert services.points_in_cycle(licence=user.person.licence) == 0


def test_revoke(client, admin, device, payments):
    _, car = citizen_with_car()
    v = camera(car, device, code="1352")
    url = f"/api/v1/staff/violations/{v.pk}/revoke"
    assert client.post(url, data={"reason": "错误"}, content_type="application/json",
                       **staff(admin, "clerk")).status_code == 403
    approver = staff(admin, "approver")
    r = client.post(url, data={"reason": ""}, content_type="application/json", **approver)
    assert r.status_code == 422
    r = client.post(url, data={"reason": "设备误拍 camera error"}, content_type="application/json", **approver)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert client.post("/api/v1/staff/violations/999999/revoke", data={"reason": "x"},
                       content_type="application/json", **approver).status_code == 404
