"""The API fuzz run (schemathesis over /api/v1/openapi.json, through the WSGI app and the test database).

Every generated request is sent as one of the roles that may call the operation (cycling through them): staff
paths as the clerk, the approver, the auditor and the admin; everything else anonymously, as a citizen and as an
enterprise user. Tokens come from the identity token service for accounts built like the demo city's (a person
with a licence and an insured car; an enterprise with trucks; one account per staff role).

Checks: no 5xx (``not_a_server_error``), documented status codes (``status_code_conformance``) and response bodies
against their schemas (``response_schema_conformance``: every operation declares a typed response, see
tests/api/test_openapi_contract.py). ``JIAOGUAN_FUZZ_RESPONSE_SCHEMAS=0`` leaves the last one out.

Budget: deterministic (the same cases every run, so CI never fails by chance) and small: schemathesis's coverage
phase (boundary and type-mutation cases for every parameter) plus ``FUZZ_EXAMPLES`` random cases per operation.
For a longer, random run: ``JIAOGUAN_FUZZ_EXAMPLES=200 JIAOGUAN_FUZZ_SEED=random pytest tests/api_fuzz``.
"""
from __future__ import annotations

import itertools
import os

import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

CHECK_RESPONSE_SCHEMAS = os.environ.get("JIAOGUAN_FUZZ_RESPONSE_SCHEMAS", "1") != "0"

FUZZ_EXAMPLES = int(os.environ.get("JIAOGUAN_FUZZ_EXAMPLES", "10"))
_SEED = os.environ.get("JIAOGUAN_FUZZ_SEED", "")

CHECKS = [not_a_server_error, status_code_conformance]
if CHECK_RESPONSE_SCHEMAS:
    CHECKS.append(response_schema_conformance)

STAFF_ROLES = ("clerk", "approver", "auditor", "admin")
PUBLIC_ROLES = ("anonymous", "citizen", "enterprise")

# Operations left out of the run, each with its reason. (None today: the payment and carrier callbacks refuse an
# unsigned request with a 4xx, SMS goes to the simulator.)
EXCLUDED: dict[str, str] = {}


def load_schema(path_regex: str):
    config = SchemathesisConfig.from_dict({
        "suppress-health-check": ["all"],
        **({"seed": int(_SEED)} if _SEED.isdigit() else {}),
        "generation": {"max-examples": FUZZ_EXAMPLES, "deterministic": not _SEED,
                       "with-security-parameters": False, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)
    schema = schema.include(path_regex=path_regex)
    for label in EXCLUDED:
        method, path = label.split(" ", 1)
        schema = schema.exclude(method=method, path=path)
    return schema


def accounts(roles: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """role -> request headers (a bearer token from the identity token service; none for anonymous)."""
    from jiaoguan.identity.services import token_issue
    from tests.applications.services.support import enterprise_user, truck
    from tests.applications.support import citizen, staff
    from tests.factories import make_policy, make_vehicle

    out: dict[str, dict[str, str]] = {}
    for role in roles:
        if role == "anonymous":
            out[role] = {}
            continue
        if role == "citizen":
            user = citizen()
            make_policy(vehicle=make_vehicle(owner=user.person))
        elif role == "enterprise":
            user = enterprise_user()
            truck(owner_user=user)
        else:
            user = staff(role)
        out[role] = {"Authorization": f"Bearer {token_issue(user=user, label='fuzz')}"}
    return out


def call_as_each(case, headers_by_role: dict[str, dict[str, str]], counter: itertools.count) -> None:
    """Send ``case`` as the next role in turn and run the checks on the answer."""
    roles = list(headers_by_role)
    role = roles[next(counter) % len(roles)]
    case.call_and_validate(headers=headers_by_role[role], checks=CHECKS)
