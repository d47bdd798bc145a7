"""Vehicles that change owner or leave service take their bindings with them (review defect 4).

The registry emits ``registry.vehicle_owner_changed`` / ``registry.vehicle_status_changed`` through the outbox;
identity.handlers end the bindings that no longer stand and bind the vehicle to the new owner's account. The
tests change the registry rows and emit the events themselves, in a transaction, as the registry does.
"""
import pytest
from django.db import transaction

from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.core.outbox import event_emit, subscribers
from jiaoguan.identity import handlers, selectors, services
from jiaoguan.identity.models import VehicleBinding
from jiaoguan.notifications.models import Message
from jiaoguan.registry.models import Vehicle
from tests.factories import make_person, unique_phone
from tests.identity.helpers import holder, later, register
from tests.identity.test_bindings import bind, request
from tests.notifications.helpers import last_code

pytestmark = pytest.mark.django_db

OWNER_CHANGED = "registry.vehicle_owner_changed"
STATUS_CHANGED = "registry.vehicle_status_changed"


def change_owner(car, new_owner, capture):
    old = Vehicle.objects.get(pk=car.pk).owner_id
    with capture(execute=True), transaction.atomic():
        Vehicle.objects.filter(pk=car.pk).update(owner=new_owner)
        event_emit(topic=OWNER_CHANGED, payload={"vehicle_id": car.pk, "old_owner_id": old,
                                                 "new_owner_id": new_owner.pk if new_owner else None})


def change_status(car, status, capture):
    old = Vehicle.objects.get(pk=car.pk).status
    with capture(execute=True), transaction.atomic():
        Vehicle.objects.filter(pk=car.pk).update(status=status)
        event_emit(topic=STATUS_CHANGED, payload={"vehicle_id": car.pk, "old_status": old, "new_status": status})


def replay(topic, payload, capture):
    with capture(execute=True), transaction.atomic():
        event_emit(topic=topic, payload=payload)


def live(user, car):
    return VehicleBinding.objects.filter(user=user, vehicle=car, status__in=["pending", "active"]).first()


def ended_messages(user):
    return Message.objects.filter(recipient=user, template_code="binding.ended", channel="inbox").count()


def plates(user):
    return [mv.vehicle.plate for mv in selectors.my_vehicles(user=user)]


