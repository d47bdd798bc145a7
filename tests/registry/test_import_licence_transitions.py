"""The CSV import changes a licence's status only through the transition services: impossible moves are refused
row by row with the line number, and every created or changed record gets its own audit row (no personal data in
clear)."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.errors import Conflict
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import services
from jiaoguan.registry.imports import registry_import
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from jiaoguan.registry.selectors import person_by_id_number

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("import:test")
CLERK = Actor(id=7, label="clerk7", role="clerk")
ID1 = make_id_number("440304", dt.date(1980, 3, 14), 371)
ID2 = make_id_number("440306", dt.date(1985, 10, 2), 58)
HEADER = "id_number,file_number,classes,first_issue_date,valid_from,valid_until,status,status_reason\n"


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))


@pytest.fixture
def persons():
    registry_import(kind="persons", data=f"身份证号码,姓名,手机号码\n{ID1},王建国,13812345678\n{ID2},陈美玲,\n".encode(),
                    actor=ACTOR)


def run(rows: str, header: str = HEADER):
    return registry_import(kind="licences", data=(header + rows).encode(), actor=ACTOR)


def licence(id_number: str = ID1) -> DrivingLicence:
    return DrivingLicence.objects.get(person=person_by_id_number(id_number=id_number))


# a licence valid until 2028 (6 years from 2022) and the same licence with other statuses
CURRENT = f"{ID1},440300009001,C1,2016-03-01,2022-03-01,2028-03-01"


def test_a_revoked_licence_cannot_become_valid_again(persons):
    assert run(f"{CURRENT},吊销,\n").created == 1
    assert licence().status == "revoked"
    report = run(f"{CURRENT},正常,\n")
    assert report.rejected == 1 and report.updated == 0
    [err] = report.errors
    assert (err.line, err.field, err.code) == (2, "status", "registry.licence_status")
    assert "吊销" in err.zh and "revoked" in err.en and "第2行" in str(err)
    assert licence().status == "revoked"
    # an empty status cell does not revive it either: a staff decision stands
    assert run(f"{CURRENT},,\n").unchanged == 1
    assert licence().status == "revoked"


def test_an_empty_status_cell_keeps_a_suspension(persons):
    run(f"{CURRENT},暂扣,\n")
    report = run(f"{CURRENT},,\n")
    assert report.unchanged == 1 and licence().status == "suspended"


def test_status_changes_are_the_transition_functions_audited(persons):
    run(f"{CURRENT},,\n")
    assert licence().status == "valid"
    assert run(f"{CURRENT},满分,\n").updated == 1
    assert licence().status == "suspended"
    assert run(f"{CURRENT},正常,\n").updated == 1
    assert licence().status == "valid"
    rows = list(AuditEntry.objects.filter(action__in=("licence.suspend", "licence.restore")).order_by("id"))
    assert [(r.action, r.old["status"], r.new["status"], r.reason) for r in rows] == [
        ("licence.suspend", "valid", "suspended", "CSV import"),
        ("licence.restore", "suspended", "valid", "CSV import"),
    ]
    assert all(r.subject_person_id == licence().person_id and r.actor_label == "import:test" for r in rows)
    assert audit_verify().ok


def test_dates_move_a_licence_to_expired_and_cancelled_with_the_reason(persons):
    run(f"{CURRENT},,\n")
    # the city's file now shows an older period (a correction): by the dates it expired on 2026-03-01
    run(f"{ID1},440300009001,C1,2016-03-01,2020-03-01,2026-03-01,,\n")
    lic = licence()
    assert (lic.status, lic.status_reason) == ("expired", "")
    assert AuditEntry.objects.filter(action="licence.expire").count() == 1
    run(f"{ID1},440300009001,C1,2016-03-01,2019-03-01,2025-03-01,,\n")  # more than a year past expiry
    lic = licence()
    assert (lic.status, lic.status_reason) == ("cancelled", "expiry_over_1_year")
    [row] = AuditEntry.objects.filter(action="licence.cancel")
    assert row.new == {"status": "cancelled", "status_reason": "expiry_over_1_year"}


def test_a_renewal_in_the_city_system_revalidates_an_expired_licence(persons):
    run(f"{ID1},440300009001,C1,2016-03-01,2020-03-01,2026-03-01,,\n")
    assert licence().status == "expired"
    # renewed there: 10 years from the old end
    report = run(f"{ID1},440300009001,C1,2016-03-01,2026-03-01,2036-03-01,,\n")
    assert report.updated == 1 and not report.errors
    lic = licence()
    assert (lic.status, lic.validity, lic.valid_until) == ("valid", "10y", dt.date(2036, 3, 1))
    [row] = AuditEntry.objects.filter(action="licence.restore")
    assert row.old["valid_until"] == "2026-03-01" and row.new["valid_until"] == "2036-03-01"
    # a "valid" status with a period that is over is refused
    run(f"{ID2},440300009002,C1,2016-03-01,2020-03-01,2026-03-01,,\n")
    report = run(f"{ID2},440300009002,C1,2016-03-01,2020-03-01,2026-03-01,正常,\n")
    assert report.rejected == 1 and report.errors[0].code == "registry.period_not_current"
    assert licence(ID2).status == "expired"


def test_restoring_a_cancelled_licence_depends_on_why_it_was_cancelled(persons):
    lapsed = f"{ID1},440300009001,C1,2016-03-01,2019-03-01,2025-03-01"
    run(f"{lapsed},,\n")
    assert (licence().status, licence().status_reason) == ("cancelled", "expiry_over_1_year")
    restored = f"{ID1},440300009001,C1,2016-03-01,2026-05-20,2032-05-20,正常,\n"
    assert run(restored).updated == 1
    assert (licence().status, licence().status_reason) == ("valid", "")

    run(f"{ID2},440300009002,C1,2016-03-01,2022-03-01,2028-03-01,注销,probation_full_score\n")
    other = licence(ID2)
    assert (other.status, other.status_reason) == ("cancelled", "probation_full_score")
    report = run(f"{ID2},440300009002,C1,2016-03-01,2026-05-20,2032-05-20,正常,\n")
    assert report.rejected == 1
    assert report.errors[0].code == "registry.licence_not_restorable" and report.errors[0].field == "status"
    assert "实习期内记满12分" in report.errors[0].zh
    assert licence(ID2).status == "cancelled" and licence(ID2).valid_until == dt.date(2028, 3, 1)


def test_status_reason_column_is_checked(persons):
    report = run(
        f"{ID1},440300009001,C1,2016-03-01,2022-03-01,2028-03-01,正常,holder_request\n"  # 2: not cancelled
        f"{ID2},440300009002,C1,2016-03-01,2022-03-01,2028-03-01,注销,expiry_over_1_year\n"  # 3: dates say no
    )
    assert report.created == 0
    assert {(e.line, e.field, e.code) for e in report.errors} == {
        (2, "status_reason", "import.status_reason_unexpected"), (3, "status_reason", "import.cancel_reason_dates")}
    run(f"{ID2},440300009002,C1,2016-03-01,2022-03-01,2028-03-01,注销,本人申请注销\n")
    assert licence(ID2).status_reason == "holder_request"
    report = run(f"{ID2},440300009002,C1,2016-03-01,2022-03-01,2028-03-01,注销,其他原因\n")
    assert report.errors[0].code == "import.status_reason_differs"


def test_cancelling_an_existing_licence_through_the_file(persons):
    run(f"{CURRENT},,\n")
    assert run(f"{CURRENT},注销,驾驶人死亡\n").updated == 1
    lic = licence()
    assert (lic.status, lic.status_reason) == ("cancelled", "holder_deceased")
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert exc.value.code == "registry.licence_not_restorable"


def test_created_and_changed_records_each_get_an_audit_row(persons):
    [created] = AuditEntry.objects.filter(action="person.import_create", subject_person_id=licence_holder_pk(ID1))
    assert ID1 not in str(created.new) and "13812345678" not in str(created.new) and "王建国" not in str(created.new)
    assert created.new["id_number"] == ID1[:4] + "**********" + ID1[-4:] and created.new["phone"] == "138****5678"
    run(f"{CURRENT},,\n")
    [row] = AuditEntry.objects.filter(action="licence.import_create")
    assert row.subject_person_id == licence().person_id and row.reason == "CSV import"
    assert row.new["file_number"] == "440300009001" and row.new["status"] == "valid"
    assert row.new["points_cycle_start"] == "2026-03-01" and ID1 not in str(row.new)
    run(f"{ID1},440300009001,C1 E,2016-03-01,2022-03-01,2028-03-01,,\n")
    [upd] = AuditEntry.objects.filter(action="licence.import_update")
    assert upd.old == {"classes": "C1"} and upd.new == {"classes": "C1 E"}
    assert audit_verify().ok


def licence_holder_pk(id_number: str) -> int:
    return Person.objects.get(id_number_hash=Person._meta.get_field("id_number").hash(id_number)).pk


def test_created_vehicles_and_policies_are_audited(persons):
    from jiaoguan.core.identifiers import make_vin

    vin = make_vin("LSVAM418", "D0000001")
    registry_import(kind="vehicles", actor=ACTOR, data=(
        "vin,plate,owner_id_number,brand,kind,use,registration_date,inspection_due\n"
        f"{vin},粤BK4001,{ID1},丰田 卡罗拉,small_car,private,2020-03-10,2026-03\n").encode())
    registry_import(kind="policies", actor=ACTOR, data=(
        "policy_number,vin,insurer,starts_on,ends_on\n"
        f"PDZA202644030000000001,{vin},中国人民财产保险,2026-01-01,2026-12-31\n").encode())
    car = Vehicle.objects.get(vin=vin)
    [v] = AuditEntry.objects.filter(action="vehicle.import_create")
    assert v.object_id == str(car.pk) and v.new["plate"] == "粤BK4001" and v.subject_person_id == car.owner_id
    [p] = AuditEntry.objects.filter(action="policy.import_create")
    policy = InsurancePolicy.objects.get()
    assert p.object_id == str(policy.pk) and p.new["vehicle_id"] == car.pk and p.subject_person_id == car.owner_id


def test_the_classes_in_probation(persons):
    """实习准驾车型: given, checked against the classes; not given, every class of a first year's probation; a probation
    of a class added online stays known when the file repeats its date without naming the class."""
    header = "id_number,file_number,classes,first_issue_date,valid_from,valid_until,probation_until,probation_classes\n"
    report = run(f"{ID1},440300009001,B2 C1,2016-03-01,2022-03-01,2028-03-01,2026-12-31,D\n", header)
    assert report.errors and report.errors[0].field == "probation_classes"
    run(f"{ID1},440300009001,B2 C1,2016-03-01,2022-03-01,2028-03-01,2026-12-31,B2\n", header)
    assert (licence().probation_until, licence().probation_classes) == (dt.date(2026, 12, 31), "B2")
    run(f"{ID1},440300009001,B2 C1,2016-03-01,2022-03-01,2028-03-01,2026-12-31,\n", header)
    assert licence().probation_classes == "B2"  # the record knew: kept
    run(f"{ID2},440300009002,C1 E,2026-01-10,2026-01-10,2032-01-10,,\n", header)
    assert (licence(ID2).probation_until, licence(ID2).probation_classes) == (dt.date(2027, 1, 9), "C1 E")
