"""Vehicle bindings (DOMAIN §1): own vehicles automatically; others' with the owner's SMS code; the limits."""
import datetime as dt

import pytest

from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import selectors, services
from jiaoguan.identity.models import SmsCode, VehicleBinding
from jiaoguan.notifications.models import Message
from jiaoguan.registry.models import Vehicle
from tests.factories import make_person, make_policy, make_vehicle
from tests.identity.helpers import PASSWORD, holder, later, register, wrong
from tests.notifications.helpers import last_code, last_sms

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    return register(holder(name="张三"))


def owner_with_car(**kw):
    person = holder(name="李四", **kw)
    return person, Vehicle.objects.filter(owner=person).first()


def request(user, vehicle, *, vin_last4=None, plate_type=None):
    return services.binding_request(user=user, plate=vehicle.plate, plate_type=plate_type or vehicle.plate_type,
                                    vin_last4=vin_last4 or vehicle.vin[-4:])


def bind(user, vehicle):
    """Request and confirm with the code the owner received."""
    binding = request(user, vehicle)
    code = last_code(vehicle.owner.phone)
    return services.binding_confirm(user=user, binding_id=binding.pk, code=code)


# --- own vehicles -------------------------------------------------------------------------------------------------

def test_own_vehicles_are_bound_at_registration(citizen):
    own = list(VehicleBinding.objects.filter(user=citizen))
    assert len(own) == 1 and own[0].kind == "own" and own[0].status == "active"
    assert AuditEntry.objects.filter(action="binding.own_bind").count() == 1


def test_sync_binds_new_vehicles_and_ends_those_no_longer_owned(citizen):
    new = make_vehicle(owner=citizen.person)
    services.bindings_sync_own(user=citizen)
    old = VehicleBinding.objects.exclude(vehicle=new).get(user=citizen)
    assert VehicleBinding.objects.get(user=citizen, vehicle=new).status == "active"
    # the first car is sold
    Vehicle.objects.filter(pk=old.vehicle_id).update(owner=make_person())
    services.bindings_sync_own(user=citizen)
    old.refresh_from_db()
    assert old.status == "ended" and old.ended_at is not None
    assert AuditEntry.objects.filter(action="binding.own_end").count() == 1
    services.bindings_sync_own(user=citizen)  # nothing more to do: no new rows
    assert VehicleBinding.objects.filter(user=citizen).count() == 2


def test_scrapped_vehicles_are_not_bound(citizen):
    make_vehicle(owner=citizen.person, status="scrapped")
    services.bindings_sync_own(user=citizen)
    assert VehicleBinding.objects.filter(user=citizen).count() == 1


def test_a_vehicle_bound_as_someone_elses_becomes_own_when_bought(citizen):
    _owner, car = owner_with_car()
    bind(citizen, car)
    Vehicle.objects.filter(pk=car.pk).update(owner=citizen.person)
    services.bindings_sync_own(user=citizen)
    b = VehicleBinding.objects.get(user=citizen, vehicle=car)
    assert b.kind == "own" and b.status == "active"


# --- binding someone else's vehicle -------------------------------------------------------------------------------

def test_request_and_confirm(citizen):
    owner, car = owner_with_car()
    binding = request(citizen, car)
    assert binding.status == "pending" and binding.kind == "other" and binding.bound_at is None
    sms = last_sms(owner.phone)
    assert "张*" in sms and car.plate[2:] in sms  # the owner learns who asks (masked) and for which car
    code = last_code(owner.phone)
    confirmed = services.binding_confirm(user=citizen, binding_id=binding.pk, code=code)
    assert confirmed.status == "active" and confirmed.bound_at is not None
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(binding.pk),
                                                        object_type="identity.vehiclebinding")] \
        == ["binding.request", "binding.confirm"]
    assert Message.objects.filter(recipient=citizen, template_code="binding.confirmed").exists()
    # the owner is told by SMS that the binding they authorised is now in force
    assert Message.objects.filter(template_code="binding.owner_confirmed", channel="sms").count() == 1
    assert car.plate[2:] in last_sms(owner.phone) and "授权" in last_sms(owner.phone)
    # the requester now sees the car, but nothing about its owner
    mine = {mv.vehicle.plate: mv for mv in selectors.my_vehicles(user=citizen)}
    assert mine[car.plate].kind == "other" and mine[car.plate].bound_at == confirmed.bound_at
    text = repr(mine[car.plate])
    assert owner.name not in text and owner.id_number not in text and owner.phone not in text


