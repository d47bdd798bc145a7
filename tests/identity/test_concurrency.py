"""Real parallel connections on PostgreSQL: the last free place of a vehicle, and one phone registering twice."""
import threading

import pytest
from django.db import connection

from jiaoguan.core.errors import DomainError
from jiaoguan.identity import services
from jiaoguan.identity.models import User, VehicleBinding
from jiaoguan.registry.models import Vehicle
from tests.factories import make_person, unique_phone
from tests.identity.helpers import PASSWORD, code_for, fresh_ip, holder, later, register
from tests.notifications.helpers import last_code

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_together(*calls):
    """Run the calls in parallel threads released at the same instant; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []
    lock = threading.Lock()

    def worker(call):
        try:
            barrier.wait(timeout=10)
            value = call()
            with lock:
                results.append(value)
        except DomainError as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.parametrize("round_", range(3))
def test_two_users_confirming_the_last_free_place_one_wins(round_):
    owner = holder(name="李四")
    car = Vehicle.objects.get(owner=owner)
    first, a, b = (register(holder(name=n)) for n in ("甲", "乙", "丙"))
    binding = services.binding_request(user=first, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
    services.binding_confirm(user=first, binding_id=binding.pk, code=last_code(owner.phone))  # 1 place left
    pending = {}
    for user in (a, b):
        later()
        req = services.binding_request(user=user, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
        pending[user.pk] = (req.pk, last_code(owner.phone))

    results, errors = run_together(
        *[lambda u=u: services.binding_confirm(user=u, binding_id=pending[u.pk][0], code=pending[u.pk][1])
          for u in (a, b)]
    )
    assert len(results) == 1 and len(errors) == 1
    assert errors[0].code == "identity.vehicle_full"
    assert VehicleBinding.objects.filter(vehicle=car, kind="other", status="active").count() == 2


def test_one_user_confirming_two_vehicles_at_once_respects_the_limit(settings):
    user = register(holder(name="甲"))
    reqs = []
    for _ in range(2):  # two requests pass under the default limit of 2 ...
        owner = holder(name="李四")
        car = Vehicle.objects.get(owner=owner)
        req = services.binding_request(user=user, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
        reqs.append((req.pk, last_code(owner.phone)))
    settings.JIAOGUAN_MAX_OTHER_VEHICLES = 1  # ... then the city lowers it: only one confirmation may win
    results, errors = run_together(
        *[lambda r=r: services.binding_confirm(user=user, binding_id=r[0], code=r[1]) for r in reqs]
    )
    assert len(results) == 1 and [e.code for e in errors] == ["identity.too_many_vehicles"]
    assert VehicleBinding.objects.filter(user=user, kind="other", status="active").count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_the_same_phone_registering_twice_at_once_makes_one_account(round_):
    person = holder()
    code = code_for(person.phone)
    call = lambda: services.citizen_register(phone=person.phone, code=code, name=person.name,  # noqa: E731
                                             id_number=person.id_number, password=PASSWORD, ip=fresh_ip())
    results, errors = run_together(call, call)
    assert len(results) == 1 and len(errors) == 1
    assert errors[0].status in (409, 422)
    assert User.objects.count() == 1
    assert VehicleBinding.objects.filter(kind="own").count() == 1


def test_one_person_registering_with_two_phones_at_once_makes_one_account():
    person = make_person(phone=None)  # no phone on file, licence or vehicle: any phone may be used
    phones = [unique_phone(), unique_phone()]
    codes = [code_for(p) for p in phones]
    results, errors = run_together(
        *[lambda p=p, c=c: services.citizen_register(phone=p, code=c, name=person.name, id_number=person.id_number,
                                                     password=PASSWORD, ip=fresh_ip())
          for p, c in zip(phones, codes)]
    )
    assert len(results) == 1 and len(errors) == 1
    assert errors[0].status == 409 and errors[0].code == "identity.person_registered"
    assert User.objects.filter(person=person).count() == 1


def _sold_car_with_bindings(n_others=2):
    seller_person = holder(name="车主")
    seller = register(seller_person)
    car = Vehicle.objects.get(owner=seller_person)
    for i in range(n_others):
        user = register(holder(name=f"亲属{i}", vehicles=0))
        later()
        req = services.binding_request(user=user, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
        services.binding_confirm(user=user, binding_id=req.pk, code=last_code(seller_person.phone))
    buyer = register(holder(name="买家", vehicles=0))
    Vehicle.objects.filter(pk=car.pk).update(owner=buyer.person)
    return seller, buyer, car


@pytest.mark.parametrize("round_", range(2))
def test_the_same_vehicle_event_handled_twice_at_once_ends_each_binding_once(round_):
    from jiaoguan.core.models import AuditEntry

    _seller, buyer, car = _sold_car_with_bindings()
    call = lambda: services.bindings_reconcile_vehicle(vehicle_id=car.pk, reason="test")  # noqa: E731
    results, errors = run_together(call, call)
    assert errors == [] and len(results) == 2
    assert sorted(len(r) for r in results) == [0, 3]  # seller's own + two relatives, ended by one of the two
    assert AuditEntry.objects.filter(action="binding.vehicle_changed").count() == 3
    assert list(VehicleBinding.objects.filter(vehicle=car, status="active").values_list("user_id", "kind")) == [
        (buyer.pk, "own")]


def test_a_vehicle_event_and_the_new_owners_own_sync_at_once_make_one_own_binding():
    _seller, buyer, car = _sold_car_with_bindings(n_others=1)
    results, errors = run_together(
        lambda: services.bindings_reconcile_vehicle(vehicle_id=car.pk, reason="test"),
        lambda: services.bindings_sync_own(user=User.objects.get(pk=buyer.pk)),
    )
    assert errors == [] and len(results) == 2
    assert VehicleBinding.objects.filter(vehicle=car, status="active").count() == 1
    assert VehicleBinding.objects.get(vehicle=car, status="active").user_id == buyer.pk
