"""Whatever is typed into the portal's and console's forms, the answer is a page with a message (a 2xx, 3xx or
4xx), never a 500, and a 4xx page names the problem."""
import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.portal.support import citizen, staff_user

pytestmark = pytest.mark.django_db

# typed text: any unicode (full-width digits, Chinese, emoji, control characters), and identifier-shaped text
junk = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9Xx粤京B·\- ]{0,22}", fullmatch=True),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
)
OK = {200, 302, 400, 401, 403, 404, 409, 422, 423, 429}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def _clean(value: str) -> str:
    return value.replace("\x00", "")  # the test client cannot send NUL in a form field; browsers never do


@pytest.fixture
def logged_in():
    user, *_ = citizen()
    client = Client()
    client.force_login(user)
    return client


@FUZZ
@given(phone=junk, code=junk, name=junk, id_number=junk)
def test_registration_never_fails_with_a_500(client, phone, code, name, id_number):
    cache.clear()
    r = client.post("/register/", {"phone": _clean(phone)})
    assert r.status_code in OK
    session = client.session
    session["portal.register_phone"] = _clean(phone) or "13900000000"
    session.save()
    r = client.post("/register/details/", {"code": _clean(code), "name": _clean(name), "id_number": _clean(id_number),
                                           "password": "Jg-secure-2024", "password2": "Jg-secure-2024"})
    assert r.status_code in OK
    if r.status_code >= 400:
        assert r.context["form"].errors


@FUZZ
@given(login=junk, password=junk)
def test_login_never_fails_with_a_500(client, login, password):
    cache.clear()
    r = client.post("/login/", {"method": "password", "login": _clean(login), "password": _clean(password)})
    assert r.status_code in OK
    r = client.post("/login/", {"method": "sms", "phone": _clean(login), "code": _clean(password), "action": "login"})
    assert r.status_code in OK


@FUZZ
@given(plate=junk, plate_type=st.sampled_from(["02", "52", "01", "", "zz"]), vin=junk)
def test_binding_never_fails_with_a_500(logged_in, plate, plate_type, vin):
    cache.clear()
    r = logged_in.post("/me/vehicles/bind/", {"plate": _clean(plate), "plate_type": plate_type, "vin_last4": _clean(vin)})
    assert r.status_code in OK
    if r.status_code >= 400:
        assert r.context["form"].errors


@pytest.fixture
def clerk_and_auditor():
    clerk, auditor = Client(), Client()
    clerk.force_login(staff_user("clerk", "fuzzclerk"))
    auditor.force_login(staff_user("auditor", "fuzzaudit"))
    return clerk, auditor


@FUZZ
@given(id_number=junk, plate=junk, staff=junk)
def test_console_search_and_filters_never_fail_with_a_500(clerk_and_auditor, id_number, plate, staff):
    clerk, auditor = clerk_and_auditor
    r = clerk.get("/console/persons/", {"id_number": _clean(id_number), "plate": _clean(plate)})
    assert r.status_code in OK
    if r.status_code >= 400:
        assert r.context["form"].errors
    r = auditor.get("/console/audit/access/", {"staff": _clean(staff), "id_number": _clean(id_number),
                                               "page": _clean(plate)})
    assert r.status_code in OK