@pytest.fixture
def scene(settings):
    """A car whose owner has an account, bound by two relatives, and one more asking."""
    settings.JIAOGUAN_MAX_USERS_PER_VEHICLE = 4
    seller_person = holder(name="车主甲", vehicles=1)
    seller = register(seller_person)
    car = Vehicle.objects.get(owner=seller_person)
    x = register(holder(name="亲属乙", vehicles=0))
    y = register(holder(name="亲属丙", vehicles=0))
    bind(x, car)
    later()
    bind(y, car)
    later()
    z = register(holder(name="朋友丁", vehicles=0))
    services.binding_request(user=z, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
    return {"seller": seller, "car": car, "x": x, "y": y, "z": z}


def test_the_handlers_are_subscribed():
    assert "jiaoguan.identity.handlers:vehicle_owner_changed" in subscribers(OWNER_CHANGED)
    assert "jiaoguan.identity.handlers:vehicle_status_changed" in subscribers(STATUS_CHANGED)


def test_a_sale_ends_every_binding_and_binds_the_car_to_the_buyer(scene, django_capture_on_commit_callbacks):
    car, seller, x, y, z = scene["car"], scene["seller"], scene["x"], scene["y"], scene["z"]
    buyer = register(holder(name="买家戊", vehicles=0))
    change_owner(car, buyer.person, django_capture_on_commit_callbacks)

    assert set(OutboxEvent.objects.filter(topic=OWNER_CHANGED).values_list("status", flat=True)) == {"delivered"}
    for user in (seller, x, y, z):
        assert live(user, car) is None
        assert car.plate not in plates(user)
    # each end audited, with who owns the car now
    ends = AuditEntry.objects.filter(action="binding.vehicle_changed")
    assert ends.count() == 4 and {e.new["owner_person_id"] for e in ends} == {buyer.person_id}
    assert {e.reason for e in ends} == {"vehicle owner changed"}
    # users whose vehicle was bound are told in the inbox; the one still waiting for a code was never bound
    assert [ended_messages(u) for u in (seller, x, y, z)] == [1, 1, 1, 0]
    # the buyer's account now has it as an own vehicle
    own = live(buyer, car)
    assert own.kind == "own" and own.status == "active" and own.owner_person_id == buyer.person_id
    assert plates(buyer) == [car.plate]


def test_the_handler_is_idempotent(scene, django_capture_on_commit_callbacks):
    car, x = scene["car"], scene["x"]
    buyer_person = holder(name="买家戊", vehicles=0)
    buyer = register(buyer_person)
    change_owner(car, buyer_person, django_capture_on_commit_callbacks)
    payload = OutboxEvent.objects.filter(topic=OWNER_CHANGED).first().payload
    audits, messages = AuditEntry.objects.count(), Message.objects.count()
    bindings = list(VehicleBinding.objects.order_by("pk").values_list("pk", "status", "kind"))
    replay(OWNER_CHANGED, payload, django_capture_on_commit_callbacks)
    assert (AuditEntry.objects.count(), Message.objects.count()) == (audits, messages)
    assert list(VehicleBinding.objects.order_by("pk").values_list("pk", "status", "kind")) == bindings

    # the new owner lets a relative bind the car; a late replay of the old event must not end that binding
    later()
    binding = request(x, car)
    services.binding_confirm(user=x, binding_id=binding.pk, code=last_code(buyer_person.phone))
    replay(OWNER_CHANGED, payload, django_capture_on_commit_callbacks)
    assert live(x, car).status == "active" and car.plate in plates(x)
    assert live(buyer, car).kind == "own"


def test_a_buyer_who_had_bound_the_car_keeps_it_as_own(scene, django_capture_on_commit_callbacks):
    car, x = scene["car"], scene["x"]
    change_owner(car, x.person, django_capture_on_commit_callbacks)
    b = live(x, car)
    assert b.kind == "own" and b.status == "active" and b.owner_person_id == x.person_id
    assert ended_messages(x) == 0
    assert AuditEntry.objects.filter(action="binding.became_own", object_id=str(b.pk)).exists()
    assert live(scene["y"], car) is None and live(scene["seller"], car) is None


def test_a_buyer_without_an_account(scene, django_capture_on_commit_callbacks):
    car = scene["car"]
    change_owner(car, make_person(name="新车主"), django_capture_on_commit_callbacks)
    assert not VehicleBinding.objects.filter(vehicle=car, status__in=["pending", "active"]).exists()


def test_a_buyer_whose_phone_is_not_the_phone_on_file_gets_nothing(scene, django_capture_on_commit_callbacks):
    car = scene["car"]
    buyer_person = make_person(name="买家己", phone=None)
    buyer = register(buyer_person, phone=unique_phone())
    buyer_person.phone = unique_phone()  # the window records the real owner's phone with the sale
    buyer_person.save()
    change_owner(car, buyer_person, django_capture_on_commit_callbacks)
    assert live(buyer, car) is None and plates(buyer) == []


def test_a_company_takes_over_the_car(scene, django_capture_on_commit_callbacks):
    car = scene["car"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        Vehicle.objects.filter(pk=car.pk).update(owner=None, owner_company="某某租赁有限公司")
        event_emit(topic=OWNER_CHANGED, payload={"vehicle_id": car.pk, "old_owner_id": car.owner_id,
                                                 "new_owner_id": None})
    assert not VehicleBinding.objects.filter(vehicle=car, status__in=["pending", "active"]).exists()


@pytest.mark.parametrize("status", ["scrapped", "transferred"])
def test_a_car_leaving_service_ends_every_binding(scene, status, django_capture_on_commit_callbacks):
    car = scene["car"]
    change_status(car, status, django_capture_on_commit_callbacks)
    assert OutboxEvent.objects.get(topic=STATUS_CHANGED).status == "delivered"
    assert not VehicleBinding.objects.filter(vehicle=car, status__in=["pending", "active"]).exists()
    assert AuditEntry.objects.filter(action="binding.vehicle_changed").count() == 4
    assert [ended_messages(scene[k]) for k in ("seller", "x", "y", "z")] == [1, 1, 1, 0]
    audits = AuditEntry.objects.count()
    replay(STATUS_CHANGED, {"vehicle_id": car.pk, "old_status": "normal", "new_status": status},
           django_capture_on_commit_callbacks)
    assert AuditEntry.objects.count() == audits


@pytest.mark.parametrize("status", ["mortgaged", "seized"])
def test_other_status_changes_end_nothing(scene, status, django_capture_on_commit_callbacks):
    car = scene["car"]
    change_status(car, status, django_capture_on_commit_callbacks)
    assert OutboxEvent.objects.get(topic=STATUS_CHANGED).status == "delivered"
    assert VehicleBinding.objects.filter(vehicle=car, status="active").count() == 3
    assert not AuditEntry.objects.filter(action="binding.vehicle_changed").exists()


@pytest.mark.parametrize("payload", [{}, {"vehicle_id": "x"}, {"vehicle_id": -1}, {"vehicle_id": 10**20},
                                     {"vehicle_id": 987654}])
def test_malformed_or_unknown_vehicles_are_dropped_without_failing(payload, django_capture_on_commit_callbacks):
    for topic in (OWNER_CHANGED, STATUS_CHANGED):
        replay(topic, payload, django_capture_on_commit_callbacks)
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}


def test_handlers_can_be_called_directly(scene):
    """What the outbox calls: a plain function of the payload."""
    car = scene["car"]
    Vehicle.objects.filter(pk=car.pk).update(status="scrapped")
    handlers.vehicle_status_changed({"vehicle_id": car.pk, "old_status": "normal", "new_status": "scrapped"})
    assert not VehicleBinding.objects.filter(vehicle=car, status__in=["pending", "active"]).exists()


# --- my vehicles never shows a vehicle that is gone, even before the event is handled ------------------------------

@pytest.mark.parametrize("status", ["scrapped", "transferred"])
def test_my_vehicles_hides_a_vehicle_that_left_service_at_once(scene, status):
    car = scene["car"]
    Vehicle.objects.filter(pk=car.pk).update(status=status)  # no event handled yet
    for key in ("seller", "x", "y"):
        assert car.plate not in plates(scene[key])


def test_my_vehicles_hides_bindings_the_new_owner_did_not_agree_to(scene):
    car = scene["car"]
    Vehicle.objects.filter(pk=car.pk).update(owner=make_person(name="新车主"))  # no event handled yet
    for key in ("seller", "x", "y"):
        assert car.plate not in plates(scene[key])


def test_my_vehicles_never_shows_an_ended_binding(scene):
    x, car = scene["x"], scene["car"]
    services.binding_end(user=x, binding_id=live(x, car).pk)
    assert car.plate not in plates(x)


def test_a_request_made_before_the_sale_cannot_be_confirmed_after_it(scene):
    car, z = scene["car"], scene["z"]
    pending = live(z, car)
    code = last_code(car.owner.phone)
    buyer = make_person(name="新车主")
    Vehicle.objects.filter(pk=car.pk).update(owner=buyer)
    with pytest.raises(Exception) as exc:
        services.binding_confirm(user=z, binding_id=pending.pk, code=code)
    assert getattr(exc.value, "status", None) in (409, 422)
    assert live(z, car).status == "pending"


def test_asking_again_after_a_sale_starts_a_new_request_to_the_new_owner(scene):
    car, z = scene["car"], scene["z"]
    old = live(z, car)
    buyer = make_person(name="新车主")
    Vehicle.objects.filter(pk=car.pk).update(owner=buyer)
    later()
    new = services.binding_request(user=z, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
    old.refresh_from_db()
    assert old.status == "ended" and new.pk != old.pk and new.owner_person_id == buyer.pk
    assert last_code(buyer.phone) is not None
