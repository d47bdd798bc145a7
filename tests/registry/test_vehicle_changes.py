"""A vehicle's owner and status change only through services (lock, check, write, audit) that announce the change
with an outbox event in the same transaction, from a window or from the CSV import: the people who had bound a
sold or scrapped car must hear of it."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction

from jiaoguan.core import outbox
from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput
from jiaoguan.core.identifiers import make_id_number, make_vin
from jiaoguan.core.models import AuditEntry, OutboxEvent
from jiaoguan.registry import services
from jiaoguan.registry.imports import registry_import
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.rules import VEHICLE_TRANSITIONS
from tests.factories import make_person, make_vehicle

pytestmark = pytest.mark.django_db

CLERK = Actor(id=7, label="窗口民警 clerk7", role="clerk")
OWNER_TOPIC = "registry.vehicle_owner_changed"
STATUS_TOPIC = "registry.vehicle_status_changed"
HANDLER = f"{__name__}:record"
RECEIVED: list[tuple[str, dict]] = []
USCC = "91110000600037341L"


def registry_events() -> bool:
    """Any outbox event of the registry's own (the read model's ``records.changed`` is told of every write)."""
    from jiaoguan.core.outbox import RECORDS_CHANGED

    return OutboxEvent.objects.exclude(topic=RECORDS_CHANGED).exists()


def record(payload: dict) -> None:
    """A test subscriber to both topics (delivered by the outbox like the identity app's handlers)."""
    RECEIVED.append(payload)


@pytest.fixture(autouse=True)
def listener(monkeypatch, clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))
    for topic in (OWNER_TOPIC, STATUS_TOPIC):
        monkeypatch.setitem(outbox._subscribers, topic, [*outbox.subscribers(topic), HANDLER])
    RECEIVED.clear()
    yield RECEIVED
    RECEIVED.clear()


def events(topic: str) -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(topic=topic, handler=HANDLER).order_by("id")]


# --- vehicle_transfer -------------------------------------------------------------------------------------------

def test_transfer_changes_the_owner_audits_and_emits_an_event():
    seller, buyer = make_person(name="王卖"), make_person(name="李买")
    car = make_vehicle(owner=seller)
    services.vehicle_transfer(vehicle=car, new_owner=buyer, actor=CLERK, reason="二手车交易")
    car.refresh_from_db()
    assert car.owner_id == buyer.pk and car.last_change_date == dt.date(2026, 6, 1)
    [row] = AuditEntry.objects.filter(action="vehicle.transfer")
    assert row.old == {"owner_id": seller.pk, "last_change_date": None}
    assert row.new == {"owner_id": buyer.pk, "last_change_date": "2026-06-01"}
    assert row.reason == "二手车交易" and row.actor_label == CLERK.label and row.subject_person_id == buyer.pk
    assert events(OWNER_TOPIC) == [{"vehicle_id": car.pk, "old_owner_id": seller.pk, "new_owner_id": buyer.pk}]
    assert events(STATUS_TOPIC) == []
    assert audit_verify().ok


def test_transfer_to_and_from_a_company():
    seller = make_person()
    car = make_vehicle(owner=seller)
    services.vehicle_transfer(vehicle=car, new_owner=None, owner_company="深圳市某某科技有限公司", owner_uscc=USCC,
                              actor=CLERK, reason="转让给单位")
    assert (car.owner_id, car.owner_company, car.owner_uscc) == (None, "深圳市某某科技有限公司", USCC)
    # the same company under a corrected name is no sale
    with pytest.raises(Conflict) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=None, owner_company="深圳市某某科技有限公司（新）",
                                  owner_uscc=USCC, actor=CLERK, reason="x")
    assert exc.value.code == "registry.same_owner"
    buyer = make_person()
    services.vehicle_transfer(vehicle=car, new_owner=buyer, actor=CLERK, reason="单位出售")
    car.refresh_from_db()
    assert (car.owner_id, car.owner_company, car.owner_uscc) == (buyer.pk, "", "")
    assert events(OWNER_TOPIC) == [
        {"vehicle_id": car.pk, "old_owner_id": seller.pk, "new_owner_id": None},
        {"vehicle_id": car.pk, "old_owner_id": None, "new_owner_id": buyer.pk},
    ]


@pytest.mark.parametrize("status", ["seized", "stolen", "scrapped", "transferred"])
def test_transfer_refused_unless_the_car_is_in_use_here(status):
    owner = make_person()
    car = make_vehicle(owner=owner, status=status)
    with pytest.raises(Conflict) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=make_person(), actor=CLERK, reason="x")
    assert exc.value.code == "registry.vehicle_status" and exc.value.field == "owner"
    car.refresh_from_db()
    assert car.owner_id == owner.pk
    assert not registry_events() and not AuditEntry.objects.filter(action="vehicle.transfer").exists()


def test_a_mortgaged_car_can_change_hands():
    car = make_vehicle(owner=make_person(), status="mortgaged")
    buyer = make_person()
    services.vehicle_transfer(vehicle=car, new_owner=buyer, actor=CLERK, reason="带押过户")
    assert Vehicle.objects.get(pk=car.pk).owner_id == buyer.pk


