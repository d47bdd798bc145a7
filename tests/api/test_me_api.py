"""API: me, my licences, my vehicles, my bindings; cross-user access; masking; bearer and session alike."""
import pytest
from django.test import Client

from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import SmsCode, VehicleBinding
from jiaoguan.registry.models import Vehicle
from tests.api.helpers import assert_error, bearer, delete, get, post, session_client
from tests.factories import make_person, make_vehicle
from tests.identity.helpers import PASSWORD, holder, register, wrong
from tests.notifications.helpers import last_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    return register(holder(name="张三"))


@pytest.fixture(params=["bearer", "session"])
def auth(request, citizen):
    """(client, extra headers) logged in as ``citizen`` one way or the other."""
    if request.param == "bearer":
        return Client(), bearer(citizen)
    return session_client(citizen), {}


def owner_with_car():
    owner = holder(name="李四")
    return owner, Vehicle.objects.get(owner=owner)


@pytest.mark.parametrize("path", ["me", "me/licences", "me/vehicles", "me/bindings"])
def test_reads_need_a_login(path):
    assert_error(get(Client(), path), 401, "core.unauthenticated")


def test_me(auth, citizen):
    c, h = auth
    body = get(c, "me", **h).json()
    person = citizen.person
    assert body == {
        "id": citizen.pk, "role": "citizen", "role_label": "市民", "name": "张*",
        "phone": citizen.phone[:3] + "****" + citizen.phone[-4:],
        "id_number": person.id_number[:4] + "**********" + person.id_number[-4:],
        "real_name_verified": True, "language": "zh-hans",
        "phone_mismatch": False, "phone_missing": False, "notice": "",
    }


def test_me_in_english(auth):
    c, h = auth
    assert get(c, "me", HTTP_ACCEPT_LANGUAGE="en", **h).json()["role_label"] == "Citizen"


def test_staff_me():
    admin = services.staff_bootstrap(username="admin01", display_name="管理员 赵强", password=PASSWORD)
    body = get(Client(), "me", **bearer(admin)).json()
    assert body["role"] == "admin" and body["name"] == "管理员 赵强" and body["id_number"] == ""


def test_my_licences(auth, citizen):
    c, h = auth
    r = get(c, "me/licences", **h)
    assert r.status_code == 200
    [lic] = r.json()
    number = citizen.person.id_number
    assert lic["licence_number"] == number[:4] + "**********" + number[-4:]
    assert number not in r.content.decode()
    assert lic["classes"] == [{"code": "C1", "label": "小型汽车"}] and "C2" in lic["covered_classes"]
    assert lic["status"] == "valid" and lic["points"] == 0 and lic["points_left"] == 12


def test_no_licence_is_an_empty_list():
    user = register(make_person())
    assert get(Client(), "me/licences", **bearer(user)).json() == []


def test_my_vehicles_own_and_others_without_owner_data(auth, citizen):
    c, h = auth
    owner, car = owner_with_car()
    b = services.binding_request(user=citizen, plate=car.plate, plate_type="02", vin_last4=car.vin[-4:])
    services.binding_confirm(user=citizen, binding_id=b.pk, code=last_code(owner.phone))
    r = get(c, "me/vehicles", **h)
    assert r.status_code == 200
    rows = {v["plate"]: v for v in r.json()}
    own = Vehicle.objects.get(owner=citizen.person)
    assert rows[own.plate]["binding_kind"] == "own" and rows[car.plate]["binding_kind"] == "other"
    other = rows[car.plate]
    assert other["vin_last4"] == car.vin[-4:] and other["plate_display"] == car.plate[:2] + "·" + car.plate[2:]
    assert other["insurance_status"] in ("valid", "expiring") and other["inspection_status"] in ("ok", "due_soon")
    text = r.content.decode()
    for secret in (owner.name, owner.id_number, owner.phone, owner.address, car.vin):
        assert secret not in text
    assert "owner" not in text


def test_my_vehicles_picks_up_a_newly_registered_car(auth, citizen):
    c, h = auth
    new = make_vehicle(owner=citizen.person)
    assert new.plate in {v["plate"] for v in get(c, "me/vehicles", **h).json()}


def test_bind_confirm_unbind_through_the_api(auth, citizen):
    c, h = auth
    owner, car = owner_with_car()
    r = post(c, "me/bindings", {"plate": car.plate, "plate_type": "02", "vin_last4": car.vin[-4:]}, **h)
    assert r.status_code == 201, r.content
    binding = r.json()
    assert binding["status"] == "pending" and binding["kind"] == "other" and binding["status_label"] == "待车主确认"
    r = post(c, f"me/bindings/{binding['id']}/confirm", {"code": last_code(owner.phone)}, **h)
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["bound_at"]
    listed = get(c, "me/bindings", **h).json()
    assert {(x["kind"], x["status"]) for x in listed} == {("own", "active"), ("other", "active")}
    r = delete(c, f"me/bindings/{binding['id']}", **h)
    assert r.status_code == 200 and r.json()["status"] == "ended"
    assert car.plate not in {v["plate"] for v in get(c, "me/vehicles", **h).json()}