def test_owners_own_account_is_not_needed(citizen):
    _owner, car = owner_with_car()
    assert bind(citizen, car).status == "active"


def test_new_energy_small_cars_can_be_bound(citizen):
    owner = make_person(name="王五")
    car = make_vehicle(owner=owner, plate="粤BD12345", plate_type="52")
    assert bind(citizen, car).status == "active"


def test_wrong_vin_digits_are_refused(citizen):
    _owner, car = owner_with_car()
    tail = car.vin[-4:]
    bad = ("0" if tail[0] != "0" else "1") + tail[1:]
    with pytest.raises(InvalidInput) as exc:
        request(citizen, car, vin_last4=bad)
    assert exc.value.code == "identity.vehicle_not_matched" and {"plate", "vin_last4"} <= set(exc.value.fields)
    assert not VehicleBinding.objects.filter(kind="other").exists()
    assert last_sms(car.owner.phone) is None


def test_wrong_plate_type_or_unknown_plate_looks_the_same(citizen):
    _owner, car = owner_with_car()
    with pytest.raises(InvalidInput) as a:
        request(citizen, car, plate_type="52")
    with pytest.raises(InvalidInput) as b:
        services.binding_request(user=citizen, plate="粤B99Z99", plate_type="02", vin_last4=car.vin[-4:])
    assert a.value.code == b.value.code == "identity.vehicle_not_matched"


def test_vin_tail_is_case_and_space_insensitive(citizen):
    _owner, car = owner_with_car()
    assert request(citizen, car, vin_last4=" " + car.vin[-4:].lower() + " ").status == "pending"


@pytest.mark.parametrize("tail", ["", "12", "12345", "IIII", "OQ12", "ab!@"])
def test_malformed_vin_tail(citizen, tail):
    _owner, car = owner_with_car()
    with pytest.raises(InvalidInput) as exc:
        services.binding_request(user=citizen, plate=car.plate, plate_type="02", vin_last4=tail)
    assert "vin_last4" in exc.value.fields


@pytest.mark.parametrize("plate", ["粤B1234", "XB12345", "粤I12345", "粤BO2345", "", "粤B123456"])
def test_malformed_plate(citizen, plate):
    with pytest.raises(InvalidInput) as exc:
        services.binding_request(user=citizen, plate=plate, plate_type="02", vin_last4="1234")
    assert "plate" in exc.value.fields


def test_unknown_plate_type(citizen):
    _owner, car = owner_with_car()
    with pytest.raises(InvalidInput) as exc:
        request(citizen, car, plate_type="99")
    assert "plate_type" in exc.value.fields


@pytest.mark.parametrize("kw", [
    dict(use="taxi"), dict(use="passenger_commercial"), dict(use="freight", kind="truck", plate_type="01"),
    dict(kind="motorcycle", plate_type="07"), dict(kind="bus", plate_type="01", use="bus_service"),
    dict(use="learner", plate_type="16"),
])
def test_commercial_and_other_vehicles_are_refused(citizen, kw):
    owner = make_person(name="赵六")
    car = make_vehicle(owner=owner, **kw)
    with pytest.raises(InvalidInput) as exc:
        request(citizen, car)
    assert exc.value.code == "identity.vehicle_not_bindable"
    assert last_sms(owner.phone) is None


def test_company_vehicles_are_refused(citizen):
    car = make_vehicle(owner=None)
    with pytest.raises(InvalidInput) as exc:
        request(citizen, car)
    assert exc.value.code == "identity.vehicle_not_bindable"


def test_owner_without_phone_on_file(citizen):
    owner = make_person(phone=None)
    car = make_vehicle(owner=owner)
    with pytest.raises(InvalidInput) as exc:
        request(citizen, car)
    assert exc.value.code == "identity.owner_no_phone"