def test_transfer_input_checks():
    owner = make_person()
    car = make_vehicle(owner=owner)
    with pytest.raises(Conflict) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=owner, actor=CLERK, reason="x")
    assert exc.value.code == "registry.same_owner"
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=make_person(), actor=CLERK, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=None, actor=CLERK, reason="x")
    assert exc.value.field == "owner"
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_transfer(vehicle=car, new_owner=None, owner_company="某公司", owner_uscc=USCC[:-1] + "0",
                                  actor=CLERK, reason="x")
    assert exc.value.field == "owner_uscc"
    with pytest.raises(Forbidden):
        services.vehicle_transfer(vehicle=car, new_owner=make_person(), actor=Actor(id=1, label="c", role="citizen"),
                                  reason="x")
    assert Vehicle.objects.get(pk=car.pk).owner_id == owner.pk
    assert not registry_events()


# --- vehicle_set_status -------------------------------------------------------------------------------------------

def test_set_status_audits_and_emits_an_event():
    owner = make_person()
    car = make_vehicle(owner=owner)
    services.vehicle_set_status(vehicle=car, status="scrapped", actor=CLERK, reason="强制报废")
    assert Vehicle.objects.get(pk=car.pk).status == "scrapped"
    [row] = AuditEntry.objects.filter(action="vehicle.set_status")
    assert (row.old, row.new, row.reason, row.subject_person_id) == (
        {"status": "normal"}, {"status": "scrapped"}, "强制报废", owner.pk)
    assert events(STATUS_TOPIC) == [{"vehicle_id": car.pk, "old_status": "normal", "new_status": "scrapped"}]
    with pytest.raises(Conflict) as exc:  # scrapped is final
        services.vehicle_set_status(vehicle=car, status="normal", actor=CLERK, reason="x")
    assert exc.value.code == "registry.vehicle_status" and "报废" in exc.value.zh and exc.value.field == "status"
    assert len(events(STATUS_TOPIC)) == 1


def test_set_status_input_checks():
    car = make_vehicle(owner=make_person())
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_set_status(vehicle=car, status="lost", actor=CLERK, reason="x")
    assert exc.value.field == "status"
    with pytest.raises(Conflict):  # already normal
        services.vehicle_set_status(vehicle=car, status="normal", actor=CLERK, reason="x")
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_set_status(vehicle=car, status="seized", actor=CLERK, reason="")
    assert exc.value.field == "reason"
    with pytest.raises(Forbidden):
        services.vehicle_set_status(vehicle=car, status="seized", actor=Actor(id=1, label="c", role="citizen"),
                                    reason="x")
    assert not registry_events()


def test_the_transition_table_covers_every_status_and_is_what_the_service_does():
    statuses = [s for s, _ in Vehicle.Status.choices]
    assert VEHICLE_TRANSITIONS.states == set(statuses)
    assert VEHICLE_TRANSITIONS.targets("scrapped") == frozenset()
    owner = make_person()
    for old, new in itertools.product(statuses, statuses):
        car = make_vehicle(owner=owner, status=old)
        if VEHICLE_TRANSITIONS.allows(old, new):
            services.vehicle_set_status(vehicle=car, status=new, actor=CLERK, reason="x")
            assert Vehicle.objects.get(pk=car.pk).status == new
        else:
            with pytest.raises(Conflict) as exc:
                services.vehicle_set_status(vehicle=car, status=new, actor=CLERK, reason="x")
            assert exc.value.code == "registry.vehicle_status"
            assert Vehicle.objects.get(pk=car.pk).status == old


def test_events_roll_back_with_the_change():
    car = make_vehicle(owner=make_person())
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.vehicle_transfer(vehicle=car, new_owner=make_person(), actor=CLERK, reason="x")
            services.vehicle_set_status(vehicle=car, status="scrapped", actor=CLERK, reason="x")
            raise RuntimeError("the caller's transaction fails")
    assert not registry_events()
    assert Vehicle.objects.get(pk=car.pk).status == "normal"


def test_subscribers_receive_the_events_after_commit(django_capture_on_commit_callbacks):
    car = make_vehicle(owner=make_person())
    buyer = make_person()
    with django_capture_on_commit_callbacks(execute=True):
        services.vehicle_transfer(vehicle=car, new_owner=buyer, actor=CLERK, reason="x")
        services.vehicle_set_status(vehicle=car, status="transferred", actor=CLERK, reason="转出深圳")
    assert {"vehicle_id": car.pk, "old_status": "normal", "new_status": "transferred"} in RECEIVED
    assert any(p.get("new_owner_id") == buyer.pk for p in RECEIVED)
    assert set(OutboxEvent.objects.filter(handler=HANDLER).values_list("status", flat=True)) == {"delivered"}


# --- the CSV import goes through the same services ------------------------------------------------------------------

ID_A = make_id_number("440304", dt.date(1988, 3, 14), 371)
ID_B = make_id_number("440306", dt.date(1992, 10, 2), 58)
VIN = make_vin("LSVAM418", "C0000001")
HEADER = "vin,plate,owner_id_number,owner_company,owner_uscc,brand,kind,use,registration_date,inspection_due,status\n"