def test_binding_errors_through_the_api(auth, citizen):
    c, h = auth
    owner, car = owner_with_car()
    bad_tail = "0000" if car.vin[-4:] != "0000" else "1111"
    assert_error(post(c, "me/bindings", {"plate": car.plate, "vin_last4": bad_tail}, **h), 422,
                 "identity.vehicle_not_matched", {"plate", "vin_last4"})
    taxi = make_vehicle(owner=make_person(), use="taxi")
    assert_error(post(c, "me/bindings", {"plate": taxi.plate, "vin_last4": taxi.vin[-4:]}, **h), 422,
                 "identity.vehicle_not_bindable", {"plate"})
    own = Vehicle.objects.get(owner=citizen.person)
    own_binding = VehicleBinding.objects.get(user=citizen, kind="own")
    assert_error(post(c, "me/bindings", {"plate": own.plate, "vin_last4": own.vin[-4:]}, **h), 409,
                 "identity.own_vehicle")
    assert_error(delete(c, f"me/bindings/{own_binding.pk}", **h), 409, "identity.own_vehicle_unbind")
    r = post(c, "me/bindings", {"plate": car.plate, "vin_last4": car.vin[-4:]}, **h)
    code = last_code(owner.phone)
    assert_error(post(c, f"me/bindings/{r.json()['id']}/confirm", {"code": wrong(code)}, **h), 422,
                 "identity.code_invalid", {"code"})


def test_binding_limits_through_the_api(auth, citizen):
    c, h = auth
    for i in range(3):
        owner, car = owner_with_car()
        r = post(c, "me/bindings", {"plate": car.plate, "vin_last4": car.vin[-4:]}, **h)
        if i < 2:
            assert r.status_code == 201
            assert post(c, f"me/bindings/{r.json()['id']}/confirm", {"code": last_code(owner.phone)}, **h).status_code == 200
        else:
            assert_error(r, 409, "identity.too_many_vehicles")


def test_idempotency_key_on_confirm(auth, citizen):
    c, h = auth
    owner, car = owner_with_car()
    r = post(c, "me/bindings", {"plate": car.plate, "vin_last4": car.vin[-4:]}, **h)
    bid, code = r.json()["id"], last_code(owner.phone)
    first = post(c, f"me/bindings/{bid}/confirm", {"code": code}, HTTP_IDEMPOTENCY_KEY="confirm-0001", **h)
    again = post(c, f"me/bindings/{bid}/confirm", {"code": code}, HTTP_IDEMPOTENCY_KEY="confirm-0001", **h)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert AuditEntry.objects.filter(action="binding.confirm").count() == 1
    assert_error(post(c, f"me/bindings/{bid}/confirm", {"code": code}, **h), 409, "identity.already_bound")
    assert_error(post(c, f"me/bindings/{bid}/confirm", {"code": code}, HTTP_IDEMPOTENCY_KEY="short", **h), 422,
                 "core.idempotency_key", {"Idempotency-Key"})


# --- one citizen never reaches another's records ------------------------------------------------------------------

def test_another_users_binding_is_404_and_unchanged(citizen):
    owner, car = owner_with_car()
    victim = register(holder(name="王五"))
    victim_binding = services.binding_request(user=victim, plate=car.plate, plate_type="02", vin_last4=car.vin[-4:])
    code = last_code(owner.phone)
    victim_own = VehicleBinding.objects.get(user=victim, kind="own")
    h = bearer(citizen)
    missing_id = VehicleBinding.objects.order_by("-pk").first().pk + 1000
    nonexistent = assert_error(delete(Client(), f"me/bindings/{missing_id}", **h), 404, "core.not_found")
    for bid in (victim_binding.pk, victim_own.pk):
        for response in (delete(Client(), f"me/bindings/{bid}", **h),
                         post(Client(), f"me/bindings/{bid}/confirm", {"code": code}, **h)):
            assert assert_error(response, 404) == nonexistent
    assert VehicleBinding.objects.get(pk=victim_binding.pk).status == "pending"
    assert VehicleBinding.objects.get(pk=victim_own.pk).status == "active"
    assert SmsCode.objects.get(context=str(victim_binding.pk)).attempts == 0
    # the victim's code still works for the victim
    assert services.binding_confirm(user=victim, binding_id=victim_binding.pk, code=code).status == "active"
    # and nothing of the victim shows in the attacker's lists
    for path in ("me/vehicles", "me/bindings", "me/licences", "me"):
        text = get(Client(), path, **h).content.decode()
        assert victim.person.id_number[-8:] not in text and victim.phone[-8:] not in text
        assert Vehicle.objects.get(owner=victim.person).plate not in text


def test_binding_ids_of_any_shape_are_4xx(citizen):
    h = bearer(citizen)
    for bid in ["0", "-1", "abc", "1.5", "99999999999999999999999", str(2**63), "%00", "1;drop"]:
        r = delete(Client(), f"me/bindings/{bid}", **h)
        assert 400 <= r.status_code < 500, (bid, r.status_code)
        r = post(Client(), f"me/bindings/{bid}/confirm", {"code": "123456"}, **h)
        assert 400 <= r.status_code < 500, (bid, r.status_code)
    assert_error(delete(Client(), f"me/bindings/{2**63 - 1}", **h), 404)


def test_session_and_bearer_together_use_the_bearer(citizen):
    other = register(holder(name="赵六"))
    c = session_client(citizen)
    assert get(c, "me").json()["id"] == citizen.pk
    assert get(c, "me", **bearer(other)).json()["id"] == other.pk


@pytest.mark.parametrize("n", [1, 5])
def test_my_vehicles_reads_a_fixed_number_of_queries(n, django_assert_max_num_queries):
    user = register(holder(vehicles=n))
    h = bearer(user)
    get(Client(), "me/vehicles", **h)
    with django_assert_max_num_queries(8):
        r = get(Client(), "me/vehicles", **h)
    assert len(r.json()) == n