def test_requesting_ones_own_vehicle(citizen):
    own = Vehicle.objects.get(owner=citizen.person)
    with pytest.raises(Conflict) as exc:
        request(citizen, own)
    assert exc.value.code == "identity.own_vehicle"


def test_at_most_two_vehicles_of_others(citizen, settings):
    cars = [owner_with_car()[1] for _ in range(3)]
    bind(citizen, cars[0])
    bind(citizen, cars[1])
    with pytest.raises(Conflict) as exc:
        request(citizen, cars[2])
    assert exc.value.code == "identity.too_many_vehicles" and "2" in exc.value.zh
    # own vehicles do not count
    make_vehicle(owner=citizen.person)
    services.bindings_sync_own(user=citizen)
    assert len(selectors.my_vehicles(user=citizen)) == 4


def test_pending_requests_count_towards_the_limit(citizen):
    cars = [owner_with_car()[1] for _ in range(3)]
    request(citizen, cars[0])
    request(citizen, cars[1])
    with pytest.raises(Conflict):
        request(citizen, cars[2])


def test_the_limit_is_configuration(citizen, settings):
    settings.JIAOGUAN_MAX_OTHER_VEHICLES = 3
    for _ in range(3):
        bind(citizen, owner_with_car()[1])
    assert VehicleBinding.objects.filter(user=citizen, kind="other", status="active").count() == 3


def test_at_most_three_users_per_vehicle_owner_included():
    owner, car = owner_with_car()
    register(owner)  # the owner's own account counts as the owner's place, not an extra one
    users = [register(holder(name=f"用户{i}")) for i in range(3)]
    bind(users[0], car)
    later()
    bind(users[1], car)
    later()
    with pytest.raises(Conflict) as exc:
        request(users[2], car)
    assert exc.value.code == "identity.vehicle_full"


def test_confirm_rechecks_the_seats():
    _owner, car = owner_with_car()
    users = [register(holder(name=f"用户{i}")) for i in range(3)]
    pending, codes = [], []
    for u in users:  # three requests for two free places: each passes the check at request time
        later()
        pending.append(request(u, car))
        codes.append(last_code(car.owner.phone))
    services.binding_confirm(user=users[0], binding_id=pending[0].pk, code=codes[0])
    services.binding_confirm(user=users[1], binding_id=pending[1].pk, code=codes[1])
    with pytest.raises(Conflict) as exc:
        services.binding_confirm(user=users[2], binding_id=pending[2].pk, code=codes[2])
    assert exc.value.code == "identity.vehicle_full"
    assert VehicleBinding.objects.get(pk=pending[2].pk).status == "pending"
    # a place frees up: the third can confirm with the same code
    services.binding_end(user=users[0], binding_id=pending[0].pk)
    assert services.binding_confirm(user=users[2], binding_id=pending[2].pk, code=codes[2]).status == "active"


def test_confirm_with_a_wrong_code(citizen, settings):
    _owner, car = owner_with_car()
    binding = request(citizen, car)
    code = last_code(car.owner.phone)
    for _ in range(settings.JIAOGUAN_OTP_MAX_ATTEMPTS):
        with pytest.raises(InvalidInput) as exc:
            services.binding_confirm(user=citizen, binding_id=binding.pk, code=wrong(code))
        assert exc.value.code == "identity.code_invalid"
    with pytest.raises(InvalidInput):
        services.binding_confirm(user=citizen, binding_id=binding.pk, code=code)
    assert VehicleBinding.objects.get(pk=binding.pk).status == "pending"


def test_an_owners_code_for_one_request_does_not_confirm_another():
    owner, car = owner_with_car()
    a, b = register(holder(name="甲")), register(holder(name="乙"))
    ra = request(a, car)
    code_a = last_code(owner.phone)
    later()
    rb = request(b, car)
    if last_code(owner.phone) == code_a:
        pytest.skip("the two random codes happen to be equal (one chance in a million)")
    with pytest.raises(InvalidInput):
        services.binding_confirm(user=b, binding_id=rb.pk, code=code_a)
    assert services.binding_confirm(user=a, binding_id=ra.pk, code=code_a).status == "active"


