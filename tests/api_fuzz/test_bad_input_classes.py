"""Bad input is never a 500 (issue 10 item 10): one regression test per class the fuzz run and the issue found.

- unbounded integers (an id beyond 64 bits reaches the database) and unbounded dates (``9999-12-31 + 1 day``):
  every int / date / date-time input of every operation is bounded (core.inputs.bound_inputs) — pinned for all
  operations, present and future, by ``test_every_api_input_is_bounded``;
- malformed request bodies (multipart without a boundary, too many fields, unreadable): 400 in the API's error
  shape, and 400 (not 500) on the portal's and console's upload forms;
- the API documents every 4xx it answers (422 and 413 included), so status-code conformance holds.
"""
from __future__ import annotations

import datetime as dt
import typing

import annotated_types as at
import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import BaseModel

from jiaoguan.api import api
from jiaoguan.core.api_errors import ERROR_STATUSES
from jiaoguan.core.inputs import INT_MAX, INT_MIN, MAX_DAY, MIN_DAY, api_operations
from tests.api.helpers import API, bearer
from tests.applications.support import citizen, staff

pytestmark = pytest.mark.django_db

NO_BOUNDARY = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nabc\r\n--x--\r\n"


def client() -> Client:
    return Client(raise_request_exception=False)


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] and body["message"]
    if code:
        assert body["code"] == code
    return body


# --- malformed multipart ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=",
                                          "multipart/form-data; boundary=\u00e9\u00e9"])
def test_material_upload_without_a_boundary_is_400_in_both_languages(content_type):
    user = citizen()  # any application id: the body is parsed before the application is looked up
    r = client().post(API + "me/applications/1/materials", NO_BOUNDARY, content_type=content_type, **bearer(user))
    body = _error(r, 400, "core.bad_multipart")
    assert "表单" in body["message"]
    r = client().post(API + "me/applications/1/materials", NO_BOUNDARY, content_type=content_type,
                      HTTP_ACCEPT_LANGUAGE="en", **bearer(user))
    assert "multipart" in _error(r, 400, "core.bad_multipart")["message"]


def test_violation_import_without_a_boundary_is_400():
    r = client().post(API + "staff/violations/import", NO_BOUNDARY, content_type="multipart/form-data",
                      **bearer(staff("clerk")))
    _error(r, 400, "core.bad_multipart")


def test_a_truncated_multipart_body_is_4xx():
    body = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nabc"
    r = client().post(API + "staff/violations/import", body, content_type="multipart/form-data; boundary=x",
                      **bearer(staff("clerk")))
    assert 400 <= r.status_code < 500, r.content


def test_too_many_fields_is_400():
    query = "&".join(f"f{i}=1" for i in range(1500))  # beyond DATA_UPLOAD_MAX_NUMBER_FIELDS (1000)
    r = client().post(API + "staff/violations/import?x=1", query, content_type="application/x-www-form-urlencoded",
                      **bearer(staff("clerk")))
    _error(r, 400, "core.bad_request")


@pytest.mark.parametrize("url_name", ["console", "portal"])
def test_the_upload_pages_answer_a_malformed_multipart_body_with_400(url_name):
    """Django's own handling of the HTML forms: 400 (Bad Request), never a 500 — with and without CSRF checks."""
    if url_name == "console":
        user, url = staff("clerk"), "/console/violations/import/"
    else:
        user, url = citizen(), "/me/violations/disputes/new/"
    for enforce in (False, True):
        c = Client(enforce_csrf_checks=enforce, raise_request_exception=False)
        c.force_login(user)
        if enforce:
            c.get(url)  # sets the CSRF cookie, as a browser that opened the form has it
        r = c.post(url, NO_BOUNDARY, content_type="multipart/form-data")
        assert r.status_code == 400, (url, enforce, r.status_code)


# --- unbounded dates and integers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01", "since=1899-12-31", "until=2101-01-01",
                                   "since=2026-02-30", "until=10000-01-01"])
def test_statistics_dates_out_of_range_are_422(query):
    r = client().get(API + f"staff/application-statistics?{query}", **bearer(staff("approver")))
    body = _error(r, 422, "core.invalid_input")
    assert set(body["fields"]) <= {"since", "until"}


def test_statistics_dates_at_the_bounds_are_answered():
    h = bearer(staff("approver"))
    r = client().get(API + f"staff/application-statistics?since={MIN_DAY}&until={MAX_DAY}", **h)
    assert r.status_code == 200, r.content


@pytest.mark.parametrize("person_id", ["-9452374010957485839817686122496", "9452374010957485839817686122496",
                                       str(2**63), "0", "-1"])
