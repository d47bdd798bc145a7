"""API: POST auth/sms-code with purpose "phone" (logged in) and POST me/phone."""
import pytest
from django.test import Client

from jiaoguan.core.audit import Actor
from jiaoguan.core.models import AuditEntry
from jiaoguan.identity import services
from jiaoguan.identity.models import ApiToken
from jiaoguan.registry.services import person_update_phone
from tests.api.helpers import assert_error, bearer, get, post, session_client
from tests.factories import unique_phone
from tests.identity.helpers import PASSWORD, holder, later, register, wrong
from tests.notifications.helpers import clear_outbox, last_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def mismatched():
    """A holder (licence, one car) whose phone on file was updated at a window after registering."""
    person = holder(name="孙八")
    account = register(person)
    clerk = services.staff_bootstrap(username="clerk001", display_name="窗口民警", password=PASSWORD, role="clerk")
    on_file = unique_phone()
    person_update_phone(person=person, phone=on_file, actor=Actor.of(clerk), reason="窗口更新")
    account.refresh_from_db()
    clear_outbox()
    return account, on_file


@pytest.fixture(params=["bearer", "session"])
def auth(request, mismatched):
    account, _ = mismatched
    if request.param == "bearer":
        return Client(), bearer(account)
    return session_client(account), {}


def ask_code(client, phone, **headers):
    return post(client, "auth/sms-code", {"phone": phone, "purpose": "phone"}, **headers)


def test_the_whole_way_out_mismatch_then_change_then_licence_and_vehicles(auth, mismatched):
    client, headers = auth
    account, on_file = mismatched
    me = get(client, "me", **headers).json()
    assert me["phone_mismatch"] is True and me["notice"]
    assert get(client, "me/licences", **headers).json() == []
    assert get(client, "me/vehicles", **headers).json() == []

    r = ask_code(client, on_file, **headers)
    assert r.status_code == 200, r.content
    code = last_code(on_file)
    assert code and last_code(account.phone) is None
    r = post(client, "me/phone", {"new_phone": on_file, "code": code, "password": PASSWORD}, **headers)
    assert r.status_code == 200, r.content
    me = r.json()
    assert me["phone_mismatch"] is False and me["notice"] == ""
    assert me["phone"] == on_file[:3] + "****" + on_file[-4:]

    # the same client keeps working (the token used is kept; the session stays)
    assert len(get(client, "me/licences", **headers).json()) == 1
    vehicles = get(client, "me/vehicles", **headers).json()
    assert len(vehicles) == 1 and vehicles[0]["binding_kind"] == "own"


def test_a_code_for_phone_change_needs_a_login(mismatched):
    _account, on_file = mismatched
    assert_error(ask_code(Client(), on_file), 401, "core.unauthenticated")
    assert_error(ask_code(Client(), on_file, HTTP_AUTHORIZATION="Bearer jgt_nonsense"), 401)
    assert last_code(on_file) is None


def test_phone_change_needs_a_login(mismatched):
    _account, on_file = mismatched
    assert_error(post(Client(), "me/phone", {"new_phone": on_file, "code": "123456", "password": PASSWORD}), 401,
                 "core.unauthenticated")


def test_session_requests_keep_the_csrf_check(mismatched):
    account, on_file = mismatched
    c = Client(enforce_csrf_checks=True)
    token = get(c, "auth/csrf").json()["csrf_token"]
    assert post(c, "auth/login", {"login": account.phone, "password": PASSWORD}, HTTP_X_CSRFTOKEN=token
                ).status_code == 200
    token = c.cookies["csrftoken"].value
    assert_error(ask_code(c, on_file), 403, "core.csrf")
    assert last_code(on_file) is None
    assert ask_code(c, on_file, HTTP_X_CSRFTOKEN=token).status_code == 200
    body = {"new_phone": on_file, "code": last_code(on_file), "password": PASSWORD}
    assert_error(post(c, "me/phone", body), 403, "core.csrf")
    assert post(c, "me/phone", body, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_errors_are_per_field(auth, mismatched):
    client, headers = auth
    account, on_file = mismatched
    assert_error(ask_code(client, "12345", **headers), 422, fields={"phone"})
    assert_error(ask_code(client, account.phone, **headers), 422, "identity.phone_unchanged", {"phone"})
    assert_error(post(client, "me/phone", {"new_phone": "x", "code": "", "password": ""}, **headers), 422,
                 fields={"new_phone", "code", "password"})
    assert ask_code(client, on_file, **headers).status_code == 200
    code = last_code(on_file)
    assert_error(post(client, "me/phone", {"new_phone": on_file, "code": code, "password": "wrong-one"},
                      **headers), 422, "identity.password_wrong", {"password"})
    assert_error(post(client, "me/phone", {"new_phone": on_file, "code": wrong(code), "password": PASSWORD},
                      **headers), 422, "identity.code_invalid", {"code"})
    en = assert_error(post(client, "me/phone", {"new_phone": on_file, "code": wrong(code), "password": PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en", **headers), 422, "identity.code_invalid", {"code"})
    assert "code" in en["fields"]["code"].lower()
    # missing keys and oversized values: 422 from the schema, never a 500
    assert post(client, "me/phone", {"new_phone": on_file}, **headers).status_code == 422
    assert post(client, "me/phone", {"new_phone": "1" * 500, "code": "1", "password": "p"},
                **headers).status_code == 422


def test_a_number_with_an_account_is_409(auth, mismatched):
    client, headers = auth
    other = register(holder(name="钱一"))
    later()
    assert ask_code(client, other.phone, **headers).status_code == 200
    body = assert_error(post(client, "me/phone", {"new_phone": other.phone, "code": last_code(other.phone),
                                                  "password": PASSWORD}, **headers),
                        409, "identity.phone_registered", {"new_phone"})
    assert body["fields"]["new_phone"]


def test_code_requests_are_rate_limited(auth, mismatched):
    client, headers = auth
    _account, on_file = mismatched
    assert ask_code(client, on_file, **headers).status_code == 200
    assert_error(ask_code(client, on_file, **headers), 429, "identity.rate_limited", {"phone"})


def test_bearer_change_keeps_the_token_used_and_revokes_the_others(mismatched):
    account, on_file = mismatched
    used = bearer(account)
    other_token = services.token_issue(user=account, label="old phone")
    assert ask_code(Client(), on_file, **used).status_code == 200
    r = post(Client(), "me/phone", {"new_phone": on_file, "code": last_code(on_file), "password": PASSWORD}, **used)
    assert r.status_code == 200, r.content
    assert get(Client(), "me", **used).status_code == 200
    assert_error(get(Client(), "me", HTTP_AUTHORIZATION=f"Bearer {other_token}"), 401)
    assert ApiToken.objects.filter(user=account, revoked_at__isnull=True).count() == 1
    assert AuditEntry.objects.filter(action="account.phone_change", actor_id=account.pk).count() == 1


def test_staff_cannot_use_it():
    admin = services.staff_bootstrap(username="admin01", display_name="管理员", password=PASSWORD)
    assert_error(ask_code(Client(), unique_phone(), **bearer(admin)), 403, "identity.citizen_only")


def test_the_purpose_is_in_the_openapi_schema():
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/me/phone" in schema["paths"]
    assert "phone" in schema["components"]["schemas"]["SmsCodeIn"]["properties"]["purpose"]["description"]
