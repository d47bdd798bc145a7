"""Bad input never gets a 500: malformed identifiers give 422 with field messages, broken bodies 400/413."""
import datetime as dt
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.core.identifiers import make_id_number
from jiaoguan.identity.models import SmsCode, User
from tests.api.helpers import API, assert_error, bearer, post
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, code_for, holder, register

pytestmark = pytest.mark.django_db

VALID_ID = make_id_number("440304", dt.date(1990, 3, 7), 123)


def _wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.parametrize("id_number,code", [
    ("", "core.invalid_input"),
    ("4403041990030712", "id_number.format"),
    ("44030419900307123Y", "id_number.format"),
    ("44030419900307123", "id_number.format"),
    ("440304199003071234567", "id_number.format"),
    (_wrong_check(VALID_ID), "id_number.check_digit"),
    ("440304199013071235", None),  # month 13
    ("000000199003071230", None),  # no such region
])
def test_bad_id_numbers_are_422_with_field(client, id_number, code):
    phone = unique_phone()
    payload = {"phone": phone, "code": "123456", "name": "张三", "id_number": id_number, "password": PASSWORD}
    body = assert_error(post(client, "auth/register", payload), 422, fields={"id_number"})
    if code and code != "core.invalid_input":
        assert body["code"] == code
    assert not User.objects.exists()


@pytest.mark.parametrize("phone", ["", "1380013800", "12800138000", "138001380001", "phone", "+1 650 253 0000",
                                   "１３８００１３８０００x"])
def test_bad_phones_are_422_with_field(client, phone):
    assert_error(post(client, "auth/sms-code", {"phone": phone, "purpose": "register"}), 422, fields={"phone"})
    assert_error(post(client, "auth/register", {"phone": phone, "code": "123456", "name": "张三",
                                                "id_number": VALID_ID, "password": PASSWORD}), 422, fields={"phone"})


@pytest.mark.parametrize("plate", ["", "粤B1234", "粤12345", "AB12345", "粤BI2345", "粤B12O45", "粤B1234567",
                                   "粤B·12 3", "<script>"])
def test_bad_plates_are_422_with_field(plate):
    user = register(holder())
    assert_error(post(Client(), "me/bindings", {"plate": plate, "vin_last4": "1234"}, **bearer(user)), 422,
                 fields={"plate"})


def test_overlong_fields_are_422(client):
    payload = {"phone": "1" * 21, "code": "1" * 11, "name": "张" * 51, "id_number": "4" * 25, "password": "p" * 129}
    body = assert_error(post(client, "auth/register", payload), 422, "core.invalid_input")
    assert set(body["fields"]) == {"phone", "code", "name", "id_number", "password"}
    assert body["fields"]["name"] == "内容过长"


def test_wrong_types_are_422(client):
    assert_error(post(client, "auth/sms-code", {"phone": 13800138000, "purpose": ["register"]}), 422)
    assert_error(post(client, "auth/login", {"login": {"a": 1}, "password": None}), 422)


def test_oversized_body_is_413(client, settings):
    big = json.dumps({"phone": "13800138000", "purpose": "register", "pad": "x" * (300 * 1024)})
    assert_error(post(client, "auth/sms-code", big), 413, "core.body_too_large")
    assert not SmsCode.objects.exists()


def test_non_utf8_body_is_400(client):
    body = '{"phone": "13800138000", "purpose": "注册"}'.encode("gbk")
    r = post(client, "auth/sms-code", body)
    assert r.status_code == 400 and r.json()["code"] in ("core.bad_request", "core.bad_encoding")
    r = post(client, "auth/register", b"\xff\xfe\xfa{")
    assert r.status_code == 400


@pytest.mark.parametrize("raw", ['{"phone": ', "not json", "{'phone': '13800138000'}", "[1, 2]", "null", '"x"',
                                 '{"phone": "13800138000", "purpose": "register"}}'])
def test_invalid_json_is_4xx(client, raw):
    r = post(client, "auth/sms-code", raw)
    assert 400 <= r.status_code < 500, (raw, r.status_code, r.content)
    assert r.json()["code"]


def test_empty_body_is_422(client):
    r = client.post(API + "auth/register", content_type="application/json")
    assert_error(r, 422)


def test_form_encoded_body_is_4xx(client):
    r = client.post(API + "auth/sms-code", {"phone": "13800138000", "purpose": "register"})
    assert 400 <= r.status_code < 500


def test_wrong_method_is_405(client):
    assert client.get(API + "auth/login").status_code == 405


def test_openapi_lists_the_identity_endpoints(client):
    schema = client.get(API + "openapi.json").json()
    paths = schema["paths"]
    for path in ("auth/sms-code", "auth/register", "auth/login", "auth/logout", "auth/password-reset", "me",
                 "me/licences", "me/vehicles", "me/bindings", "me/bindings/{binding_id}/confirm",
                 "me/bindings/{binding_id}"):
        assert f"/api/v1/{path}" in paths, path
    schemes = schema["components"]["securitySchemes"]
    assert {"BearerAuth", "CsrfSessionAuth"} <= set(schemes)


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phone=text, code=text, name=text, id_number=text, password=text)
def test_register_never_500s(client, phone, code, name, id_number, password):
    r = post(client, "auth/register", {"phone": phone, "code": code, "name": name, "id_number": id_number,
                                       "password": password})
    assert 400 <= r.status_code < 500, r.content
    assert r.json()["code"]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(login=text, password=text, code=st.one_of(st.none(), text), mode=st.sampled_from(["session", "token", "x"]))
def test_login_never_500s(client, login, password, code, mode):
    r = post(client, "auth/login", {"login": login, "password": password, "code": code, "mode": mode})
    assert 400 <= r.status_code < 500, r.content


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_random_bytes_never_500(client, body):
    for path in ("auth/sms-code", "auth/register", "auth/login", "auth/password-reset"):
        r = post(client, path, body)
        assert 400 <= r.status_code < 500, (path, body, r.content)


def test_binding_inputs_never_500():
    user = register(holder())
    h = bearer(user)

    @hsettings(max_examples=40, deadline=None)
    @given(plate=text, plate_type=text, vin=text)
    def run(plate, plate_type, vin):
        r = post(Client(), "me/bindings", {"plate": plate, "plate_type": plate_type, "vin_last4": vin}, **h)
        assert 400 <= r.status_code < 500, r.content

    run()


def test_a_correct_registration_after_all_that_still_works(client):
    person = holder()
    payload = {"phone": person.phone, "code": code_for(person.phone), "name": person.name,
               "id_number": person.id_number, "password": PASSWORD}
    assert post(client, "auth/register", payload).status_code == 201


def test_nul_and_control_characters_never_reach_the_database(client):
    user = register(holder())
    assert_error(post(client, "auth/login", {"login": "admin\x0001", "password": "x\x00y"}), 401)
    r = post(client, "auth/login", {"login": user.phone, "password": PASSWORD, "mode": "token", "label": "手机\x00\x07"})
    assert r.status_code == 200
    from jiaoguan.identity.models import ApiToken

    assert ApiToken.objects.get().label == "手机"
    assert_error(post(client, "auth/register", {"phone": "138\x0000138000", "code": "1\x00", "name": "张\x00三",
                                                "id_number": VALID_ID + "\x00", "password": PASSWORD}), 422)


def test_staff_display_name_is_cleaned():
    from jiaoguan.identity import services

    admin = services.staff_bootstrap(username="admin01", display_name="管理员\x00", password=PASSWORD)
    assert admin.display_name == "管理员"
