"""Services: start, draw and redraw, compose, hold, confirm, release, expiry, policies, keeping a plate."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from jiaoguan.core.models import AuditEntry
from jiaoguan.plates import selectors, services
from jiaoguan.plates.models import PlateHistory, PlateNumber, Selection
from jiaoguan.registry.models import Vehicle
from tests.plates.conftest import APPROVER, SYSTEM, owner_with_new_car

pytestmark = pytest.mark.django_db
S = PlateNumber.Status


def started(owner):
    user, car = owner
    return user, car, services.selection_start(user=user, vehicle_id=car.pk, ip="1.2.3.4")


def test_generation_is_idempotent_and_marks_withheld_and_in_use(office):
    assert PlateNumber.objects.filter(office=office, kind="02").count() == 1000
    again = services.plate_pool_generate(office=office, kind="02", series="A0###", actor=SYSTEM)
    assert again.added == 0 and again.valid == 1000
    assert PlateNumber.objects.filter(office=office, kind="02").count() == 1000
    services.policy_add(office=office, name="含4", rule="contains", value="4", actor=APPROVER)
    withheld = PlateNumber.objects.filter(office=office, status=S.WITHHELD)
    assert withheld.exists() and all("4" in n[2:] for n in withheld.values_list("number", flat=True))
    assert not PlateNumber.objects.filter(status=S.AVAILABLE, number__contains="4").exists()
    # a number already on a registered vehicle comes in as assigned
    from tests.factories import make_person, make_vehicle

    make_vehicle(owner=make_person(), plate="粤BB0001")
    r = services.plate_pool_generate(office=office, kind="02", series="B000#", actor=SYSTEM)
    assert r.added == 10 and r.in_use == 1
    assert PlateNumber.objects.get(number="粤BB0001").status == S.ASSIGNED


def test_generation_refuses_bad_series_and_clerks(office):
    with pytest.raises(InvalidInput):
        services.plate_pool_generate(office=office, kind="02", series="A###", actor=SYSTEM)
    with pytest.raises(InvalidInput):
        services.plate_pool_generate(office=office, kind="52", series="A####", actor=SYSTEM)
    from jiaoguan.core.errors import Forbidden
    from tests.plates.conftest import CLERK

    with pytest.raises(Forbidden):
        services.plate_pool_generate(office=office, kind="02", series="C####", actor=CLERK)
    # ordinary numbers with 3 letters are never generated
    r = services.plate_pool_generate(office=office, kind="02", series="AB@00", actor=SYSTEM)
    assert r.valid == 0 and r.added == 0


def test_start_draw_redraw_limit(owner):
    user, car, sel = started(owner)
    assert sel.draws_allowed == 2 and sel.batch_size == 5
    sel = services.selection_draw(user=user, selection_id=sel.pk, ip="1.2.3.4")
    first = list(sel.offered)
    assert len(first) == 5 and len(set(first)) == 5
    assert all(PlateNumber.objects.get(number=n).status == S.AVAILABLE for n in first)
    sel = services.selection_draw(user=user, selection_id=sel.pk, ip="1.2.3.4")
    assert sel.draws_used == 2 and sel.draws_left == 0
    with pytest.raises(Conflict) as e:
        services.selection_draw(user=user, selection_id=sel.pk, ip="1.2.3.4")
    assert e.value.code == "plates.redraw_limit" and "摇号次数已用完" in e.value.zh and "No draws left" in e.value.en
    assert Selection.objects.get(pk=sel.pk).draws_used == 2
    # starting again returns the same open selection
    assert services.selection_start(user=user, vehicle_id=car.pk).pk == sel.pk


def test_redraw_never_offers_the_same_batch(owner, monkeypatch):
    """Two random points in the same gap of ``rand`` would give the same batch: a redraw leaves the old batch out
    (CI once saw a redraw offer the first batch again). When only the old batch is left, it is offered again."""
    user, car, sel = started(owner)
    monkeypatch.setattr(services._rng, "random", lambda: 0.5)  # the same point twice
    first = list(services.selection_draw(user=user, selection_id=sel.pk).offered)
    second = list(services.selection_draw(user=user, selection_id=sel.pk).offered)
    assert len(second) == 5 and not set(first) & set(second)
    # a pool with nothing but the batch shown: the redraw offers those numbers rather than nothing
    office = sel.office
    PlateNumber.objects.filter(office=office, kind=sel.kind).exclude(number__in=second).update(status=S.WITHHELD)
    Selection.objects.filter(pk=sel.pk).update(draws_allowed=3)
    third = services.selection_draw(user=user, selection_id=sel.pk).offered
    assert sorted(third) == sorted(second)


def test_hold_confirm_assigns_plate_through_registry(owner):
    user, car, sel = started(owner)
    sel = services.selection_draw(user=user, selection_id=sel.pk)
    number = sel.offered[2]
    row = services.selection_hold(user=user, selection_id=sel.pk, number=number)
    assert row.status == S.HELD and row.held_by_id == sel.pk
    assert row.hold_expires_at == pytest.approx(clock.now() + dt.timedelta(minutes=15), abs=dt.timedelta(seconds=5))
    # the same number again is a no-op; another one is refused while this is held
    assert services.selection_hold(user=user, selection_id=sel.pk, number=number).pk == row.pk
    with pytest.raises(Conflict) as e:
        services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[0])
    assert e.value.code == "plates.already_holding"
    old_plate = car.plate
    sel = services.selection_confirm(user=user, selection_id=sel.pk)
    car.refresh_from_db()
    assert sel.status == Selection.Status.CONFIRMED and sel.plate == number and car.plate == number
    row.refresh_from_db()
    assert row.status == S.ASSIGNED and row.assigned_vehicle_id == car.pk and row.held_by_id is None
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    for a in ("plates.selection_start", "plates.draw", "plates.hold", "vehicle.plate_assign", "plates.confirm"):
        assert a in actions
    assert AuditEntry.objects.get(action="vehicle.plate_assign").old == {"plate": old_plate}
    # chosen once: the vehicle is no longer eligible
    with pytest.raises(Conflict) as e:
        services.selection_start(user=user, vehicle_id=car.pk)
    assert e.value.code in ("plates.already_chosen",)


def test_release_and_expiry_sweep(owner, clock):
    user, car, sel = started(owner)
    sel = services.selection_draw(user=user, selection_id=sel.pk)
    services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[0])
    services.selection_release(user=user, selection_id=sel.pk)
    assert PlateNumber.objects.get(number=sel.offered[0]).status == S.AVAILABLE
    with pytest.raises(Conflict):
        services.selection_release(user=user, selection_id=sel.pk)
    services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[1])
    clock.freeze(clock.now() + dt.timedelta(minutes=16))
    with pytest.raises(Conflict) as e:
        services.selection_confirm(user=user, selection_id=sel.pk)
    assert e.value.code == "plates.hold_expired"
    assert services.plates_release_expired() == 1
    assert services.plates_release_expired() == 0
    assert PlateNumber.objects.get(number=sel.offered[1]).status == S.AVAILABLE
    assert AuditEntry.objects.filter(action="plates.hold_expire").count() == 1


def test_someone_elses_expired_hold_can_be_taken_before_the_sweep(office, clock):
    a_user, a_car = owner_with_new_car()
    b_user, b_car = owner_with_new_car()
    a = services.selection_start(user=a_user, vehicle_id=a_car.pk)
    b = services.selection_start(user=b_user, vehicle_id=b_car.pk)
    a = services.selection_draw(user=a_user, selection_id=a.pk)
    number = a.offered[0]
    services.selection_hold(user=a_user, selection_id=a.pk, number=number)
    with pytest.raises(Conflict) as e:  # b composes the same number while a holds it
        services.selection_hold(user=b_user, selection_id=b.pk, number=number)
    assert e.value.code == "plates.taken"
    clock.freeze(clock.now() + dt.timedelta(minutes=20))
    row = services.selection_hold(user=b_user, selection_id=b.pk, number=number)
    assert row.held_by_id == b.pk


def test_someone_elses_vehicle_and_selection_are_404(owner):
    user, car, sel = started(owner)
    other_user, other_car = owner_with_new_car()
    with pytest.raises(NotFound):
        services.selection_start(user=user, vehicle_id=other_car.pk)
    with pytest.raises(NotFound):
        services.selection_draw(user=other_user, selection_id=sel.pk)
    with pytest.raises(NotFound):
        services.selection_hold(user=other_user, selection_id=sel.pk, number="粤BA0001")
    assert Selection.objects.count() == 1


def test_old_vehicle_not_eligible(office):
    user, car = owner_with_new_car(days_ago=40)
    with pytest.raises(Conflict) as e:
        services.selection_start(user=user, vehicle_id=car.pk)
    assert e.value.code == "plates.not_new"
    assert not Selection.objects.exists()


def test_compose_rules(owner):
    user, car, sel = started(owner)
    assert services.selection_compose(user=user, selection_id=sel.pk, number="粤B·A0123") == "粤BA0123"
    assert services.selection_compose(user=user, selection_id=sel.pk, number="12K34") == "粤B12K34"
    bad = {"粤BA1B23": "plates.pattern", "粤BABC12": "plates.too_many_letters", "粤BI0123": "plate.format",
           "粤CA0123": "plates.wrong_office", "粤BD01234": "plates.wrong_kind", "": "plate.format"}
    for number, code in bad.items():
        with pytest.raises(InvalidInput) as e:
            services.selection_compose(user=user, selection_id=sel.pk, number=number)
        assert e.value.code == code, number
    services.policy_add(office=sel.office, name="警用", rule="prefix", value="J", actor=APPROVER)
    with pytest.raises(Conflict) as e:
        services.selection_compose(user=user, selection_id=sel.pk, number="粤BJ1234")
    assert e.value.code == "plates.withheld"
    # composing a number not in the pool creates it on hold
    row = services.selection_hold(user=user, selection_id=sel.pk, number="粤B5K678")
    assert row.source == "composed" and row.status == S.HELD
    with pytest.raises(Conflict):  # a taken number
        services.selection_compose(user=user, selection_id=sel.pk, number=car.plate)


def test_draw_rate_limit(office, settings):
    settings.JIAOGUAN_PLATES = {"DRAW_RATE_PER_USER": "2/h"}
    user1, car1 = owner_with_new_car()
    user1_car2 = owner_with_new_car()
    s1 = services.selection_start(user=user1, vehicle_id=car1.pk)
    services.selection_draw(user=user1, selection_id=s1.pk, ip="9.9.9.9")
    services.selection_draw(user=user1, selection_id=s1.pk, ip="9.9.9.9")
    # per IP as well
    settings.JIAOGUAN_PLATES = {"DRAW_RATE_PER_IP": "2/h"}
    u2, c2 = user1_car2
    s2 = services.selection_start(user=u2, vehicle_id=c2.pk)
    with pytest.raises(RateLimited) as e:
        services.selection_draw(user=u2, selection_id=s2.pk, ip="9.9.9.9")
    assert e.value.status == 429
    assert Selection.objects.get(pk=s2.pk).draws_used == 0


def test_policy_deactivate_returns_numbers(office):
    p = services.policy_add(office=office, name="J", rule="prefix", value="A000", actor=APPROVER)
    assert PlateNumber.objects.filter(status=S.WITHHELD).count() == 10
    services.policy_add(office=office, name="5-9", rule="regex", value=r"A000[5-9]", actor=APPROVER)
    services.policy_deactivate(policy=p, actor=APPROVER)
    assert PlateNumber.objects.filter(status=S.WITHHELD).count() == 5  # A0005-A0009 stay withheld by the other
    assert PlateNumber.objects.get(number="粤BA0001").status == S.AVAILABLE
    assert PlateNumber.objects.get(number="粤BA0007").status == S.WITHHELD


def test_keep_previous_plate(owner, clock):
    user, car, sel = started(owner)
    today = clock.today()
    ok = services.plate_history_record(person_id=user.person_id, plate="粤BK8888", plate_type="02",
                                       held_from=today - dt.timedelta(days=800),
                                       given_up_on=today - dt.timedelta(days=100),
                                       source=PlateHistory.Source.STAFF, actor=APPROVER)
    short = services.plate_history_record(person_id=user.person_id, plate="粤BK7777", plate_type="02",
                                          held_from=today - dt.timedelta(days=200),
                                          given_up_on=today - dt.timedelta(days=10),
                                          source=PlateHistory.Source.STAFF, actor=APPROVER)
    late = services.plate_history_record(person_id=user.person_id, plate="粤BK6666", plate_type="02",
                                         held_from=today - dt.timedelta(days=2000),
                                         given_up_on=today - dt.timedelta(days=800),
                                         source=PlateHistory.Source.STAFF, actor=APPROVER)
    assert ok and short and late
    with pytest.raises(Conflict) as e:
        services.selection_keep_previous(user=user, selection_id=sel.pk, number="粤BK7777")
    assert e.value.code == "plates.keep_held_too_short"
    with pytest.raises(Conflict) as e:
        services.selection_keep_previous(user=user, selection_id=sel.pk, number="粤BK6666")
    assert e.value.code == "plates.keep_too_late"
    with pytest.raises(InvalidInput):
        services.selection_keep_previous(user=user, selection_id=sel.pk, number="粤BK5555")
    row = services.selection_keep_previous(user=user, selection_id=sel.pk, number="粤BK8888")
    assert row.status == S.HELD and row.source == "kept"
    services.selection_confirm(user=user, selection_id=sel.pk)
    car.refresh_from_db()
    assert car.plate == "粤BK8888"


def test_keep_refused_with_open_violations(owner, clock):
    from jiaoguan.violations.models import Violation, ViolationCode

    user, car, sel = started(owner)
    today = clock.today()
    services.plate_history_record(person_id=user.person_id, plate="粤BK8888", plate_type="02",
                                  held_from=today - dt.timedelta(days=800), given_up_on=today - dt.timedelta(days=100),
                                  source=PlateHistory.Source.STAFF, actor=APPROVER)
    code = ViolationCode.objects.first() or ViolationCode.objects.create(
        code="1352", description_zh="x", description_en="x", points=3, fine_fen=20000)
    now = clock.now()
    Violation.objects.create(plate="粤BK8888", plate_type="02", code=code, points=3, fine_fen=20000, place="x",
                             occurred_at=now - dt.timedelta(days=200), source="device", recorded_at=now, updated_at=now)
    with pytest.raises(Conflict) as e:
        services.selection_keep_previous(user=user, selection_id=sel.pk, number="粤BK8888")
    assert e.value.code == "plates.keep_violations"
    assert not PlateNumber.objects.filter(number="粤BK8888").exists()


def test_history_from_registry_events(office, django_capture_on_commit_callbacks):
    from jiaoguan.core.audit import Actor
    from jiaoguan.registry import services as registry
    from tests.factories import make_person, make_vehicle

    seller = make_person()
    car = make_vehicle(owner=seller, plate="粤BQ1234", registered=clock.today() - dt.timedelta(days=900))
    with django_capture_on_commit_callbacks(execute=True):
        registry.vehicle_transfer(vehicle=car, new_owner=make_person(), actor=Actor(id=1, label="c", role="clerk"),
                                  reason="买卖")
    h = PlateHistory.objects.get(person_id=seller.pk)
    assert h.plate == "粤BQ1234" and h.source == "sale" and h.held_from == car.registration_date
    assert selectors.history_for(person_id=seller.pk) == [h]


def test_nev_vehicle_draws_nev_numbers(office):
    user, car = owner_with_new_car(nev=True)
    sel = services.selection_start(user=user, vehicle_id=car.pk)
    sel = services.selection_draw(user=user, selection_id=sel.pk)
    assert sel.kind == Vehicle.PlateType.NEV_SMALL
    assert all(len(n) == 8 and n[2] == "D" for n in sel.offered)
    row = services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[0])
    services.selection_confirm(user=user, selection_id=sel.pk)
    car.refresh_from_db()
    assert car.plate == row.number


def test_handler_drops_malformed_payloads(db):
    from jiaoguan.plates import handlers

    for payload in ({}, {"vehicle_id": "x"}, {"vehicle_id": 10**20, "old_owner_id": 1}, {"vehicle_id": 987654,
                                                                                          "old_owner_id": 5}):
        handlers.on_owner_changed(payload)
    assert not PlateHistory.objects.exists()


def test_demo_plates_and_command_are_idempotent(db):
    from django.core.management import call_command

    from jiaoguan.plates.demo import demo_plates

    first = demo_plates(ordinary_series=("A00##",), nev_series=("D000##",))
    assert first.added == 200 and 0 < first.available < 200  # the default policies withhold some
    assert demo_plates(ordinary_series=("A00##",), nev_series=("D000##",)).added == 0
    call_command("plate_pool_generate", "粤B", "02", "B00##")
    call_command("plate_pool_generate", "粤B", "02", "B00##")
    assert PlateNumber.objects.filter(number__startswith="粤BB").count() == 100


def test_hold_after_own_expired_hold_and_confirm(owner, clock):
    """Releasing the selection's own expired hold, then holding another number and confirming it: the expired
    hold is audited and its number goes back, the provisional number returns to the pool. (This was a lock-order
    test while every audit row took the audit chain's head; appends take no lock since issue 12.)"""
    user, car, sel = started(owner)
    sel = services.selection_draw(user=user, selection_id=sel.pk)
    services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[0])
    clock.freeze(clock.now() + dt.timedelta(minutes=16))
    PlateNumber.objects.filter(number=car.plate).delete()
    PlateNumber.objects.create(office=sel.office, number=car.plate, kind="02", status=S.ASSIGNED, rand=0.5,
                               assigned_vehicle_id=car.pk, created_at=clock.now(), updated_at=clock.now())
    services.selection_hold(user=user, selection_id=sel.pk, number=sel.offered[1])
    assert AuditEntry.objects.filter(action="plates.hold_expire").count() == 1
    assert PlateNumber.objects.get(number=sel.offered[0]).status == S.AVAILABLE
    services.selection_confirm(user=user, selection_id=sel.pk)
    assert PlateNumber.objects.get(number=car.plate).status == S.AVAILABLE  # the provisional number went back