def _import(rows: str, **kwargs):
    return registry_import(kind="vehicles", data=(HEADER + rows).encode(), actor=Actor.system("import:test"), **kwargs)


def _row(owner: str = ID_A, status: str = "", company: str = "", uscc: str = "") -> str:
    return f"{VIN},粤BK3001,{owner},{company},{uscc},大众 朗逸,small_car,private,2020-03-10,2026-03,{status}\n"


@pytest.fixture
def persons():
    registry_import(kind="persons", data=f"身份证号码,姓名\n{ID_A},王建国\n{ID_B},陈美玲\n".encode(),
                    actor=Actor.system("import:test"))


def _pk(id_number: str) -> int:
    from jiaoguan.registry.selectors import person_by_id_number

    return person_by_id_number(id_number=id_number).pk


def test_import_owner_change_is_a_transfer_with_an_event(persons):
    assert _import(_row()).created == 1
    assert AuditEntry.objects.filter(action="vehicle.import_create").count() == 1
    assert not registry_events()  # a new record is no change of owner
    report = _import(_row(owner=ID_B))
    assert report.updated == 1 and not report.errors
    car = Vehicle.objects.get(vin=VIN)
    assert car.owner_id == _pk(ID_B) and car.last_change_date == dt.date(2026, 6, 1)
    [row] = AuditEntry.objects.filter(action="vehicle.transfer")
    assert row.old["owner_id"] == _pk(ID_A) and row.reason == "CSV import"
    assert events(OWNER_TOPIC) == [{"vehicle_id": car.pk, "old_owner_id": _pk(ID_A), "new_owner_id": _pk(ID_B)}]
    assert _import(_row(owner=ID_B)).unchanged == 1  # rerun: nothing new
    assert len(events(OWNER_TOPIC)) == 1


def test_import_status_change_goes_through_the_service(persons):
    _import(_row())
    report = _import(_row(status="报废"))
    assert report.updated == 1 and not report.errors
    car = Vehicle.objects.get(vin=VIN)
    assert car.status == "scrapped"
    assert events(STATUS_TOPIC) == [{"vehicle_id": car.pk, "old_status": "normal", "new_status": "scrapped"}]
    [row] = AuditEntry.objects.filter(action="vehicle.set_status")
    assert row.reason == "CSV import"
    # scrapped is final: the file cannot bring it back, the row is refused with its line number
    report = _import("\n" + _row(status="normal"))
    assert report.updated == 0 and report.rejected == 1
    [err] = report.errors
    assert (err.line, err.field, err.code) == (3, "status", "registry.vehicle_status") and "第3行" in str(err)
    assert Vehicle.objects.get(vin=VIN).status == "scrapped"
    assert len(events(STATUS_TOPIC)) == 1


def test_import_sale_and_status_in_one_row_in_a_workable_order(persons):
    _import(_row(status="transferred"))
    # transferred back in under a new owner: the status moves first, then the car changes hands
    report = _import(_row(owner=ID_B, status="normal"))
    assert report.updated == 1 and not report.errors
    car = Vehicle.objects.get(vin=VIN)
    assert (car.status, car.owner_id) == ("normal", _pk(ID_B))
    # sold and scrapped in one go: the sale first (a scrapped car cannot change hands)
    report = _import(_row(owner=ID_A, status="scrapped"))
    assert report.updated == 1 and not report.errors
    assert [e.topic for e in OutboxEvent.objects.filter(handler=HANDLER).order_by("id")] == [
        STATUS_TOPIC, OWNER_TOPIC, OWNER_TOPIC, STATUS_TOPIC]


def test_import_refuses_the_sale_of_a_seized_car_and_changes_nothing(persons):
    _import(_row(status="seized"))
    report = _import(_row(owner=ID_B, status="seized").replace("大众 朗逸", "大众 朗逸 1.5L"))
    assert report.rejected == 1 and report.errors[0].field == "owner_id_number"
    assert report.errors[0].code == "registry.vehicle_status"
    car = Vehicle.objects.get(vin=VIN)
    assert car.owner_id == _pk(ID_A) and car.brand == "大众 朗逸"  # the row's savepoint undid the brand too
    assert not registry_events()


def test_import_company_name_correction_is_no_sale():
    _import(_row(owner="", company="深圳市某某科技有限公司", uscc=USCC))
    report = _import(_row(owner="", company="深圳市某某科技股份有限公司", uscc=USCC))
    assert report.updated == 1
    assert Vehicle.objects.get(vin=VIN).owner_company == "深圳市某某科技股份有限公司"
    assert not registry_events()
    assert AuditEntry.objects.filter(action="vehicle.import_update").count() == 1


def test_import_dry_run_writes_no_events(persons):
    _import(_row())
    report = _import(_row(owner=ID_B, status="stolen"), dry_run=True)
    assert report.updated == 1
    assert not registry_events()
    assert Vehicle.objects.get(vin=VIN).owner_id == _pk(ID_A)
