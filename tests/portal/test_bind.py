"""Binding a relative's vehicle with the code sent to the owner's phone on file; unbinding; isolation."""
import pytest
from django.test import Client

from jiaoguan.identity.models import VehicleBinding
from tests.notifications.helpers import last_code
from tests.portal.support import EN, citizen, citizen_records, field_errors, text

pytestmark = pytest.mark.django_db


def _bind(client, car, **overrides):
    data = {"plate": car.plate, "plate_type": car.plate_type, "vin_last4": car.vin[-4:]}
    data.update(overrides)
    return client.post("/me/vehicles/bind/", data)


def _pending(user):
    return VehicleBinding.objects.get(user=user, status="pending")


def test_bind_a_relatives_car_with_the_owners_code(client):
    user, person, _, _ = citizen(name="刘一")
    owner, _, car = citizen_records(name="刘父")  # the father: owner with a phone on file, no account needed
    client.force_login(user)
    page = text(client.get("/me/vehicles/bind/"))
    assert "绑定他人机动车" in page and "车辆识别代号后4位" in page
    r = _bind(client, car, vin_last4=car.vin[-4:].lower())  # case does not matter
    binding = _pending(user)
    assert r.status_code == 302 and r["Location"] == f"/me/vehicles/bindings/{binding.pk}/confirm/"
    confirm = text(client.get(r["Location"]))
    assert "验证码已发送至车主预留的手机号码" in confirm
    assert "粤B·" + car.plate[2:] in confirm
    code = last_code(owner.phone)  # the code went to the OWNER, not to the requester
    assert code and last_code(person.phone) != code
    # the my page lists the pending request with a link to enter the code
    assert "等待车主确认" in text(client.get("/me/"))
    r = client.post(f"/me/vehicles/bindings/{binding.pk}/confirm/", {"code": code})
    assert r.status_code == 302 and r["Location"] == "/me/#vehicles"
    page = text(client.get("/me/"))
    assert "绑定成功" in page and "绑定的他人车辆" in page and "解除绑定" in page
    assert "等待车主确认" not in page
    assert owner.name not in page and owner.id_number not in page


def test_wrong_vin_keeps_the_input_and_marks_both_fields(client):
    user, *_ = citizen()
    _, _, car = citizen_records()
    client.force_login(user)
    wrong = "0000" if car.vin[-4:] != "0000" else "1111"
    r = _bind(client, car, vin_last4=wrong)
    assert r.status_code == 422
    assert field_errors(r, "vin_last4") == ["请核对车辆识别代号后四位"]
    assert field_errors(r, "plate") == ["请核对号牌号码和号牌种类"]
    assert f'value="{car.plate}"' in r.content.decode() and f'value="{wrong}"' in r.content.decode()
    r = client.post("/me/vehicles/bind/", {"plate": car.plate, "plate_type": car.plate_type, "vin_last4": wrong}, **EN)
    assert field_errors(r, "vin_last4") == ["Check the last four characters of the VIN"]
    assert not VehicleBinding.objects.filter(user=user, kind="other").exists()


def test_malformed_plate_and_plate_type(client):
    user, *_ = citizen()
    client.force_login(user)
    r = client.post("/me/vehicles/bind/", {"plate": "粤BI2345", "plate_type": "02", "vin_last4": "1234"})
    assert r.status_code == 422 and "号牌号码格式不正确" in field_errors(r, "plate")[0]
    r = client.post("/me/vehicles/bind/", {"plate": "粤B12345", "plate_type": "99", "vin_last4": "1234"})
    assert r.status_code == 400 and field_errors(r, "plate_type")
    r = client.post("/me/vehicles/bind/", {"plate": "粤B12345", "plate_type": "02", "vin_last4": "12"}, **EN)
    assert r.status_code == 400 and "at least 4" in field_errors(r, "vin_last4")[0]


def test_own_vehicle_cannot_be_bound_as_someone_elses(client):
    user, person, _, car = citizen()
    client.force_login(user)
    r = _bind(client, car)
    assert r.status_code == 409
    assert field_errors(r, "plate") == ["该车辆登记在您本人名下，已自动绑定，无需申请"]


def test_wrong_owner_code(client):
    user, *_ = citizen()
    owner, _, car = citizen_records()
    client.force_login(user)
    _bind(client, car)
    binding = _pending(user)
    code = last_code(owner.phone)
    r = client.post(f"/me/vehicles/bindings/{binding.pk}/confirm/", {"code": "123456" if code != "123456" else "654321"})
    assert r.status_code == 422 and field_errors(r, "code")
    binding.refresh_from_db()
    assert binding.status == "pending"


def _bound(user, owner_car, client):
    client.force_login(user)
    _bind(client, owner_car)
    binding = _pending(user)
    owner = owner_car.owner
    client.post(f"/me/vehicles/bindings/{binding.pk}/confirm/", {"code": last_code(owner.phone)})
    binding.refresh_from_db()
    assert binding.status == "active"
    return binding


def test_unbind(client):
    user, *_ = citizen()
    _, _, car = citizen_records()
    binding = _bound(user, car, client)
    r = client.get(f"/me/vehicles/bindings/{binding.pk}/unbind/")
    assert r.status_code == 200 and "确认解绑" in text(r) and "粤B·" + car.plate[2:] in text(r)
    r = client.post(f"/me/vehicles/bindings/{binding.pk}/unbind/")
    assert r.status_code == 302
    binding.refresh_from_db()
    assert binding.status == "ended"
    page = text(client.get("/me/"))
    assert "已解绑" in page and "绑定的他人车辆" not in page


def test_another_citizens_bindings_cannot_be_seen_confirmed_or_ended(client):
    alice, *_ = citizen(name="甲一")
    bob, *_ = citizen(name="乙二")
    _, _, car = citizen_records(name="丙三")
    bobs_browser = Client()  # Bob uses his own browser
    bobs = _bound(bob, car, bobs_browser)
    _, _, car2 = citizen_records(name="丁四")
    _bind(bobs_browser, car2)
    bobs_pending = _pending(bob)

    client.force_login(alice)
    for binding in (bobs, bobs_pending):
        for url in (f"/me/vehicles/bindings/{binding.pk}/confirm/", f"/me/vehicles/bindings/{binding.pk}/unbind/"):
            assert client.get(url).status_code == 404
            assert client.post(url, {"code": "000000"}).status_code == 404
    # unknown ids look the same
    assert client.post("/me/vehicles/bindings/999999/unbind/").status_code == 404
    bobs.refresh_from_db()
    bobs_pending.refresh_from_db()
    assert bobs.status == "active" and bobs_pending.status == "pending"
    page = text(client.get("/me/"))
    assert car.plate[2:] not in page and car2.plate[2:] not in page
