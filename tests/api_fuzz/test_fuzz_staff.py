"""Schemathesis over the API's staff paths (/api/v1/staff/…) as the clerk, the approver, the auditor and the
admin: no 5xx, documented statuses (see tests/api_fuzz/support.py)."""
import itertools

import pytest

from tests.api_fuzz.support import STAFF_ROLES, accounts, call_as_each, load_schema

schema = load_schema(r"^/api/v1/staff/")
_turns = itertools.count()


@pytest.fixture
def headers_by_role(db):
    return accounts(STAFF_ROLES)


@schema.parametrize()
def test_no_5xx_and_documented_statuses(case, headers_by_role):
    call_as_each(case, headers_by_role, _turns)
