"""Staff violation pages: on-site recording, CSV import of a day's records, revoking with points and fine undone."""
from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.violations import services
from jiaoguan.violations.models import PointsEntry, Violation
from tests.portal.support import EN, field_errors, staff_user, text
from tests.violations.conftest import JPEG, _codes, _media, record  # noqa: F401 - autouse fixtures
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db

RECORD = "/console/violations/record/"
IMPORT = "/console/violations/import/"
FIND = "/console/violations/revoke/"


def revoke_url(v) -> str:
    return f"/console/violations/{v.pk}/revoke/"


@pytest.fixture
def device():
    from jiaoguan.violations import signing

    made, _secret = signing.device_create(name="深南大道电警02", place="深南大道")
    return made


@pytest.fixture
def clerk(client):
    user = staff_user("clerk", "clrk501")
    client.force_login(user)
    return user


@pytest.fixture
def approver(client):
    user = staff_user("approver", "appr501")
    client.force_login(user)
    return user


def _when(days: int = 1) -> str:
    return (clock.now() - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def _form(car, **over):
    data = {"plate": car.plate, "plate_type": car.plate_type, "code": "1352", "place": "深南大道与彩田路交叉口",
            "occurred_at": _when()}
    data.update(over)
    return data


# --- who may ---------------------------------------------------------------------------------------------------------

def test_anonymous_goes_to_login(client):
    for url in (RECORD, IMPORT, FIND):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/console/login/")


@pytest.mark.parametrize("who", ["citizen", "auditor"])
def test_citizens_and_auditors_are_refused(client, who):
    user, car = citizen_with_car()
    if who == "auditor":
        user = staff_user("auditor", "audt501")
    client.force_login(user)
    v = record(car)
    assert client.get(RECORD).status_code == 403
    assert client.post(RECORD, _form(car)).status_code == 403
    csv = SimpleUploadedFile("day.csv", b"plate,plate_type,code,place,occurred_at\n", content_type="text/csv")
    assert client.post(IMPORT, {"file": csv}).status_code == 403
    assert client.get(FIND, {"q": car.plate}).status_code == 403
    assert client.post(revoke_url(v), {"reason": "核实有误"}).status_code == 403
    assert Violation.objects.count() == 1
    v.refresh_from_db()
    assert v.status != "revoked"


def test_clerk_may_record_but_not_revoke(client, clerk):
    _user, car = citizen_with_car()
    v = record(car)
    assert client.get(RECORD).status_code == 200
    assert client.get(IMPORT).status_code == 200
    assert client.post(revoke_url(v), {"reason": "核实有误"}).status_code == 403
    body = text(client.get(RECORD))
    assert "现场违法录入" in body and "批量导入" in body and "撤销违法" not in body


# --- record ----------------------------------------------------------------------------------------------------------

def test_recording_an_on_site_violation(client, clerk):
    _user, car = citizen_with_car()
    photo = SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")
    r = client.post(RECORD, {**_form(car), "photo": photo})
    assert r.status_code == 200
    v = Violation.objects.get()
    assert (v.plate, v.code.code, v.source, v.recorded_by_id) == (car.plate, "1352", "on_site", clerk.pk)
    assert v.evidence.count() == 1
    assert r.context["recorded"].pk == v.pk
    body = text(r)
    assert f"已录入违法记录 {v.pk}" in body and "深南大道与彩田路交叉口" in body
    r = client.post(RECORD, _form(car), **EN)
    assert f"Violation {r.context['recorded'].pk} recorded" in text(r) and Violation.objects.count() == 2


@pytest.mark.parametrize("field,value,expect", [
    ("code", "9999", "违法代码“9999”不存在"),
    ("plate", "粤B", None),
    ("occurred_at", "", None),
    ("place", "", None),
])
def test_bad_input_writes_nothing(client, clerk, field, value, expect):
    _user, car = citizen_with_car()
    r = client.post(RECORD, _form(car, **{field: value}))
    assert r.status_code in (400, 422)
    errors = field_errors(r, field)
    assert errors
    if expect:
        assert expect in errors
    assert not Violation.objects.exists()


def test_future_time_and_bad_photo_are_refused(client, clerk):
    _user, car = citizen_with_car()
    future = (clock.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(RECORD, _form(car, occurred_at=future))
    assert r.status_code in (400, 422) and "违法时间不能晚于当前时间" in field_errors(r, "occurred_at")
    bad = SimpleUploadedFile("p.jpg", b"not an image", content_type="image/jpeg")
    r = client.post(RECORD, {**_form(car), "photo": bad})
    assert r.status_code in (400, 422) and field_errors(r, "photo")
    r = client.post(RECORD, _form(car, code="9999"), **EN)
    assert "Unknown violation code “9999”" in field_errors(r, "code")
    assert not Violation.objects.exists()


# --- import ----------------------------------------------------------------------------------------------------------

def _csv(body: str, name="day.csv", ctype="text/csv"):
    return SimpleUploadedFile(name, body.encode("utf-8"), content_type=ctype)


def test_import_loads_good_rows_and_lists_bad_ones(client, clerk):
    _user, car = citizen_with_car()
    when = (clock.now() - dt.timedelta(days=1)).isoformat()
    body = ("plate,plate_type,code,place,occurred_at\n"
            f"{car.plate},{car.plate_type},1352,深南大道,{when}\n"
            f"{car.plate},{car.plate_type},9999,深南大道,{when}\n"
            f"{car.plate},{car.plate_type},1352,深南大道,yesterday\n")
    r = client.post(IMPORT, {"file": _csv(body)})
    assert r.status_code == 200
    assert Violation.objects.count() == 1
    assert [row["line"] for row in r.context["rows"]] == [3, 4]
    page = text(r)
    assert "已导入 1 条，有误 2 行" in page and "违法代码“9999”不存在" in page and "违法时间格式不正确" in page
    r = client.post(IMPORT, {"file": _csv(body)}, **EN)
    page = text(r)
    assert "Unknown violation code “9999”" in page and "The time is malformed" in page


@pytest.mark.parametrize("upload,message", [
    (lambda: _csv("x", name="day.xlsx", ctype="application/vnd.openxmlformats"), "文件须为 CSV 格式"),
    (lambda: SimpleUploadedFile("day.csv", "号牌\n".encode("gbk"), content_type="text/csv"), "文件须为 UTF-8 编码"),
    (lambda: _csv("plate,code\n粤B12345,1352\n"), "缺少列"),
])
def test_import_refuses_bad_files(client, clerk, upload, message):
    r = client.post(IMPORT, {"file": upload()})
    assert r.status_code in (400, 422)
    assert any(message in e for e in field_errors(r, "file"))
    assert not Violation.objects.exists()


def test_import_refuses_a_large_file(client, clerk, monkeypatch):
    from jiaoguan.console.violations import views as violation_views

    monkeypatch.setattr(violation_views, "MAX_CSV_BYTES", 10)
    r = client.post(IMPORT, {"file": _csv("plate,plate_type,code,place,occurred_at\n")})
    assert r.status_code in (400, 422) and "文件不能超过 5 MB" in field_errors(r, "file")


def test_import_without_a_file(client, clerk):
    r = client.post(IMPORT, {})
    assert r.status_code in (400, 422) and field_errors(r, "file")


# --- revoke ----------------------------------------------------------------------------------------------------------

def _handled(device):
    user, car = citizen_with_car()
    v = services.violation_record(plate=car.plate, plate_type=car.plate_type, code="1352", place="深南大道",
                                  occurred_at=clock.now() - dt.timedelta(days=1), source="device",
                                  actor=Actor.system("test-device"), device=device,
                                  device_record_id=secrets.token_hex(6)).violation
    decision = services.violation_handle_online(user=user, violation_id=v.pk)
    return user, car, v, decision


def test_find_by_plate_and_by_id(client, approver, device):
    _user, car, v, _d = _handled(device)
    r = client.get(FIND, {"q": car.plate})
    assert r.status_code == 200 and [row["v"].pk for row in r.context["results"]] == [v.pk]
    r = client.get(FIND, {"q": str(v.pk)})
    assert [row["v"].pk for row in r.context["results"]] == [v.pk]
    assert revoke_url(v) in r.content.decode()
    r = client.get(FIND, {"q": "粤B00000"})
    assert r.context["results"] == [] and "没有找到违法记录" in text(r)
    r = client.get(FIND, {"q": ""})
    assert r.status_code == 400 and field_errors(r, "q")
    assert client.get("/console/violations/999999/revoke/").status_code == 404


def test_revoke_takes_points_off_and_cancels_the_fine(client, approver, device):
    _user, _car, v, decision = _handled(device)
    r = client.post(revoke_url(v), {"reason": "设备故障，记录有误"})
    assert r.status_code == 200
    v.refresh_from_db()
    assert v.status == "revoked"
    assert services.points_in_cycle(licence=decision.licence) == 0
    assert PointsEntry.objects.filter(violation=v, kind="reverse").count() == 1
    page = text(r)
    assert "违法记录已撤销" in page and "已从驾驶证扣回 3 分" in page and "罚款 ¥200.00 已取消" in page.replace(",", "")
    payments = pytest.importorskip("jiaoguan.payments.selectors")
    item = payments.payable_for_source(source_type="violations.decision", source_id=str(decision.pk))
    assert item.status == "cancelled"
    # revoking again is refused, not a 500, and changes nothing
    r = client.post(revoke_url(v), {"reason": "再次撤销"})
    assert r.status_code == 409 and "不能变为" in text(r)
    assert PointsEntry.objects.filter(violation=v, kind="reverse").count() == 1


def test_revoke_needs_a_reason(client, approver, device):
    _user, _car, v, decision = _handled(device)
    r = client.post(revoke_url(v), {"reason": "  "})
    assert r.status_code in (400, 422) and field_errors(r, "reason")
    v.refresh_from_db()
    assert v.status == "handled"
    assert services.points_in_cycle(licence=decision.licence) == 3
