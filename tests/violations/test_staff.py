"""Staff: on-site recording, CSV import of a day's records, dispute review, waivers when recorded."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, Forbidden, InvalidInput
from jiaoguan.violations import imports, services
from jiaoguan.violations.models import Dispute, Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import APPROVER, STAFF, camera, record
from tests.violations.test_handling import citizen_with_car

pytestmark = pytest.mark.django_db


def test_csv_import_reports_bad_rows_and_loads_the_rest():
    car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=300))
    y = (clock.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    text = "\n".join([
        "plate,plate_type,code,place,occurred_at",
        f"{car.plate},02,1352,深南大道,{y}",
        f"{car.plate},02,9999,深南大道,{y}",
        f"粤B0Z0Z0,02,1352,深南大道,{y}",
        f"{car.plate},02,1373,,{y}",
        f"{car.plate},02,1373,滨河大道,2099-01-01T00:00:00",
        f"{car.plate},02,1373,滨河大道,yesterday",
        f"{car.plate},02,1357,滨河大道,{y}+08:00",
    ])
    report = imports.violations_import_csv(content=text.encode(), actor=STAFF)
    assert report.loaded == 2
    assert [(e.line, e.code) for e in report.errors] == [
        (3, "violations.unknown_code"), (4, "violations.unknown_plate"), (5, "violations.place"),
        (6, "violations.future_time"), (7, "violations.csv_time")]
    assert Violation.objects.count() == 2


def test_a_wrong_plate_type_says_the_type_does_not_match():
    """A clerk who picks 小型新能源汽车 for a registered blue plate is told the plate exists with another type,
    not that it does not exist."""
    car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=300))
    assert car.plate_type == "02"
    with pytest.raises(InvalidInput) as e:
        services.violation_record(plate=car.plate, plate_type="52", code="1352", place="深南大道",
                                  occurred_at=clock.now() - dt.timedelta(hours=1), source="on_site", actor=STAFF)
    assert e.value.code == "violations.plate_type_mismatch"
    zh = e.value.message()
    assert "小型汽车" in zh and "小型新能源汽车" in zh and "不存在" not in zh
    assert "plate_type" in e.value.field_messages()


def test_csv_import_refuses_a_bad_file():
    with pytest.raises(InvalidInput):
        imports.violations_import_csv(content=b"a,b\n1,2", actor=STAFF)
    with pytest.raises(Forbidden):
        imports.violations_import_csv(content=b"", actor=Actor(id=1, label="c", role="citizen"))


def test_shenzhen_waiver_when_recorded():
    old_car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=800))
    v = record(old_car, code="1039")  # parking: a fine only, ¥200
    assert (v.status, v.waiver_rule, v.points, v.fine_fen) == ("waived", "shenzhen", 0, 0)
    v.refresh_from_db()
    assert (v.points, v.fine_fen) == (0, 0)
    from jiaoguan.core.audit import audit_verify
    from jiaoguan.core.models import AuditEntry
    entry = AuditEntry.objects.get(action="violation.waive", object_id=str(v.pk))
    assert entry.old["fine_fen"] == 20000 and "深圳" in entry.reason
    assert audit_verify().ok
    # a second one within 24 months is not waived by Shenzhen's rule (nor on the national list: prior violation)
    v2 = record(old_car, code="1039", when=clock.now() - dt.timedelta(hours=1))
    assert v2.status == "recorded"
    new_car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=300))
    v3 = record(new_car, code="1039")
    assert (v3.status, v3.waiver_rule) == ("waived", "national")  # on the national list, first one
    v4 = record(new_car, code="1352", when=clock.now() - dt.timedelta(hours=2))
    assert v4.status == "recorded"


def test_waived_violation_cannot_be_handled(payments):
    user, car = citizen_with_car()
    car.registration_date = clock.today() - dt.timedelta(days=800)
    car.save()
    v = record(car, code="1039")
    assert v.status == "waived"
    with pytest.raises(Conflict):
        services.violation_handle_counter(violation=v, licence=user.person.licence, actor=STAFF)


def test_confirmed_clone_voids_points_and_refunds(device, payments):
    user, car = citizen_with_car()
    v1 = camera(car, device, code="1352")
    v2 = camera(car, device, code="1357")
    d1 = services.violation_handle_online(user=user, violation_id=v1.pk)
    services.violation_mark_paid(violation=v1, actor=Actor.system("payments"))
    licence = user.person.licence
    assert services.points_in_cycle(licence=licence) == 3
    dispute = services.dispute_submit(user=user, kind="cloned", violation_ids=[v1.pk, v2.pk],
                                      reason="车辆当时在外地，附停车记录")
    with pytest.raises(Forbidden):
        services.dispute_review(dispute_id=dispute.pk, confirm=True, note="ok", actor=STAFF)  # clerk: not approver
    services.dispute_review(dispute_id=dispute.pk, confirm=True, note="轨迹核查确认套牌", actor=APPROVER)
    assert set(Violation.objects.values_list("status", flat=True)) == {"revoked"}
    assert services.points_in_cycle(licence=licence) == 0
    assert [c["source_id"] for c in payments.cancelled] == [str(d1.pk)]
    with pytest.raises(Conflict):
        services.dispute_review(dispute_id=dispute.pk, confirm=True, note="again", actor=APPROVER)


def test_rejected_appeal_restores_the_status(device, payments):
    user, car = citizen_with_car()
    v = camera(car, device, code="1352")
    services.violation_handle_online(user=user, violation_id=v.pk)
    d = services.dispute_submit(user=user, kind="appeal", violation_ids=[v.pk], reason="信号灯故障，请核实")
    assert Violation.objects.get(pk=v.pk).status == "disputed"
    services.dispute_review(dispute_id=d.pk, confirm=False, note="信号灯工作正常", actor=APPROVER)
    assert Violation.objects.get(pk=v.pk).status == "handled"
    assert Dispute.objects.get(pk=d.pk).status == "rejected"
    assert services.points_in_cycle(licence=user.person.licence) == 3


def test_only_the_owner_reports_a_cloned_plate(device, payments):
    from tests.violations.test_handling import bind_other

    _user, car = citizen_with_car()
    friend, _ = citizen_with_car()
    bind_other(friend, car)
    v = camera(car, device, code="1352", when=clock.now() + dt.timedelta(seconds=30))
    with pytest.raises(Forbidden):
        services.dispute_submit(user=friend, kind="cloned", violation_ids=[v.pk], reason="不是我开的车啊")