def test_someone_elses_binding_is_not_found():
    _owner, car = owner_with_car()
    a, b = register(holder(name="甲")), register(holder(name="乙"))
    binding = request(a, car)
    code = last_code(car.owner.phone)
    for call in (lambda: services.binding_confirm(user=b, binding_id=binding.pk, code=code),
                 lambda: services.binding_end(user=b, binding_id=binding.pk)):
        with pytest.raises(NotFound) as exc:
            call()
        assert exc.value.code == "core.not_found"
    with pytest.raises(NotFound) as missing:
        services.binding_end(user=b, binding_id=binding.pk + 1000)
    assert missing.value.as_dict("en") == NotFound("core.not_found", "绑定记录不存在", "The binding does not exist").as_dict("en")
    assert VehicleBinding.objects.get(pk=binding.pk).status == "pending"
    assert SmsCode.objects.get(context=str(binding.pk)).attempts == 0


def test_asking_again_while_pending_sends_a_new_code(citizen):
    owner, car = owner_with_car()
    first = request(citizen, car)
    old = last_code(owner.phone)
    later()
    again = request(citizen, car)
    assert again.pk == first.pk and VehicleBinding.objects.filter(user=citizen, kind="other").count() == 1
    new = last_code(owner.phone)
    if new == old:
        pytest.skip("the two random codes happen to be equal (one chance in a million)")
    with pytest.raises(InvalidInput):
        services.binding_confirm(user=citizen, binding_id=first.pk, code=old)
    assert services.binding_confirm(user=citizen, binding_id=first.pk, code=new).status == "active"


def test_owner_phone_is_rate_limited(citizen):
    _owner, car = owner_with_car()
    request(citizen, car)
    with pytest.raises(RateLimited):
        request(citizen, car)


def test_binding_attempts_per_user_are_limited(citizen, settings):
    settings.JIAOGUAN_BIND_RATE_PER_USER = "3/h"
    _owner, car = owner_with_car()
    for _ in range(3):
        with pytest.raises(InvalidInput):
            request(citizen, car, vin_last4="0000" if car.vin[-4:] != "0000" else "1111")
    with pytest.raises(RateLimited):
        request(citizen, car)


def test_pending_requests_expire_with_their_code(citizen, clock):
    clock.freeze(dt.datetime(2026, 3, 2, 10, 0))
    cars = [owner_with_car()[1] for _ in range(3)]
    first = request(citizen, cars[0])
    request(citizen, cars[1])
    code = last_code(cars[0].owner.phone)
    clock.advance(dt.timedelta(minutes=6))
    with pytest.raises(InvalidInput):
        services.binding_confirm(user=citizen, binding_id=first.pk, code=code)
    # the stale requests no longer block a new one
    assert request(citizen, cars[2]).status == "pending"
    assert VehicleBinding.objects.get(pk=first.pk).status == "expired"
    with pytest.raises(Conflict) as exc:
        services.binding_confirm(user=citizen, binding_id=first.pk, code=code)
    assert exc.value.code == "identity.binding_not_pending"


def test_confirming_twice(citizen):
    owner, car = owner_with_car()
    binding = request(citizen, car)
    code = last_code(owner.phone)
    services.binding_confirm(user=citizen, binding_id=binding.pk, code=code)
    with pytest.raises(Conflict) as exc:
        services.binding_confirm(user=citizen, binding_id=binding.pk, code=code)
    assert exc.value.code == "identity.already_bound"


def test_idempotent_confirm_replays_the_first_result(citizen):
    owner, car = owner_with_car()
    binding = request(citizen, car)
    code = last_code(owner.phone)
    first = services.binding_confirm(user=citizen, binding_id=binding.pk, code=code, idempotency_key="key-12345678")
    again = services.binding_confirm(user=citizen, binding_id=binding.pk, code=code, idempotency_key="key-12345678")
    assert first.pk == again.pk and again.status == "active"
    assert AuditEntry.objects.filter(action="binding.confirm").count() == 1
    with pytest.raises(InvalidInput):  # the same key for another request
        services.binding_confirm(user=citizen, binding_id=binding.pk, code=wrong(code), idempotency_key="key-12345678")


