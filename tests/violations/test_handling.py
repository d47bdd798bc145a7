"""Online handling (DOMAIN §4): who may, what may be handled online, the decision, the payable fine."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, Forbidden, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services as identity
from jiaoguan.registry.models import Vehicle
from jiaoguan.violations import rules, selectors, services
from jiaoguan.violations.models import PenaltyDecision, PointsEntry
from tests.identity.helpers import holder, later, register
from tests.notifications.helpers import last_code
from tests.violations.conftest import APPROVER, STAFF, camera, record

pytestmark = pytest.mark.django_db


def citizen_with_car():
    person = holder(name="张三", registered=clock.today() - dt.timedelta(days=300))
    user = register(person)
    return user, Vehicle.objects.get(owner=person)


@pytest.fixture
def owner():
    return citizen_with_car()


def bind_other(user, vehicle):
    b = identity.binding_request(user=user, plate=vehicle.plate, plate_type=vehicle.plate_type,
                                 vin_last4=vehicle.vin[-4:])
    return identity.binding_confirm(user=user, binding_id=b.pk, code=last_code(vehicle.owner.phone))


def test_owner_handles_a_camera_violation(owner, device, payments):
    user, car = owner
    v = camera(car, device, code="1352")
    d = services.violation_handle_online(user=user, violation_id=v.pk)
    assert rules.decision_number_valid(d.number) and d.number.startswith("440300")
    assert (d.points, d.fine_fen, d.person_id, d.channel) == (3, 20000, user.person_id, "online")
    assert d.decision_date == clock.today()
    v.refresh_from_db()
    assert v.status == "handled"
    assert services.points_in_cycle(licence=d.licence) == 3
    assert payments.created == [{
        "kind": "fine", "source_type": "violations.decision", "source_id": str(d.pk),
        "payer_person_id": user.person_id, "amount_fen": 20000, "description_zh": payments.created[0]["description_zh"],
        "description_en": payments.created[0]["description_en"], "decision_date": clock.today(), "late_fee": True}]
    assert d.number in payments.created[0]["description_zh"]
    # again: the same decision, nothing new
    assert services.violation_handle_online(user=user, violation_id=v.pk).pk == d.pk
    assert PenaltyDecision.objects.count() == 1 and PointsEntry.objects.count() == 1 and len(payments.created) == 1
    assert AuditEntry.objects.filter(action="decision.issue").count() == 1


@pytest.mark.parametrize("code,reason", [
    ("1625", "violations.fine_too_high"),  # ¥500 in Shenzhen
    ("4609", "violations.code_counter_only"),
])
def test_outside_the_online_rules(owner, device, payments, code, reason):
    user, car = owner
    v = camera(car, device, code=code)
    with pytest.raises(Forbidden) as exc:
        services.violation_handle_online(user=user, violation_id=v.pk)
    assert exc.value.code == reason
    assert "窗口" in exc.value.zh and "counter" in exc.value.en
    assert PenaltyDecision.objects.count() == 0 and payments.created == []


def test_on_site_violations_go_to_the_counter(owner, payments):
    user, car = owner
    v = record(car, code="1352")
    with pytest.raises(Forbidden) as exc:
        services.violation_handle_online(user=user, violation_id=v.pk)
    assert exc.value.code == "violations.not_camera"


def test_cycle_must_stay_under_twelve(owner, device, payments):
    user, car = owner
    licence = user.person.licence
    services.violation_handle_counter(violation=record(car, code="1625"), licence=licence, actor=STAFF)  # 6
    v = camera(car, device, code="1721")  # 6 more → 12
    with pytest.raises(Forbidden) as exc:
        services.violation_handle_online(user=user, violation_id=v.pk)
    assert exc.value.code == "violations.cycle_full"
    ok = camera(car, device, code="1352")  # 3 → 9
    services.violation_handle_online(user=user, violation_id=ok.pk)
    assert services.points_in_cycle(licence=licence) == 9


def test_strangers_see_nothing(owner, device, payments):
    _user, car = owner
    v = camera(car, device)
    stranger, _ = citizen_with_car()
    with pytest.raises(NotFound):
        services.violation_handle_online(user=stranger, violation_id=v.pk)
    assert list(selectors.my_violations(user=stranger)) == []


def test_bound_non_owner_sees_and_handles_only_after_binding(owner, device, payments, clock):
    user, car = owner
    before = camera(car, device, code="1352", when=clock.now() - dt.timedelta(days=3))
    friend, _ = citizen_with_car()
    bind_other(friend, car)
    later(60)
    after = camera(car, device, code="1357", when=clock.now())
    assert [v.pk for v in selectors.my_violations(user=friend)] == [after.pk]
    assert {v.pk for v in selectors.my_violations(user=user)} == {before.pk, after.pk}
    with pytest.raises(NotFound):
        services.violation_handle_online(user=friend, violation_id=before.pk)
    d = services.violation_handle_online(user=friend, violation_id=after.pk)
    assert d.licence == friend.person.licence and d.person_id == friend.person_id  # the handler's own licence
    # the owner cannot take the same violation again
    with pytest.raises(Conflict):
        services.violation_handle_online(user=user, violation_id=after.pk)


def test_citizen_without_a_licence_is_sent_to_the_counter(device, payments):
    person = holder(name="王五", licence=False, registered=clock.today() - dt.timedelta(days=300))
    user = register(person)
    car = Vehicle.objects.get(owner=person)
    v = camera(car, device, code="1352")
    with pytest.raises(Forbidden) as exc:
        services.violation_handle_online(user=user, violation_id=v.pk)
    assert exc.value.code == "violations.no_licence"
    assert PenaltyDecision.objects.count() == 0


def test_the_third_red_light_within_a_year_is_fined_more(owner, payments):
    """DOMAIN §4 (Shenzhen): red light ¥500, from the 3rd in a year ¥1,000 — counted per licence over the 365 days
    before the violation; a revoked one does not count, nor one older than the window."""
    user, car = owner
    licence = user.person.licence
    now = clock.now()

    def red(days_ago):
        return record(car, code="1625", when=now - dt.timedelta(days=days_ago))

    old = red(600)  # more than a year before the second and the third
    services.violation_handle_counter(violation=old, licence=licence, actor=STAFF)
    first, second = red(300), red(200)
    fines = [services.violation_handle_counter(violation=v, licence=licence, actor=STAFF).fine_fen
             for v in (first, second)]
    assert fines == [50000, 50000]
    third = red(10)
    d = services.violation_handle_counter(violation=third, licence=licence, actor=STAFF)
    assert d.fine_fen == 100000 and payments.created[-1]["amount_fen"] == 100000
    third.refresh_from_db()
    assert third.fine_fen == 100000
    assert AuditEntry.objects.filter(action="violation.fine_escalated").count() == 1
    # the second one revoked: a new red light is the 3rd again only with two earlier in its year
    services.violation_revoke(violation=second, actor=APPROVER, reason="号牌识别错误 misread plate")
    fourth = red(1)
    assert services.fine_for(violation=fourth, licence=licence) == 100000  # first + third in the year before it
    services.violation_revoke(violation=first, actor=APPROVER, reason="号牌识别错误 misread plate")
    assert services.fine_for(violation=fourth, licence=licence) == 50000  # only the third remains


def test_the_third_red_light_costs_the_same_whatever_order_they_are_handled_in(owner, payments):
    """Counted by when they happened: three red lights on the holder's own car within a year, handled newest
    first — the newest is still the 3rd (¥1,000), the others ¥500."""
    user, car = owner
    licence = user.person.licence
    now = clock.now()
    lights = [record(car, code="1625", when=now - dt.timedelta(days=d)) for d in (200, 100, 10)]
    fines = {v.pk: services.violation_handle_counter(violation=v, licence=licence, actor=STAFF).fine_fen
             for v in reversed(lights)}
    assert [fines[v.pk] for v in lights] == [50000, 50000, 100000]