def test_ids_beyond_the_database_range_are_422(person_id):
    r = client().get(API + f"staff/exam-permits?person_id={person_id}", **bearer(staff("clerk")))
    body = _error(r, 422, "core.invalid_input")
    assert "person_id" in body["fields"]
    r = client().get(API + f"staff/exam-permits?person_id={person_id}", HTTP_ACCEPT_LANGUAGE="en",
                     **bearer(staff("clerk")))
    assert _error(r, 422)["fields"]["person_id"]


def test_the_largest_id_is_a_plain_not_found():
    r = client().get(API + f"staff/exam-permits?person_id={2**63 - 1}", **bearer(staff("clerk")))
    assert r.status_code in (200, 404), r.content


@pytest.mark.parametrize("path", [f"me/applications/{2**64}", f"me/violations/{2**70}",
                                  f"me/plates/selections/{10**30}"])
def test_path_ids_beyond_64_bits_are_4xx(path):
    r = client().get(API + path, **bearer(citizen()))
    assert r.status_code in (404, 422), (path, r.status_code, r.content)


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
                                       "1899-12-31T23:00:00+08:00"])
def test_date_times_out_of_range_in_a_body_are_422(starts_at):
    payload = {"venue_id": 1, "subject": "k1", "starts_at": starts_at, "seats": 10}
    r = client().post(API + "staff/exam-sessions", payload, content_type="application/json",
                      **bearer(staff("approver")))
    body = _error(r, 422, "core.invalid_input")
    assert "starts_at" in body["fields"]


def test_counts_beyond_32_bits_in_a_body_are_422():
    payload = {"venue_id": 1, "subject": "k1", "starts_at": "2030-01-01T09:00:00+08:00", "seats": 2**40,
               "duration_minutes": -(2**40)}
    r = client().post(API + "staff/exam-sessions", payload, content_type="application/json",
                      **bearer(staff("approver")))
    body = _error(r, 422, "core.invalid_input")
    assert {"seats", "duration_minutes"} <= set(body["fields"])


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(since=st.dates(), until=st.dates())
def test_any_date_pair_is_never_a_500(since, until):
    r = client().get(API + f"staff/application-statistics?since={since}&until={until}",
                     **bearer(staff("auditor")))
    assert r.status_code in (200, 422), r.content


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.integers(), st.integers(min_value=-(2**200), max_value=2**200)))
def test_any_integer_id_is_never_a_500(value):
    r = client().get(API + f"staff/exam-permits?person_id={value}", **bearer(staff("clerk")))
    assert r.status_code in (200, 404, 422), r.content


# --- the class, for every operation ----------------------------------------------------------------------------------

def _unbounded(tp, metadata, where):
    """Every int / date / datetime inside ``tp`` that has no lower and upper bound (or date-time check)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(tp)
        yield from _unbounded(inner, [*metadata, *extra], where)
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            yield from _unbounded(field.annotation, field.metadata, f"{where}.{name}")
        return
    if tp in (int, dt.date):
        lower = any(isinstance(m, (at.Ge, at.Gt)) for m in metadata)
        upper = any(isinstance(m, (at.Le, at.Lt)) for m in metadata)
        if not (lower and upper):
            yield where
        return
    if tp is dt.datetime:
        if not metadata:
            yield where
        return
    for arg in typing.get_args(tp):
        yield from _unbounded(arg, [], where)


def test_every_api_input_is_bounded():
    """Every int, date and date-time that any operation reads (path, query, body, nested, list items) has bounds:
    the class of 'a number or date the database or Python cannot hold' is closed for operations added later too."""
    missing = []
    for path, operation in api_operations(api):
        for model in operation.models:
            for where in _unbounded(model, [], f"{operation.methods[0]} {path} {model.__name__}"):
                missing.append(where)
    assert not missing, missing


def test_default_bounds_are_documented_in_the_openapi_schema():
    schema = api.get_openapi_schema()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/staff/exam-permits"]["get"]["parameters"]}
    assert params["person_id"]["minimum"] == 1 and params["person_id"]["maximum"] == 2**63 - 1
    queue = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/staff/applications"]["get"]["parameters"]}
    assert queue["limit"]["minimum"] == INT_MIN and queue["limit"]["maximum"] == INT_MAX


def test_every_operation_documents_the_api_errors():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            documented = {int(code) for code in operation["responses"] if str(code).isdigit()}
            assert {400, 401, 403, 404, 413, 422, 429} <= documented, (method, path, sorted(documented))
    assert {413, 422, 423} <= ERROR_STATUSES


@pytest.mark.parametrize("path", ["staff/applications?service=%00", "staff/applications?queue=a%00b",
                                  "inspection-marks/verify?number=%00&token=%00", "eastern/areas/%00/days/2030-01-01"])
def test_nul_in_a_query_or_path_string_is_never_a_500(path):
    """PostgreSQL refuses NUL in text; a string that reaches a lookup must be refused (or not match) first."""
    r = client().get(API + path, **bearer(staff("approver")))
    assert 400 <= r.status_code < 500, (path, r.status_code, r.content[:200])
