"""CSV import: good rows load, bad rows are reported with line numbers and reasons, reruns do not duplicate."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.core.audit import Actor
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.imports import parse_date, registry_import
from jiaoguan.registry.models import DrivingLicence, InsurancePolicy, Person, Vehicle
from tests.factories import make_vehicle, unique_vin

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("import:test")
ID1 = make_id_number("440304", dt.date(1988, 3, 14), 371)
ID2 = make_id_number("440306", dt.date(1992, 10, 2), 58)
ID3 = make_id_number("440307", dt.date(2010, 1, 1), 11)  # 16 years old in 2026
NOBODY = make_id_number("440305", dt.date(1975, 1, 1), 33)  # valid, never imported
BAD_CHECK = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))


def run(kind: str, text: str, **kwargs):
    return registry_import(kind=kind, data=text.encode(kwargs.pop("encoding_out", "utf-8")), actor=ACTOR, **kwargs)


def errors_by_line(report) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for e in report.errors:
        out.setdefault(e.line, set()).add(e.field)
    return out


PERSONS = (
    "\ufeff身份证号码,姓名,手机号码,住址\n"
    f"{ID1},王建国,13812345678,广东省深圳市福田区福华一路1号\n"
    f"{BAD_CHECK},李四,13812345679,\n"  # line 3: check digit
    f'{ID2},陈美玲,,"广东省深圳市宝安区\n宝安大道88号"\n'  # lines 4-5: quoted newline
    f"{make_id_number('440305', dt.date(1990, 1, 1), 22)},,12345,\n"  # line 6: name and phone
    "\n"  # line 7: blank
    f"{make_id_number('440305', dt.date(1991, 1, 1), 22)},赵 六,+86 139 0000 1111,南山区\n"  # line 8: ok
)


def test_persons_good_and_bad_rows_with_line_numbers():
    report = run("persons", PERSONS)
    assert (report.rows, report.created, report.rejected) == (5, 3, 2)
    assert errors_by_line(report) == {3: {"id_number"}, 6: {"name", "phone"}}
    [check] = [e for e in report.errors if e.line == 3]
    assert check.code == "id_number.check_digit" and "校验位" in check.zh and "check digit" in check.en
    assert "第3行" in str(check) and "line 3" in str(check)
    chen = Person.objects.get(id_number_hash=Person._meta.get_field("id_number").hash(ID2))
    assert chen.address == "广东省深圳市宝安区 宝安大道88号" and chen.phone is None and chen.gender == "F"
    zhao = [p for p in Person.objects.all() if p.name == "赵 六"][0]
    assert zhao.phone == "13900001111"
    [summary] = AuditEntry.objects.filter(action="registry.import")
    assert summary.new["created"] == 3 and summary.new["rejected"] == 2 and len(summary.new["sha256"]) == 64


def test_rerun_does_not_duplicate_and_updates_are_audited():
    run("persons", PERSONS)
    again = run("persons", PERSONS)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 2)
    assert Person.objects.count() == 3
    changed = PERSONS.replace("13812345678", "13700000000").replace(f"{ID2},陈美玲,,", f"{ID2},陈美玲,13600000000,")
    third = run("persons", changed)
    assert (third.updated, third.unchanged) == (2, 1)
    rows = list(AuditEntry.objects.filter(action="person.import_update").order_by("id"))
    assert rows[0].old == {"phone": "138****5678"} and rows[0].new == {"phone": "137****0000"}
    assert rows[0].reason == "CSV import" and rows[1].old == {"phone": ""}


def test_english_headers_and_plain_utf8_and_crlf():
    text = "id_number,name,phone\r\n" + f"{ID1},王建国,13812345678\r\n"
    report = run("persons", text)
    assert report.created == 1 and not report.errors


def test_missing_columns_and_empty_file_and_encoding():
    report = run("persons", "身份证号码,电话\n" + f"{ID1},13800000000\n")
    assert report.file_error and report.errors[0].code == "import.columns_missing" and "name" in report.errors[0].en
    assert Person.objects.count() == 0
    assert run("persons", "").errors[0].code == "import.empty"
    gbk = ("身份证号码,姓名\n" + f"{ID1},王建国\n").encode("gb18030")
    report = registry_import(kind="persons", data=gbk, actor=ACTOR)
    assert report.file_error and report.errors[0].code == "import.encoding" and "gb18030" in report.errors[0].en
    assert "第1行" in report.errors[0].zh
    report = registry_import(kind="persons", data=gbk, actor=ACTOR, encoding="gb18030")
    assert report.created == 1
    [p] = Person.objects.all()
    assert p.name == "王建国"


def test_too_many_values_and_unclosed_quote():
    report = run("persons", "身份证号码,姓名\n" + f"{ID1},王建国,extra\n" + f'{ID2},"陈美玲\n')
    assert report.errors[0].line == 2 and report.errors[0].code == "import.too_many_values"
    assert report.errors[1].line == 3 and report.errors[1].code == "import.csv" and report.file_error


def test_dry_run_writes_nothing():
    report = run("persons", PERSONS, dry_run=True)
    assert report.created == 3 and report.dry_run and "试运行" in report.summary()
    assert Person.objects.count() == 0 and not AuditEntry.objects.filter(action="registry.import").exists()


def test_unknown_kind():
    from jiaoguan.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        run("violations", "a,b\n")


LICENCES = (
    "身份证号码,档案编号,准驾车型,初次领证日期,有效期起始日期,有效期至,状态,累积记分\n"
    f"{ID1},440300001001,C1,2008-05-01,2014/05/01,2024-05-01,,3\n"  # 2: ok (10y) -> status computed: expired
    f"{ID2},440300001002,C1 E,2016-09-09,2022-09-09,长期,暂扣,12\n"  # 3: long-term, suspended
    f"{NOBODY},440300001003,C1,2008-05-01,2008-05-01,2014-05-01,,\n"  # 4: no such person
    f"{ID1},440300001004,C9,2008-13-01,2007-05-01,2014-05-02,lost,x\n"  # 5: many errors
)


def _persons():
    run("persons", "身份证号码,姓名,手机号码\n" + f"{ID1},王建国,13812345678\n{ID2},陈美玲,13912345678\n{ID3},小明,\n")


def test_licences():
    _persons()
    report = run("licences", LICENCES)
    assert report.created == 2
    by_line = errors_by_line(report)
    assert by_line[4] == {"id_number"}
    assert by_line[5] == {"classes", "first_issue_date", "status", "cycle_points", "valid_until"}
    lic = DrivingLicence.objects.get(file_number="440300001001")
    # expired on 2024-05-01, more than a year before today: the status is computed as cancelled
    assert (lic.validity, lic.status, lic.cycle_points) == ("10y", "cancelled", 3)
    assert lic.probation_until == dt.date(2009, 4, 30)
    lic2 = DrivingLicence.objects.get(file_number="440300001002")
    assert (lic2.validity, lic2.valid_until, lic2.status, lic2.classes) == ("long", None, "suspended", "C1 E")
    again = run("licences", LICENCES)
    assert (again.created, again.unchanged) == (0, 2)


def test_licence_date_rules():
    _persons()
    header = "id_number,file_number,classes,first_issue_date,valid_from,valid_until\n"
    rows = (
        f"{ID1},440300002001,C1,2020-01-01,2020-01-01,2027-01-01\n"  # 7 years
        f"{ID3},440300002002,C1,2025-01-01,2025-01-01,2031-01-01\n"  # under 18 at first issue
        f"{ID2},440300002003,C1,2020-01-01,2019-01-01,2025-01-01\n"  # valid_from before first issue
        f"{ID2},440300002004,C1,2027-01-01,2027-01-01,2033-01-01\n"  # future
    )
    report = run("licences", header + rows)
    assert report.created == 0
    codes = {e.line: e.code for e in report.errors}
    assert codes == {2: "import.validity_period", 3: "import.too_young", 4: "import.valid_from_early",
                     5: "import.date_future"}


def test_licence_file_number_taken_by_another_driver():
    _persons()
    header = "id_number,file_number,classes,first_issue_date,valid_from,valid_until\n"
    run("licences", header + f"{ID1},440300003001,C1,2020-01-01,2020-01-01,2026-01-01\n")
    report = run("licences", header + f"{ID2},440300003001,C1,2020-01-01,2020-01-01,2026-01-01\n")
    assert report.errors[0].code == "import.file_number_taken" and report.errors[0].line == 2


def _vin(seed: str) -> str:
    from jiaoguan.core.identifiers import make_vin

    return make_vin("LSVAM418", seed)


def test_vehicles():
    _persons()
    other_vin = _vin("A0000001")
    good = _vin("A1234569")
    bad_vin = good[:8] + ("1" if good[8] != "1" else "2") + good[9:]
    make_vehicle(owner=None, plate="粤BQ0001")  # a plate already used by another VIN
    text = (
        "车辆识别代号,号牌号码,号牌种类,所有人身份证号码,品牌型号,车辆类型,使用性质,初次登记日期,检验有效期至\n"
        f"{_vin('A1234567')},粤B·D12345,,{ID1},比亚迪 汉EV,small_car,非营运,2025-03-10,\n"  # 2 ok: due computed
        f"{_vin('A1234568')},粤BK7788,小型汽车,{ID2},大众 朗逸,小型载客汽车,private,2015-03-10,2027-03\n"  # 3 ok
        f"{bad_vin},粤BI7788,52,{NOBODY},x,bike,private,2020-01-01,\n"  # 4 bad
        f"{_vin('A1234570')},粤BQ0001,02,{ID1},丰田,small_car,private,2018-01-01,2026-12-31\n"  # 5 plate taken
        f"{_vin('A1234571')},粤BK7789,02,{ID1},丰田,small_car,private,2015-01-01,\n"  # 6 due needed
        f"{other_vin},粤BK7790,51,{ID1},丰田,small_car,private,2015-01-01,2026-12-31\n"  # 7 type mismatch
    )
    report = run("vehicles", text)
    assert report.created == 2, report.errors
    lines = errors_by_line(report)
    assert {"vin", "plate", "owner_id_number", "kind"} <= lines[4]
    assert lines[5] == {"plate"} and lines[6] == {"inspection_due"} and lines[7] == {"plate_type"}
    nev = Vehicle.objects.get(plate="粤BD12345")
    assert nev.plate_type == "52" and nev.inspection_due == dt.date(2027, 3, 31) and nev.use == "private"
    car = Vehicle.objects.get(plate="粤BK7788")
    assert car.inspection_due == dt.date(2027, 3, 31) and car.kind == "small_car" and car.seats == 5
    assert run("vehicles", text).unchanged == 2
    # an owner change by VIN is an update: a transfer (转移登记) through the service, audited
    moved = text.replace(f"粤BK7788,小型汽车,{ID2}", f"粤BK7788,小型汽车,{ID1}")
    assert run("vehicles", moved).updated == 1
    [row] = AuditEntry.objects.filter(action="vehicle.transfer")
    assert set(row.new) == {"owner_id", "last_change_date"} and row.reason == "CSV import"
    assert not AuditEntry.objects.filter(action="vehicle.import_update").exists()


def test_vehicle_due_from_last_inspection():
    _persons()
    text = ("vin,plate,owner_id_number,brand,kind,use,registration_date,last_inspection_date\n"
            f"{_vin('B0000001')},粤BK1212,{ID1},解放,truck,freight,2018-04-20,2026-04-10\n")
    report = run("vehicles", text)
    assert report.created == 1, report.errors
    assert Vehicle.objects.get().inspection_due == dt.date(2027, 4, 30)


def test_policies():
    _persons()
    vehicle = make_vehicle(owner=None)
    text = (
        "保单号,车辆识别代号,险种,保险公司,保险起期,保险止期\n"
        f"PDZA2026440300001,{vehicle.vin},交强险,中国人民财产保险,2026-01-01,2026-12-31\n"  # 2 ok
        f"PDZA2026440300002,{vehicle.vin},交强险,中国人民财产保险,2026-06-01,2027-05-31\n"  # 3 overlap
        f"PDZA2026440300003,{unique_vin()},,平安,2026-01-01,2026-12-31\n"  # 4 unknown vehicle
        f"PDZA2026440300004,{vehicle.vin},compulsory,平安,2027-01-01,2028-06-30\n"  # 5 too long
        f"PDZA2026440300005,{vehicle.vin},商业险,平安,2026-06-01,2027-05-31\n"  # 6 commercial may overlap
        f"PDZA2026440300006,{vehicle.vin},compulsory,平安,2027-01-01,2026-12-01\n"  # 7 ends before start
    )
    report = run("policies", text)
    assert report.created == 2
    assert {e.line: e.code for e in report.errors} == {3: "import.policy_overlap", 4: "import.vehicle_missing",
                                                       5: "import.policy_too_long", 7: "import.policy_dates"}
    assert InsurancePolicy.objects.get(policy_number="PDZA2026440300005").kind == "commercial"
    assert run("policies", text).unchanged == 2


@pytest.mark.parametrize("text,expected", [
    ("2026-06-01", dt.date(2026, 6, 1)), ("2026/6/1", dt.date(2026, 6, 1)), ("20260601", dt.date(2026, 6, 1)),
    ("2026.06.01", dt.date(2026, 6, 1)), ("2026年6月1日", dt.date(2026, 6, 1)),
])
def test_parse_date(text, expected):
    assert parse_date(text, field="d") == expected


@pytest.mark.parametrize("text", ["2026-02-30", "01/06/2026", "2026-6", "tomorrow", "2026-13-01"])
def test_parse_date_rejects(text):
    from jiaoguan.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        parse_date(text, field="d")
    assert exc.value.field == "d"


def test_month_form_for_inspection_due():
    assert parse_date("2027-02", field="d", allow_month=True) == dt.date(2027, 2, 28)


def test_command(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_text(PERSONS, encoding="utf-8")
    out = io.StringIO()
    call_command("import_registry", "persons", str(path), stdout=out)
    text = out.getvalue()
    assert "第3行 line 3 [id_number]" in text and "第6行 line 6" in text and "3 created" in text
    with pytest.raises(CommandError):
        call_command("import_registry", "persons", str(path), "--fail-on-error", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("import_registry", "persons", str(tmp_path / "missing.csv"), stdout=io.StringIO())
    bad = tmp_path / "bad.csv"
    bad.write_bytes("身份证号码,姓名\n".encode() + "王".encode("gb18030") + b"\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_registry", "persons", str(bad), stdout=io.StringIO())
    assert "not imported" in str(exc.value)
    out = io.StringIO()
    call_command("import_registry", "persons", str(path), "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()


def test_the_documented_examples_import_cleanly():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry-import.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```csv\n(.*?)```", doc, flags=re.S)
    assert len(blocks) == 4
    for kind, block in zip(("persons", "licences", "vehicles", "policies"), blocks):
        report = run(kind, block)
        assert not report.errors, (kind, [str(e) for e in report.errors])
        assert report.created == report.rows > 0
