"""Finding a person, their record masked, unmasking with a reason, and the access-audit rows."""
import pytest

from jiaoguan.core.audit import audit_verify
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity.services import binding_confirm, binding_request
from tests.notifications.helpers import last_code
from tests.portal.support import EN, citizen, citizen_records, field_errors, staff_user, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return staff_user("clerk", "clerk001", display_name="张警官")


def _access_rows(**filters):
    return list(AuditEntry.objects.filter(kind="access", **filters).order_by("id"))


def test_search_by_id_number_and_by_plate(client, clerk):
    person, lic, car = citizen_records(name="黄大明")
    client.force_login(clerk)
    for query in ({"id_number": person.id_number}, {"id_number": person.id_number.lower()}, {"plate": car.plate},
                  {"plate": car.plate[:2] + "·" + car.plate[2:]}):
        r = client.get("/console/persons/", query)
        assert r.status_code == 200, query
        page = text(r)
        assert "找到 1 人" in page and "黄*明" in page and "Male" not in page
        assert person.id_number not in page and person.id_number[-4:] in page
        assert f"/console/persons/{person.pk}/" in r.content.decode()
    page = text(client.get("/console/persons/", {"plate": "粤B99999"}))
    assert "没有找到符合条件的人员" in page
    assert _access_rows() == []  # a search shows masked names only and writes no access row


def test_search_input_errors(client, clerk):
    client.force_login(clerk)
    r = client.get("/console/persons/", {"id_number": "", "plate": ""})
    assert r.status_code == 400 and "请输入身份证号码或号牌号码" in text(r)
    r = client.get("/console/persons/", {"id_number": "440304199001011234"})
    assert r.status_code == 422 and field_errors(r, "id_number")
    assert 'value="440304199001011234"' in r.content.decode()
    r = client.get("/console/persons/", {"plate": "粤BIO123"}, **EN)
    assert r.status_code == 422 and "The plate number is malformed" in field_errors(r, "plate")[0]


def test_record_is_masked_and_the_view_is_audited(client, clerk):
    person, lic, car = citizen_records(name="黄大明", address="广东省深圳市福田区福华一路88号")
    client.force_login(clerk)
    r = client.get(f"/console/persons/{person.pk}/")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    page = text(r)
    for secret in (person.name, person.id_number, person.phone, person.address):
        assert secret not in page
    assert "黄*明" in page and person.phone[:3] + "****" + person.phone[-4:] in page
    assert "个人信息已脱敏显示" in page
    assert "机动车驾驶证" in page and lic.file_number in page and "粤B·" + car.plate[2:] in page
    assert "未注册互联网账户" in page
    (row,) = _access_rows()
    assert (row.action, row.subject_person_id, row.actor_id, row.actor_role) == ("person.view", person.pk, clerk.pk, "clerk")
    assert row.reason == "" and row.ip == "127.0.0.1"


def test_unmask_needs_a_reason(client, clerk):
    person, _, _ = citizen_records()
    client.force_login(clerk)
    r = client.post(f"/console/persons/{person.pk}/unmask/", {"reason": "  "})
    assert r.status_code == 400
    assert field_errors(r, "reason", form="unmask_form") == ["请填写查看原因，它将记入审计日志"]
    assert person.id_number not in text(r)
    r = client.post(f"/console/persons/{person.pk}/unmask/", {"reason": "核对"}, **EN)
    assert field_errors(r, "reason", form="unmask_form") == ["The reason needs at least 4 characters: name the business"]
    assert [row.action for row in _access_rows()] == ["person.view", "person.view"]
    assert client.get(f"/console/persons/{person.pk}/unmask/").status_code == 405


def test_unmask_shows_full_values_on_that_response_only(client, clerk):
    person, _, _ = citizen_records(name="黄大明", address="广东省深圳市福田区福华一路88号")
    client.force_login(clerk)
    client.get(f"/console/persons/{person.pk}/")
    r = client.post(f"/console/persons/{person.pk}/unmask/", {"reason": "窗口办理换证，核对身份"})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    page = text(r)
    for secret in (person.name, person.id_number, person.phone, person.address):
        assert secret in page
    assert "以下为完整个人信息，仅在本次页面显示" in page
    rows = _access_rows()
    assert [row.action for row in rows] == ["person.view", "person.unmask"]
    assert rows[1].reason == "窗口办理换证，核对身份"
    assert rows[1].new == {"fields": ["name", "id_number", "phone", "address"]}
    # the next page is masked again
    assert person.id_number not in text(client.get(f"/console/persons/{person.pk}/"))
    assert audit_verify().ok


def test_record_shows_the_account_and_its_bindings_masked(client, clerk):
    user, person, _, car = citizen(name="林小华")
    owner, _, relative_car = citizen_records(name="林父")
    binding = binding_request(user=user, plate=relative_car.plate, plate_type=relative_car.plate_type,
                              vin_last4=relative_car.vin[-4:])
    binding_confirm(user=user, binding_id=binding.pk, code=last_code(owner.phone))
    client.force_login(clerk)
    page = text(client.get(f"/console/persons/{person.pk}/"))
    assert "互联网账户与车辆绑定" in page and "未注册互联网账户" not in page
    assert "粤B·" + relative_car.plate[2:] in page and "绑定的他人车辆" in page and "本人车辆" in page
    assert user.phone not in page


def test_unknown_person_is_404_and_writes_nothing(client, clerk):
    client.force_login(clerk)
    assert client.get("/console/persons/987654/").status_code == 404
    assert client.post("/console/persons/987654/unmask/", {"reason": "核对身份信息"}).status_code == 404
    assert _access_rows() == []


def test_auditor_cannot_open_records_and_clerk_cannot_read_the_log(client, clerk):
    person, _, _ = citizen_records()
    auditor = staff_user("auditor", "audit001")
    client.force_login(auditor)
    assert client.get(f"/console/persons/{person.pk}/").status_code == 403
    assert client.post(f"/console/persons/{person.pk}/unmask/", {"reason": "核对身份信息"}).status_code == 403
    assert _access_rows() == []
    client.force_login(clerk)
    assert client.get("/console/audit/access/").status_code == 403


def test_record_in_english(client, clerk):
    person, lic, car = citizen_records()
    client.force_login(clerk)
    page = text(client.get(f"/console/persons/{person.pk}/", **EN))
    assert "Person record" in page and "Personal data is masked" in page and "Show full details" in page
    assert "Driving licence" in page and "Small car" in page and "Male" in page and "男" not in page
    assert "Window clerk" in page  # the role beside the staff member's name in the header
