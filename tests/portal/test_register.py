"""Registration: step 1 phone → code (rate-limited); step 2 code, real name, ID number, password twice."""
import pytest

from jiaoguan.identity.models import User
from tests.notifications.helpers import last_code
from tests.portal.support import EN, PASSWORD, citizen_records, field_errors, text

pytestmark = pytest.mark.django_db


def _step1(client, phone, **extra):
    return client.post("/register/", {"phone": phone}, **extra)


def _details(person, code, **overrides):
    data = {"code": code, "name": person.name, "id_number": person.id_number, "password": PASSWORD,
            "password2": PASSWORD}
    data.update(overrides)
    return data


def test_register_pages_render(client):
    page = text(client.get("/register/"))
    assert "实名注册" in page and "手机号码" in page and "获取验证码" in page
    # step 2 without a verified phone goes back to step 1
    r = client.get("/register/details/")
    assert r.status_code == 302 and r["Location"] == "/register/"


def test_malformed_phone_is_refused_beside_the_field_and_kept(client):
    r = _step1(client, "12345")
    assert r.status_code == 422
    assert field_errors(r, "phone") == ["请输入11位中国大陆手机号码"]
    assert 'value="12345"' in r.content.decode()
    r = _step1(client, "12345", **EN)
    assert field_errors(r, "phone") == ["Enter an 11-digit mainland China mobile number"]
    assert "Please correct the following" in text(r)


def test_empty_phone_gets_djangos_required_message_in_both_languages(client):
    r = _step1(client, "")
    assert r.status_code == 400
    assert field_errors(r, "phone") == ["这个字段是必填项。"]
    assert field_errors(_step1(client, "", **EN), "phone") == ["This field is required."]


def test_full_registration_logs_the_citizen_in_and_shows_the_licence(client):
    person, _lic, car = citizen_records(name="王小红")
    r = _step1(client, person.phone)
    assert r.status_code == 302 and r["Location"] == "/register/details/"
    code = last_code(person.phone)
    assert code
    page = text(client.get("/register/details/"))
    assert person.phone[:3] + "****" + person.phone[-4:] in page  # the code went to the masked number
    r = client.post("/register/details/", _details(person, code))
    assert r.status_code == 302 and r["Location"] == "/me/"
    me = text(client.get("/me/"))
    assert "注册成功" in me
    assert "王*红" in me and "机动车驾驶证" in me and car.plate[:2] + "·" + car.plate[2:] in me
    assert User.objects.filter(person=person).count() == 1


def test_sms_rate_limit_is_explained(client):
    person, _, _ = citizen_records()
    assert _step1(client, person.phone).status_code == 302
    r = _step1(client, person.phone)
    assert r.status_code == 429
    errors = field_errors(r, "phone")
    assert len(errors) == 1 and errors[0].startswith("操作过于频繁，请") and errors[0].endswith("后再试")
    r = _step1(client, person.phone, **EN)
    assert r.status_code == 429
    assert "try again" in " ".join(field_errors(r, "phone")).lower()


def test_wrong_code_keeps_what_was_typed(client):
    person, _, _ = citizen_records(name="赵六")
    _step1(client, person.phone)
    code = last_code(person.phone)
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/register/details/", _details(person, wrong))
    assert r.status_code == 422
    assert field_errors(r, "code") == ["验证码不正确或已失效，请核对或重新获取"]
    html = r.content.decode()
    assert 'value="赵六"' in html and f'value="{person.id_number}"' in html
    assert PASSWORD not in html  # passwords are never echoed back
    assert not User.objects.filter(person=person).exists()


def test_passwords_must_match_in_both_languages(client):
    person, _, _ = citizen_records()
    _step1(client, person.phone)
    code = last_code(person.phone)
    r = client.post("/register/details/", _details(person, code, password2="Other-pass-99"))
    assert r.status_code == 400
    assert field_errors(r, "password2") == ["两次输入的密码不一致"]
    r = client.post("/register/details/", _details(person, code, password2="Other-pass-99"), **EN)
    assert field_errors(r, "password2") == ["The two passwords do not match"]


def test_bad_id_number_check_digit_is_a_field_error(client):
    person, _, _ = citizen_records()
    _step1(client, person.phone)
    code = last_code(person.phone)
    bad = person.id_number[:17] + ("0" if person.id_number[17] != "0" else "1")
    r = client.post("/register/details/", _details(person, code, id_number=bad))
    assert r.status_code == 422
    assert field_errors(r, "id_number"), r.context["form"].errors
    zh = field_errors(r, "id_number")[0]
    assert "身份证" in zh and f'value="{bad}"' in r.content.decode()
    r = client.post("/register/details/", _details(person, code, id_number=bad), **EN)
    en = field_errors(r, "id_number")[0]
    assert en != zh and en.isascii()


def test_name_not_matching_the_registry(client):
    person, _, _ = citizen_records(name="孙七")
    _step1(client, person.phone)
    code = last_code(person.phone)
    r = client.post("/register/details/", _details(person, code, name="孙八"))
    assert r.status_code == 422
    assert field_errors(r, "name") == ["姓名与身份证号码不一致"]
    assert not User.objects.filter(person=person).exists()


def test_registering_the_same_person_twice_is_refused(client):
    from tests.portal.support import register

    person, _, _ = citizen_records()
    register(person)
    r = _step1(client, person.phone)
    code = last_code(person.phone)
    r = client.post("/register/details/", _details(person, code))
    assert r.status_code == 409
    assert "已注册" in text(r)
    assert User.objects.filter(person=person).count() == 1


def test_weak_password_is_a_field_error(client):
    person, _, _ = citizen_records()
    _step1(client, person.phone)
    code = last_code(person.phone)
    r = client.post("/register/details/", _details(person, code, password="12345678", password2="12345678"))
    assert r.status_code == 422
    assert field_errors(r, "password")


def test_bytes_that_are_not_utf8_get_a_field_message_not_a_500(client):
    r = client.post("/register/", data=b"phone=%FF%FE%FD", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422
    assert field_errors(r, "phone") == ["请输入11位中国大陆手机号码"]


def test_oversized_phone_is_refused_by_the_form(client):
    r = client.post("/register/", {"phone": "1" * 5000})
    assert r.status_code == 400 and field_errors(r, "phone")