def test_idempotent_confirm_still_counts_wrong_codes(citizen, settings):
    owner, car = owner_with_car()
    binding = request(citizen, car)
    code = last_code(owner.phone)
    for i in range(settings.JIAOGUAN_OTP_MAX_ATTEMPTS):
        with pytest.raises(InvalidInput):
            services.binding_confirm(user=citizen, binding_id=binding.pk, code=wrong(code),
                                     idempotency_key=f"key-try-{i:04d}")
    with pytest.raises(InvalidInput):
        services.binding_confirm(user=citizen, binding_id=binding.pk, code=code, idempotency_key="key-final-01")


def test_unbinding_ones_own_vehicle_is_refused(citizen):
    own = VehicleBinding.objects.get(user=citizen, kind="own")
    with pytest.raises(Conflict) as exc:
        services.binding_end(user=citizen, binding_id=own.pk)
    assert exc.value.code == "identity.own_vehicle_unbind"
    assert VehicleBinding.objects.get(pk=own.pk).status == "active"


def test_unbinding_someone_elses_vehicle(citizen):
    owner, car = owner_with_car()
    binding = bind(citizen, car)
    ended = services.binding_end(user=citizen, binding_id=binding.pk)
    assert ended.status == "ended" and ended.ended_at is not None
    assert car.plate not in {mv.vehicle.plate for mv in selectors.my_vehicles(user=citizen)}
    assert AuditEntry.objects.filter(action="binding.end", object_id=str(binding.pk)).count() == 1
    assert Message.objects.filter(recipient=citizen, template_code="binding.ended").exists()
    # ending again changes nothing; binding again is possible
    assert services.binding_end(user=citizen, binding_id=binding.pk).status == "ended"
    later()
    assert bind(citizen, car).status == "active"


def test_withdrawing_a_pending_request(citizen):
    _owner, car = owner_with_car()
    binding = request(citizen, car)
    assert services.binding_end(user=citizen, binding_id=binding.pk).status == "ended"
    assert not Message.objects.filter(template_code="binding.ended").exists()


def test_only_verified_citizens_bind():
    from jiaoguan.identity.services import staff_bootstrap

    clerk = staff_bootstrap(username="clerk01", display_name="x", role="clerk", password=PASSWORD)
    _owner, car = owner_with_car()
    with pytest.raises(Forbidden):
        request(clerk, car)


def test_my_bindings_lists_every_state(citizen):
    a = request(citizen, owner_with_car()[1])
    services.binding_end(user=citizen, binding_id=a.pk)
    rows = selectors.my_bindings(user=citizen)
    assert {(r.kind, r.status) for r in rows} == {("own", "active"), ("other", "ended")}


def test_my_licence(citizen):
    summary = selectors.my_licence(user=citizen)
    assert summary is not None and summary.licence_number == citizen.person.id_number
    nobody = register(make_person(name="无证"))
    assert selectors.my_licence(user=nobody) is None


def test_insurance_shows_on_my_vehicles(citizen):
    car = make_vehicle(owner=citizen.person)
    services.bindings_sync_own(user=citizen)
    by_plate = {mv.vehicle.plate: mv.vehicle for mv in selectors.my_vehicles(user=citizen)}
    assert by_plate[car.plate].insurance_status == "none"
    make_policy(vehicle=car)
    by_plate = {mv.vehicle.plate: mv.vehicle for mv in selectors.my_vehicles(user=citizen)}
    assert by_plate[car.plate].insurance_status in ("valid", "expiring")


def test_user_by_phone(citizen):
    assert selectors.user_by_phone(phone=citizen.phone) == citizen
    assert selectors.user_by_phone(phone="+86" + citizen.phone) == citizen
    assert selectors.user_by_phone(phone="13") is None


def test_owner_is_told_when_another_users_binding_ends(citizen):
    owner, car = owner_with_car()
    binding = bind(citizen, car)
    services.binding_end(user=citizen, binding_id=binding.pk)
    assert Message.objects.filter(template_code="binding.owner_ended", channel="sms").count() == 1
    assert "解除绑定" in last_sms(owner.phone)
