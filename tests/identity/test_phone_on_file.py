"""The phone on file (预留手机号) is what proves that an account belongs to the person (review defect 1).

Registration: whenever the registry has a phone on file, it must be used. After registration the check is
made again before the person's own records are shown: while the account's phone is not the phone on file, no
own vehicle is bound, and neither the licence nor own vehicles are shown; selectors.account_standing says why.
"""
import pytest

from jiaoguan.core.errors import Forbidden
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import selectors, services
from jiaoguan.identity.models import VehicleBinding
from jiaoguan.registry.models import Vehicle
from tests.api.helpers import get, session_client
from tests.factories import (
    make_licence,
    make_person,
    make_policy,
    make_vehicle,
    unique_phone,
)
from tests.identity.helpers import holder, register
from tests.identity.test_bindings import bind, owner_with_car

pytestmark = pytest.mark.django_db
PHONE_MISMATCH_ZH = "您的手机号与登记的预留手机号不一致，请到车管所窗口更新"


def _set_phone(person, phone):
    person.phone = phone
    person.save()


def _impostor_account():
    """Someone registers a person who has no phone on file and holds nothing, with their own phone; later the
    real person gets a licence and a car at a window, which records the real person's phone."""
    person = make_person(name="王五", phone=None)
    impostor_phone = unique_phone()
    account = register(person, phone=impostor_phone)
    _set_phone(person, unique_phone())
    make_licence(person=person)
    car = make_vehicle(owner=person)
    make_policy(vehicle=car)
    account.refresh_from_db()
    return account, person, car


def test_an_impostors_account_gets_no_licence_and_no_vehicle():
    account, _person, _car = _impostor_account()
    services.bindings_sync_own(user=account)
    assert not VehicleBinding.objects.filter(user=account).exists()
    assert selectors.my_licence(user=account) is None
    assert selectors.my_vehicles(user=account) == []
    standing = selectors.account_standing(user=account)
    assert standing.phone_mismatch and not standing.records_visible and not standing.ok
    assert standing.message_zh == PHONE_MISMATCH_ZH
    assert "window" in standing.message_en


def test_an_impostor_cannot_ask_to_bind_the_persons_car_either():
    account, _person, car = _impostor_account()
    with pytest.raises(Forbidden) as exc:
        services.binding_request(user=account, plate=car.plate, plate_type=car.plate_type, vin_last4=car.vin[-4:])
    assert exc.value.code == "identity.phone_mismatch"
    assert not VehicleBinding.objects.filter(user=account).exists()


def test_a_licence_holder_without_a_phone_on_file_sees_nothing_either():
    person = make_person(name="赵六", phone=None)
    account = register(person, phone=unique_phone())
    make_licence(person=person)
    make_vehicle(owner=person)
    account.refresh_from_db()
    services.bindings_sync_own(user=account)
    assert selectors.my_licence(user=account) is None and selectors.my_vehicles(user=account) == []
    standing = selectors.account_standing(user=account)
    assert standing.phone_missing and not standing.phone_mismatch and "窗口" in standing.message_zh


def test_no_phone_on_file_and_nothing_held_is_no_problem():
    account = register(make_person(phone=None), phone=unique_phone())
    standing = selectors.account_standing(user=account)
    assert not standing.phone_mismatch and not standing.phone_missing and standing.message_zh == ""


def test_a_matching_account_sees_everything_and_standing_is_ok():
    account = register(holder())
    standing = selectors.account_standing(user=account)
    assert standing.ok and standing.records_visible and standing.message_zh == standing.message_en == ""
    assert selectors.my_licence(user=account) is not None and len(selectors.my_vehicles(user=account)) == 1


def test_staff_have_a_clean_standing():
    admin = services.staff_bootstrap(username="admin01", display_name="管理员", password="Lu-Qiao#2719")
    assert selectors.account_standing(user=admin).ok


def test_phone_on_file_changed_after_registration_withholds_and_ends_own_bindings():
    account = register(holder(vehicles=2))
    assert len(selectors.my_vehicles(user=account)) == 2
    _set_phone(account.person, unique_phone())
    account.refresh_from_db()
    assert selectors.my_licence(user=account) is None
    assert selectors.my_vehicles(user=account) == []  # hidden at once, before any sync
    services.bindings_sync_own(user=account)
    assert not VehicleBinding.objects.filter(user=account, status__in=["pending", "active"]).exists()
    ends = AuditEntry.objects.filter(action="binding.own_end")
    assert ends.count() == 2 and all(e.reason == "account phone is not the phone on file" for e in ends)
    assert selectors.account_standing(user=account).phone_mismatch
    # back to the account's phone (the window corrects it): the own vehicles are bound again
    _set_phone(account.person, account.phone)
    account.refresh_from_db()
    services.bindings_sync_own(user=account)
    assert len(selectors.my_vehicles(user=account)) == 2 and selectors.my_licence(user=account) is not None


def test_vehicles_of_others_stay_visible_while_withheld():
    """Someone else's car was bound with its owner's consent by SMS to the owner's phone: that does not
    depend on this account's phone."""
    account = register(holder())
    _owner, car = owner_with_car()
    bind(account, car)
    _set_phone(account.person, unique_phone())
    account.refresh_from_db()
    shown = selectors.my_vehicles(user=account)
    assert [mv.vehicle.plate for mv in shown] == [car.plate] and not shown[0].is_own


def test_api_shows_the_flag_and_withholds_licence_and_own_vehicles():
    person = holder()
    account = register(person)
    _set_phone(person, unique_phone())
    client = session_client(account)
    me = get(client, "me").json()
    assert me["phone_mismatch"] is True and me["phone_missing"] is False
    assert me["notice"] == PHONE_MISMATCH_ZH
    assert get(client, "me/licences").json() == []
    assert get(client, "me/vehicles").json() == []
    me_en = get(client, "me", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "window" in me_en["notice"]


def test_api_me_has_no_notice_when_all_is_well():
    me = get(session_client(register(holder())), "me").json()
    assert me["phone_mismatch"] is False and me["phone_missing"] is False and me["notice"] == ""


def test_own_vehicle_bound_as_someone_elses_is_not_shown_after_purchase_while_withheld():
    account = register(holder(vehicles=0))
    _owner, car = owner_with_car()
    bind(account, car)
    Vehicle.objects.filter(pk=car.pk).update(owner=account.person)
    _set_phone(account.person, unique_phone())
    account.refresh_from_db()
    assert selectors.my_vehicles(user=account) == []
