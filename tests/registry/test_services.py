"""registry services and selectors: validation, audit rows, transitions, summaries."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiaoguan.core.identifiers import make_id_number, make_vin
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules, selectors, services
from jiaoguan.registry.models import DrivingLicence, InspectionRule, Person, Vehicle
from tests.factories import make_licence, make_person, make_policy, make_vehicle, unique_id_number, unique_vin

pytestmark = pytest.mark.django_db

CLERK = Actor(id=7, label="窗口民警 clerk7", role="clerk")
CITIZEN = Actor(id=8, label="citizen", role="citizen")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))
    yield


def audit_rows(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


# --- Persons ------------------------------------------------------------------------------------------------------

def test_person_create_derives_gender_and_birth_and_audits_masked():
    number = make_id_number("440305", dt.date(1990, 4, 1), 124)
    person = services.person_create(name=" 王 芳 ", id_number=number.lower(), phone="138 0000 1111",
                                    address="深圳市南山区科苑路1号", actor=CLERK)
    person.refresh_from_db()
    assert person.name == "王 芳" and person.id_number == number and person.phone == "13800001111"
    assert person.gender == "F" and person.birth_date == dt.date(1990, 4, 1)
    [row] = audit_rows("person.create")
    assert row.actor_label == CLERK.label and row.subject_person_id == person.pk
    assert number not in str(row.new) and "13800001111" not in str(row.new)
    assert row.new["id_number"] == number[:4] + "**********" + number[-4:]
    assert selectors.person_by_id_number(id_number=number) == person
    assert selectors.person_by_id_number(id_number=number.lower() + " ") == person


def test_person_create_reports_every_bad_field():
    bad = make_id_number("440305", dt.date(1990, 4, 1), 124)[:-1] + "0"
    bad = bad if bad != make_id_number("440305", dt.date(1990, 4, 1), 124) else bad[:-1] + "1"
    with pytest.raises(InvalidInput) as exc:
        services.person_create(name="1", id_number=bad, phone="12345", actor=CLERK)
    assert set(exc.value.fields) == {"name", "id_number", "phone"}
    assert Person.objects.count() == 0


def test_person_create_twice_is_a_conflict_and_needs_staff():
    number = unique_id_number()
    services.person_create(name="张三", id_number=number, actor=CLERK)
    with pytest.raises(Conflict) as exc:
        services.person_create(name="张三", id_number=number, actor=CLERK)
    assert exc.value.code == "registry.person_exists" and exc.value.field == "id_number"
    with pytest.raises(Forbidden):
        services.person_create(name="李四", id_number=unique_id_number(), actor=CITIZEN)


def test_person_update_phone_audits_old_and_new():
    person = make_person(phone="13911112222")
    services.person_update_phone(person=person, phone="+86 137-0000-9999", actor=CLERK, reason="本人持身份证到窗口更新")
    person.refresh_from_db()
    assert person.phone == "13700009999"
    assert selectors.persons_with_phone(phone="13700009999") == [person]
    assert selectors.persons_with_phone(phone="13911112222") == []
    [row] = audit_rows("person.update_phone")
    assert row.old == {"phone": "139****2222"} and row.new == {"phone": "137****9999"}
    assert row.reason == "本人持身份证到窗口更新"
    # no change: no audit row
    services.person_update_phone(person=person, phone="13700009999", actor=CLERK, reason="again")
    assert len(audit_rows("person.update_phone")) == 1
    with pytest.raises(InvalidInput):
        services.person_update_phone(person=person, phone="110", actor=CLERK, reason="x")
    assert audit_verify().ok


def test_person_get_and_search():
    person = make_person()
    assert selectors.person_get(person_id=person.pk) == person
    with pytest.raises(NotFound):
        selectors.person_get(person_id=person.pk + 100)
    with pytest.raises(NotFound):
        selectors.person_get(person_id="abc")
    other = make_person(name="李四")
    vehicle = make_vehicle(owner=other, plate="粤BX1234")
    assert selectors.persons_search(id_number=person.id_number) == [person]
    assert selectors.persons_search(plate="粤b·x1234") == [other]
    assert selectors.persons_search(id_number=person.id_number, plate=vehicle.plate) == [person, other]
    assert selectors.persons_search() == []
    assert selectors.persons_search(id_number=unique_id_number()) == []
    with pytest.raises(InvalidInput) as exc:
        selectors.persons_search(id_number="44030419900101001")
    assert exc.value.field == "id_number"
    with pytest.raises(InvalidInput) as exc:
        selectors.persons_search(plate="粤BI1234")
    assert exc.value.field == "plate"
    vehicle.status = Vehicle.Status.SCRAPPED
    vehicle.save()
    assert selectors.persons_search(plate="粤BX1234") == []


# --- Licences -----------------------------------------------------------------------------------------------------

def test_licence_issue_computes_period_and_probation():
    person = make_person(birth=dt.date(2000, 3, 1))
    licence = services.licence_issue(person=person, classes="c1", first_issue_date=dt.date(2026, 2, 1), actor=CLERK)
    assert licence.classes == "C1" and licence.validity == "6y"
    assert licence.valid_from == dt.date(2026, 2, 1) and licence.valid_until == dt.date(2032, 2, 1)
    assert licence.probation_until == dt.date(2027, 1, 31)
    assert licence.file_number.startswith("4403") and len(licence.file_number) == 12
    second = services.licence_issue(person=make_person(birth=dt.date(1999, 1, 1)), classes="C2",
                                    first_issue_date=dt.date(2025, 1, 1), actor=CLERK)
    assert int(second.file_number) == int(licence.file_number) + 1
    assert audit_rows("licence.issue")[0].new["valid_until"] == "2032-02-01"
    assert selectors.licence_for_person(person=person) == licence
    with pytest.raises(Conflict):
        services.licence_issue(person=person, classes="C1", first_issue_date=dt.date(2026, 2, 1), actor=CLERK)


@pytest.mark.parametrize("classes,birth,first,field,code", [
    ("C9", dt.date(1990, 1, 1), dt.date(2020, 1, 1), "classes", "registry.classes_invalid"),
    ("C1", dt.date(2005, 1, 1), dt.date(2022, 12, 31), "classes", "registry.licence_age"),  # 17
    ("A1", dt.date(2000, 1, 1), dt.date(2021, 1, 1), "classes", "registry.licence_age"),  # 21 < 22
    ("C1", dt.date(1990, 1, 1), dt.date(2026, 6, 2), "first_issue_date", "registry.date_in_future"),
    ("C1", dt.date(1990, 1, 1), dt.date(2010, 1, 1), "valid_from", "registry.licence_already_expired"),
])
def test_licence_issue_rejects(classes, birth, first, field, code):
    person = make_person(birth=birth)
    with pytest.raises(InvalidInput) as exc:
        services.licence_issue(person=person, classes=classes, first_issue_date=first, actor=CLERK)
    assert exc.value.field == field and exc.value.code == code
    assert not DrivingLicence.objects.exists()


def test_suspend_restore_revoke_each_audited_and_checked():
    licence = make_licence(person=make_person())
    services.licence_suspend(licence=licence, actor=CLERK, reason="满分")
    assert licence.status == "suspended"
    licence.refresh_from_db()
    assert licence.status == "suspended"
    with pytest.raises(Conflict) as exc:
        services.licence_suspend(licence=licence, actor=CLERK, reason="again")
    assert exc.value.code == "registry.licence_status"
    services.licence_restore(licence=licence, actor=CLERK, reason="学习考试合格")
    services.licence_revoke(licence=licence, actor=CLERK, reason="酒驾")
    with pytest.raises(Conflict):
        services.licence_restore(licence=licence, actor=CLERK, reason="x")
    with pytest.raises(Conflict):
        services.licence_cancel(licence=licence, actor=CLERK, reason="x")
    rows = AuditEntry.objects.filter(action__startswith="licence.").order_by("id")
    actions = [(r.action, r.old, r.new) for r in rows]
    assert actions == [
        ("licence.suspend", {"status": "valid"}, {"status": "suspended"}),
        ("licence.restore", {"status": "suspended"}, {"status": "valid"}),
        ("licence.revoke", {"status": "valid"}, {"status": "revoked"}),
    ]
    assert audit_verify().ok


def test_transitions_need_a_reason_and_staff():
    licence = make_licence(person=make_person())
    with pytest.raises(InvalidInput) as exc:
        services.licence_suspend(licence=licence, actor=CLERK, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(Forbidden):
        services.licence_suspend(licence=licence, actor=CITIZEN, reason="x")
    with pytest.raises(InvalidInput):
        services.licence_set_status(licence=licence, status="lost", actor=CLERK, reason="x")
    services.licence_set_status(licence=licence, status="cancelled", actor=CLERK, reason="本人申请注销")
    licence.refresh_from_db()
    assert licence.status == "cancelled"


def test_renewal_window_and_steps(clock):
    person = make_person(birth=dt.date(1980, 1, 1))
    licence = make_licence(person=person, first_issue=dt.date(2020, 8, 1), valid_until=dt.date(2026, 8, 1))
    licence.validity = "6y"
    licence.save()
    clock.freeze(dt.date(2026, 5, 2))  # 91 days before expiry: not yet
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=licence, actor=CLERK)
    assert exc.value.code == "registry.renewal_not_open" and "2026-05-03" in exc.value.zh
    clock.freeze(dt.date(2026, 5, 3))  # 90 days before: open
    services.licence_renew(licence=licence, actor=CLERK)
    licence.refresh_from_db()
    assert (licence.validity, licence.valid_from) == ("10y", dt.date(2026, 8, 1))
    assert licence.valid_until == dt.date(2036, 8, 1)
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=licence, actor=CLERK)
    assert exc.value.code == "registry.renewal_not_open"
    [row] = audit_rows("licence.renew")
    assert row.old["validity"] == "6y" and row.new["validity"] == "10y"


def test_renewal_with_a_full_score_keeps_the_length_and_long_term_needs_none():
    licence = make_licence(person=make_person(birth=dt.date(1980, 1, 1)), first_issue=dt.date(2016, 7, 1),
                           valid_until=dt.date(2026, 7, 1))
    licence.validity = "10y"
    licence.valid_from = dt.date(2016, 7, 1)
    licence.save()
    services.licence_renew(licence=licence, actor=CLERK, full_score_in_period=True)
    assert licence.validity == "10y" and licence.valid_until == dt.date(2036, 7, 1)
    long_term = make_licence(person=make_person(), valid_until=None)
    long_term.validity = "long"
    long_term.save()
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=long_term, actor=CLERK)
    assert exc.value.code == "registry.licence_long_term"


def test_late_renewal_and_restoration_after_cancellation(clock):
    licence = make_licence(person=make_person(birth=dt.date(1970, 1, 1)), first_issue=dt.date(2014, 1, 10),
                           valid_until=dt.date(2026, 1, 10))
    licence.validity, licence.valid_from = "6y", dt.date(2020, 1, 10)
    licence.save()
    # expired (2026-06-01): a late renewal continues from the old end date
    services.licence_renew(licence=licence, actor=CLERK)
    assert licence.valid_from == dt.date(2026, 1, 10) and licence.validity == "10y"

    old = make_licence(person=make_person(birth=dt.date(1970, 1, 1)), first_issue=dt.date(2013, 1, 10),
                       valid_until=dt.date(2025, 1, 10), status="cancelled", status_reason="expiry_over_1_year")
    old.validity = "6y"
    old.save()
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=old, actor=CLERK)
    assert exc.value.code == "registry.theory_test_required"
    services.licence_renew(licence=old, actor=CLERK, passed_theory_test=True, reason="恢复驾驶资格")
    # restored: a new 6-year period from today (a lapse earns no step to 10 years)
    assert old.status == "valid" and old.valid_from == TODAY and old.valid_until == dt.date(2032, 6, 1)
    assert old.validity == "6y" and old.status_reason == ""

    too_late = make_licence(person=make_person(birth=dt.date(1970, 1, 1)), first_issue=dt.date(2010, 1, 10),
                            valid_until=dt.date(2022, 1, 10), status="cancelled", status_reason="expiry_over_1_year")
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=too_late, actor=CLERK, passed_theory_test=True)
    assert exc.value.code == "registry.restore_too_late"


def test_licence_summary():
    person = make_person(birth=dt.date(1990, 5, 5))
    licence = make_licence(person=person, classes="C1 E", first_issue=dt.date(2015, 7, 20),
                           valid_until=dt.date(2026, 7, 20), cycle_points=3, probation_until=dt.date(2016, 7, 19))
    licence.validity, licence.valid_from = "6y", dt.date(2020, 7, 20)
    licence.save()
    s = selectors.licence_summary(licence=licence)
    assert s.licence_number == person.id_number and s.file_number == licence.file_number
    assert s.classes == [("C1", "小型汽车", "Small car"), ("E", "普通二轮摩托车", "Two-wheeled motorcycle")]
    assert s.covered_classes == ["C1", "C2", "C3", "C4", "E", "F"]
    assert (s.status, s.status_zh, s.status_en) == ("valid", "正常", "Valid")
    assert (s.validity_label.zh, s.validity_label.en) == ("6年", "6 years")
    assert (s.status_label.zh, s.status_label.en) == ("正常", "Valid")
    assert (s.cycle_start, s.cycle_end) == (dt.date(2025, 7, 20), dt.date(2026, 7, 19))
    assert s.points == 3 and s.points_left == 9 and not s.in_probation and s.renewal_window_open
    later = selectors.licence_summary(licence=licence, on=dt.date(2026, 8, 1))
    assert later.status == "expired" and later.status_en == "Expired" and not later.renewal_window_open
    assert selectors.licence_summary(licence=licence, on=dt.date(2027, 7, 21)).status == "cancelled"
    early = selectors.licence_summary(licence=licence, on=dt.date(2016, 1, 1))
    assert early.in_probation


# --- Vehicles -----------------------------------------------------------------------------------------------------

def test_vehicle_register_computes_due_from_the_rules_and_audits():
    owner = make_person()
    vin = unique_vin()
    vehicle = services.vehicle_register(owner=owner, plate="粤B·D12345", vin=vin.lower(), brand="比亚迪 汉EV",
                                        kind="small_car", use="private", registration_date=dt.date(2026, 5, 10),
                                        actor=CLERK)
    assert vehicle.plate_type == Vehicle.PlateType.NEV_SMALL and vehicle.seats == 5
    assert vehicle.inspection_due == dt.date(2028, 5, 31)
    [row] = audit_rows("vehicle.register")
    assert row.new["inspection_due"] == "2028-05-31" and row.subject_person_id == owner.pk
    truck = services.vehicle_register(owner=owner, plate="粤BC3456", vin=unique_vin(), brand="解放 J6P", kind="truck",
                                      use="freight", registration_date=dt.date(2026, 1, 15), actor=CLERK)
    assert truck.plate_type == Vehicle.PlateType.LARGE and truck.inspection_due == dt.date(2027, 1, 31)


def test_vehicle_register_uses_the_city_rules():
    InspectionRule.objects.filter(kind="small_car", use="private").delete()
    InspectionRule.objects.create(kind="small_car", use="private", from_year=1, to_year=None, interval_months=12)
    vehicle = services.vehicle_register(owner=make_person(), plate="粤BK1111", vin=unique_vin(), brand="大众 朗逸",
                                        kind="small_car", use="private", registration_date=dt.date(2026, 5, 10),
                                        actor=CLERK)
    assert vehicle.inspection_due == dt.date(2027, 5, 31)


@pytest.mark.parametrize("kwargs,field", [
    ({"plate": "粤BI2345"}, "plate"),
    ({"vin": "LSVAM4180X1234567"}, "vin"),
    ({"kind": "tank"}, "kind"),
    ({"use": "spy"}, "use"),
    ({"plate_type": "51"}, "plate_type"),
    ({"registration_date": dt.date(2026, 6, 2)}, "registration_date"),
    ({"brand": ""}, "brand"),
    ({"owner_uscc": "91110000600037341X"}, "owner_uscc"),
])
def test_vehicle_register_rejects(kwargs, field):
    args = dict(owner=make_person(), plate="粤BK2222", vin=unique_vin(), brand="大众", kind="small_car", use="private",
                registration_date=dt.date(2026, 1, 1), actor=CLERK)
    args.update(kwargs)
    with pytest.raises(InvalidInput) as exc:
        services.vehicle_register(**args)
    assert exc.value.field == field
    assert not Vehicle.objects.exists()


def test_vehicle_register_duplicates():
    owner = make_person()
    vin = unique_vin()
    services.vehicle_register(owner=owner, plate="粤BK3333", vin=vin, brand="大众", kind="small_car", use="private",
                              registration_date=dt.date(2026, 1, 1), actor=CLERK)
    with pytest.raises(Conflict) as exc:
        services.vehicle_register(owner=owner, plate="粤BK4444", vin=vin, brand="大众", kind="small_car",
                                  use="private", registration_date=dt.date(2026, 1, 1), actor=CLERK)
    assert exc.value.field == "vin"
    with pytest.raises(Conflict) as exc:
        services.vehicle_register(owner=owner, plate="粤BK3333", vin=unique_vin(), brand="大众", kind="small_car",
                                  use="private", registration_date=dt.date(2026, 1, 1), actor=CLERK)
    assert exc.value.field == "plate"


def test_vehicle_by_plate_prefers_the_small_car_and_validates():
    small = make_vehicle(owner=make_person(), plate="粤BA0001", plate_type=Vehicle.PlateType.SMALL)
    large = make_vehicle(owner=make_person(), plate="粤BA0001", plate_type=Vehicle.PlateType.LARGE, kind="truck",
                         use="freight")
    assert selectors.vehicle_by_plate(plate="粤b a0001") == small
    assert selectors.vehicle_by_plate(plate="粤BA0001", plate_type="01") == large
    assert selectors.vehicle_by_plate(plate="粤BA0002") is None
    with pytest.raises(InvalidInput):
        selectors.vehicle_by_plate(plate="XX")


def test_vehicle_of_owner_sees_every_status_and_needs_the_owner():
    # read by applications' truck pass (the applicant's own vehicle, scrapped ones included to refuse them)
    owner = make_person()
    scrapped = make_vehicle(owner=owner, plate="粤BA0101", status=Vehicle.Status.SCRAPPED)
    company = make_vehicle(owner=None, plate="粤BA0102")
    Vehicle.objects.filter(pk=company.pk).update(owner_uscc="91440300MA5FXXXX1X")
    assert selectors.vehicle_of_owner(plate="粤BA0101", person=owner) == scrapped
    assert selectors.vehicle_of_owner(plate="粤BA0101", person=make_person()) is None
    assert selectors.vehicle_of_owner(plate="粤BA0101") is None
    assert selectors.vehicle_of_owner(plate="粤BA0102", uscc="91440300MA5FXXXX1X") == company
    assert selectors.vehicle_of_owner(plate="粤BA0101", uscc="91440300MA5FXXXX1X") is None


def test_vehicle_kinds_are_the_registers_with_labels():
    kinds = selectors.vehicle_kinds()
    assert list(kinds) == list(Vehicle.Kind.values) and kinds["small_car"] == Vehicle.Kind.SMALL_CAR.label


def test_vehicles_owned_by_excludes_gone_vehicles():
    owner = make_person()
    kept = make_vehicle(owner=owner)
    make_vehicle(owner=owner, status=Vehicle.Status.SCRAPPED)
    make_vehicle(owner=owner, status=Vehicle.Status.TRANSFERRED)
    mortgaged = make_vehicle(owner=owner, status=Vehicle.Status.MORTGAGED)
    make_vehicle(owner=make_person())
    assert set(selectors.vehicles_owned_by(person=owner)) == {kept, mortgaged}


def test_vehicle_summary():
    owner = make_person()
    v = make_vehicle(owner=owner, plate="粤BD66666", plate_type=Vehicle.PlateType.NEV_SMALL,
                     registered=dt.date(2024, 7, 3), inspection_due=dt.date(2026, 7, 31))
    make_policy(vehicle=v, starts_on=dt.date(2025, 7, 3), ends_on=dt.date(2026, 7, 2))
    s = selectors.vehicle_summary(vehicle=v)
    assert s.plate == "粤BD66666" and s.is_new_energy
    assert (s.plate_type_zh, s.plate_type_en) == ("小型新能源汽车", "Small new-energy")
    assert (s.kind_zh, s.use_en) == ("小型载客汽车", "Private")
    assert s.inspection_status == "due_soon" and s.inspection_online and s.inspection_days_left == 60
    assert s.insurance_status == "valid" and s.insurance_until == dt.date(2026, 7, 2)
    assert s.vin_last4 == v.vin[-4:] and s.status == "normal" and s.status_zh == "正常"
    later = selectors.vehicle_summary(vehicle=v, on=dt.date(2026, 8, 1))
    assert later.inspection_status == "overdue" and later.insurance_status == "expired" and not later.insured
    # several at once: one read of the rules
    [again] = selectors.vehicle_summaries(vehicles=selectors.vehicles_owned_by(person=owner))
    assert again == s


def test_vehicle_summary_falls_back_to_default_rules_when_table_is_empty():
    InspectionRule.objects.all().delete()
    v = make_vehicle(owner=make_person(), registered=dt.date(2024, 7, 3), inspection_due=dt.date(2026, 7, 31))
    assert selectors.vehicle_summary(vehicle=v).inspection_online
    assert selectors.inspection_rules() == list(rules.DEFAULT_INSPECTION_RULES)


def test_policy_add_rules():
    v = make_vehicle(owner=make_person())
    p = services.policy_add(vehicle=v, policy_number="pdza2026001", insurer="中国人民财产保险",
                            starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31), actor=CLERK)
    assert p.policy_number == "PDZA2026001"
    assert audit_rows("policy.add")[0].new["ends_on"] == "2026-12-31"
    with pytest.raises(Conflict) as exc:
        services.policy_add(vehicle=v, policy_number="PDZA2026002", insurer="平安", starts_on=dt.date(2026, 12, 1),
                            ends_on=dt.date(2027, 11, 30), actor=CLERK)
    assert exc.value.code == "registry.policy_overlap"
    with pytest.raises(Conflict):
        services.policy_add(vehicle=v, policy_number="PDZA2026001", insurer="平安", starts_on=dt.date(2027, 1, 1),
                            ends_on=dt.date(2027, 12, 31), actor=CLERK)
    with pytest.raises(InvalidInput) as exc:
        services.policy_add(vehicle=v, policy_number="PDZA2026003", insurer="平安", starts_on=dt.date(2027, 1, 1),
                            ends_on=dt.date(2028, 6, 30), actor=CLERK)
    assert exc.value.field == "ends_on"
    with pytest.raises(InvalidInput) as exc:
        services.policy_add(vehicle=v, policy_number="P#1", insurer="平安", starts_on=dt.date(2027, 1, 1),
                            ends_on=dt.date(2027, 12, 31), actor=CLERK)
    assert exc.value.field == "policy_number"
    # back to back renewal is fine; a commercial policy may overlap
    services.policy_add(vehicle=v, policy_number="PDZA2027001", insurer="平安", starts_on=dt.date(2027, 1, 1),
                        ends_on=dt.date(2027, 12, 31), actor=CLERK)
    services.policy_add(vehicle=v, policy_number="SY2026001", insurer="平安", starts_on=dt.date(2026, 1, 1),
                        ends_on=dt.date(2026, 12, 31), kind="commercial", actor=CLERK)


def test_record_inspection_moves_the_due_date():
    v = make_vehicle(owner=make_person(), registered=dt.date(2020, 6, 15), inspection_due=dt.date(2026, 6, 30))
    with pytest.raises(Conflict) as exc:
        services.vehicle_record_inspection(vehicle=v, inspected_on=TODAY, actor=CLERK)
    assert exc.value.code == "registry.insurance_required"
    make_policy(vehicle=v, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    services.vehicle_record_inspection(vehicle=v, inspected_on=TODAY, actor=CLERK)
    assert v.inspection_due == dt.date(2028, 6, 30) and v.last_inspection_date == TODAY  # year 8: online mark
    with pytest.raises(Conflict) as exc:
        services.vehicle_record_inspection(vehicle=v, inspected_on=TODAY, actor=CLERK)
    assert exc.value.code == "registry.inspection_too_early"
    [row] = audit_rows("vehicle.inspect")
    assert row.old["inspection_due"] == "2026-06-30" and row.new["inspection_due"] == "2028-06-30"


def test_record_inspection_when_long_overdue():
    v = make_vehicle(owner=make_person(), kind="truck", use="freight", registered=dt.date(2020, 3, 10),
                     inspection_due=dt.date(2024, 3, 31))
    make_policy(vehicle=v, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    services.vehicle_record_inspection(vehicle=v, inspected_on=TODAY, actor=CLERK)
    assert v.inspection_due == dt.date(2027, 3, 31)


def test_vin_in_factories_is_valid():
    from jiaoguan.core.identifiers import validate_vin

    assert validate_vin(unique_vin()) and validate_vin(make_vin("LSVAM418", "12345678"))


def test_person_update_address_audits_masked():
    person = make_person(address="广东省深圳市福田区福华一路1号")
    services.person_update_address(person=person, address="广东省深圳市南山区  科苑路 8号", actor=CLERK, reason="搬家")
    person.refresh_from_db()
    assert person.address == "广东省深圳市南山区 科苑路 8号"
    [row] = audit_rows("person.update_address")
    assert "福华一路" not in str(row.old) and "科苑路" not in str(row.new) and row.reason == "搬家"