def test_rate_limits_per_account_across_vehicles_and_for_composed_numbers(office, settings):
    """Review: the per-account draw limit holds across the account's vehicles (each with its own redraws), and
    composed-number checks (the way to ask "is this number free?") are limited too, holds of composed numbers
    included, failed checks counted, so the pool cannot be mapped."""
    from jiaoguan.core.errors import RateLimited

    user, car1 = owner_with_new_car()
    from tests.plates.conftest import new_car

    car2 = new_car(car1.owner)
    settings.JIAOGUAN_PLATES = {"DRAW_RATE_PER_USER": "3/h", "COMPOSE_RATE_PER_USER": "3/h"}
    s1 = services.selection_start(user=user, vehicle_id=car1.pk)
    s2 = services.selection_start(user=user, vehicle_id=car2.pk)
    services.selection_draw(user=user, selection_id=s1.pk, ip="7.7.7.7")
    services.selection_draw(user=user, selection_id=s1.pk, ip="7.7.7.7")
    services.selection_draw(user=user, selection_id=s2.pk, ip="7.7.7.7")
    with pytest.raises(RateLimited):
        services.selection_draw(user=user, selection_id=s2.pk, ip="7.7.7.8")
    assert Selection.objects.get(pk=s2.pk).draws_used == 1
    free = PlateNumber.objects.filter(status=S.AVAILABLE, kind="02").exclude(number__in=s1.offered).first().number
    with pytest.raises(Conflict):  # a taken/withheld probe still counts
        services.selection_compose(user=user, selection_id=s1.pk, number=car2.plate)
    services.selection_compose(user=user, selection_id=s1.pk, number=free)
    services.selection_hold(user=user, selection_id=s1.pk, number=free)
    with pytest.raises(RateLimited):
        services.selection_compose(user=user, selection_id=s2.pk, number=free, ip="7.7.7.9")


def test_a_hold_is_over_from_its_expiry_on():
    # the one test of a hold's end, as the services' "held and hold_expires_at <= now" queries read it
    expires = clock.now()
    row = PlateNumber(number="粤B12345", status=PlateNumber.Status.HELD, hold_expires_at=expires)
    assert not row.hold_expired(expires - dt.timedelta(seconds=1))
    assert row.hold_expired(expires) and row.hold_expired(expires + dt.timedelta(minutes=1))
