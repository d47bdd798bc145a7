"""One "check without submitting" (applications.selectors.submission_check): the portal's 核对信息 page, the API's
``GET me/applications/{id}/check`` and the submission itself give the same answer for the same draft. (The
console has no such moment: staff never see a draft, and never submit one.)"""
import json

import pytest

from jiaoguan.applications import selectors, services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.core.errors import InvalidInput
from jiaoguan.core.i18n import bi
from jiaoguan.identity import services as identity
from tests.applications.support import citizen, draft, sample_data

pytestmark = pytest.mark.django_db


def _api(client, user, app_id) -> dict:
    r = client.get(f"/api/v1/me/applications/{app_id}/check",
                   HTTP_AUTHORIZATION=f"Bearer {identity.token_issue(user=user)}")
    assert r.status_code == 200, r.content
    return r.json()


def _page(client, user, app_id):
    client.force_login(user)
    r = client.get(f"/services/mine/{app_id}/check/")
    assert r.status_code == 200
    return r.context


def _submit_refusal(user, app_id) -> InvalidInput | None:
    try:
        services.application_submit(user=user, application_id=app_id)
    except InvalidInput as exc:
        return exc
    return None


def test_form_problems_are_the_same_everywhere(client, workday):
    user = citizen()
    app = draft(user, data=sample_data(plate="粤B", trips=""), route_map=False)
    check = selectors.submission_check(app=app, service=catalogue().get("sample"), user=user, lenient=True)
    assert set(check.errors) >= {"plate", "trips", "route_map"} and not check.refusals

    api = _api(client, user, app.pk)
    assert api["ready"] is False and api["refusals"] == []
    assert {k: (v["zh"], v["en"]) for k, v in api["errors"].items()} == check.errors

    page = _page(client, user, app.pk)
    assert [str(e) for e in page["errors"]] == [str(bi(zh, en)) for zh, en in check.errors.values()]

    refused = _submit_refusal(user, app.pk)
    assert refused is not None and refused.code == "applications.form_invalid" and refused.fields == check.errors


def test_eligibility_refusals_are_the_same_everywhere(client, workday):
    user = citizen()
    app = draft(user)
    user.real_name_verified_at = None
    user.save(update_fields=["real_name_verified_at"])
    check = selectors.submission_check(app=app, service=catalogue().get("sample"), user=user, lenient=True)
    assert not check.errors and "account.not_verified" in [r.code for r in check.refusals]

    api = _api(client, user, app.pk)
    assert api["ready"] is False and api["errors"] == {}
    assert api["refusals"] == [r.as_dict() for r in check.refusals]

    page = _page(client, user, app.pk)
    assert [str(r) for r in page["refusals"]] == [str(bi(r.zh, r.en)) for r in check.refusals]

    refused = _submit_refusal(user, app.pk)
    assert isinstance(refused, services.Ineligible) and refused.reasons == check.refusals


def test_a_complete_draft_is_ready_everywhere(client, workday):
    user = citizen()
    app = draft(user)
    assert _api(client, user, app.pk) == {"ready": True, "errors": {}, "refusals": [], "unknown": []}
    page = _page(client, user, app.pk)
    assert page["errors"] == [] and page["refusals"] == []
    assert services.application_submit(user=user, application_id=app.pk).status == "submitted"


def test_someone_elses_draft_is_not_checked(client, workday):
    app = draft(citizen())
    other = citizen()
    r = client.get(f"/api/v1/me/applications/{app.pk}/check",
                   HTTP_AUTHORIZATION=f"Bearer {identity.token_issue(user=other)}")
    assert r.status_code == 404 and json.loads(r.content)["code"] == "core.not_found"
