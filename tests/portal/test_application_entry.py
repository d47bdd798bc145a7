"""The entry to an application says who cannot apply before the form (issue 9 §6): a driver whose licence is
valid for life is not asked for an address and a photo only to read "您的驾驶证长期有效" at 核对信息. The entry
page, the start of the form, the API and the submission all ask applications.selectors (entry_check and
submission_check), the engine's one check."""
from __future__ import annotations

import pytest

from jiaoguan.applications import selectors
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from tests.applications.services.support import hospital_check
from tests.applications.support import citizen
from tests.factories import make_licence
from tests.portal.support import text

pytestmark = pytest.mark.django_db

GUIDE = "/services/licence_renewal/"
APPLY = "/services/licence_renewal/apply/"
FORM = 'class="app-form'


@pytest.fixture
def long_term(client):
    user = citizen(licence=False)
    make_licence(person=user.person, valid_until=None)
    hospital_check(user.person)
    client.force_login(user)
    return user


def test_a_long_term_licence_is_told_on_the_guide_that_renewal_is_not_for_it(client, long_term):
    r = client.get(GUIDE)
    body = text(r)
    assert "期满换证" in body and "您的驾驶证长期有效，无需换证" in body
    html = r.content.decode()
    assert f'href="{APPLY}?kind=renew"' not in html  # no way in to the renewal form
    assert f'href="{APPLY}?kind=replace_lost"' in html  # a replacement stays open to a valid licence


def test_the_renewal_entry_refuses_before_the_form(client, long_term):
    r = client.get(f"{APPLY}?kind=renew")
    assert r.status_code == 200
    assert "您的驾驶证长期有效，无需换证" in text(r) and FORM not in r.content.decode()
    r = client.get(f"{APPLY}?kind=replace_lost")
    assert FORM in r.content.decode()
    assert "您的驾驶证长期有效" in text(r)  # the form says which option is closed, and why


def test_posting_a_closed_option_makes_no_draft(client, long_term):
    page = client.get(f"{APPLY}?kind=replace_lost")
    key = page.context["key"]
    r = client.post(APPLY, {"kind": "renew", "address": "广东省深圳市南山区科技园科苑路15号", "go": "save",
                            "idempotency_key": key})
    assert r.status_code == 422 and "您的驾驶证长期有效" in text(r)
    assert not Application.objects.filter(applicant=long_term).exists()


def test_no_licence_no_form(client):
    user = citizen(licence=False)
    client.force_login(user)
    assert "未查询到您的机动车驾驶证" in text(client.get(GUIDE))
    r = client.get(APPLY)
    assert "未查询到您的机动车驾驶证" in text(r) and FORM not in r.content.decode()


def test_a_driver_in_the_window_sees_the_form(client, clock):
    import datetime as dt

    user = citizen(licence=False)
    make_licence(person=user.person, valid_until=clock.today() + dt.timedelta(days=30))
    client.force_login(user)
    assert 'href="/services/licence_renewal/apply/"' in client.get(GUIDE).content.decode()
    assert FORM in client.get(f"{APPLY}?kind=renew").content.decode()


def test_entry_check_is_the_submission_rule(long_term):
    """What the entry says is what the submission refuses: the same registered rules, asked earlier."""
    from jiaoguan.applications import services
    from jiaoguan.applications.services import Ineligible
    from tests.applications.services.support import PNG, draft_with

    service = catalogue().get("licence_renewal")
    entry = selectors.entry_check(user=long_term, service=service)
    assert entry.open and entry.field == "kind"
    assert [r.code for r in entry.closed["renew"]] == ["licence.long_term"]
    assert "replace_lost" not in entry.closed
    app = draft_with(long_term, "licence_renewal", {"kind": "renew", "address": "广东省深圳市南山区科技园科苑路15号"},
                     {"photo": PNG})
    check = selectors.submission_check(app=app, service=service, user=long_term)
    assert [r.code for r in check.refusals] == ["licence.long_term"]
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=long_term, application_id=app.pk)
    assert [r.code for r in e.value.reasons] == ["licence.long_term"]


def test_the_api_answers_before_the_form(client, long_term):
    from jiaoguan.identity import services as identity

    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=long_term)}"}
    d = client.get("/api/v1/services/licence_renewal/eligibility", **h).json()
    assert d["open"] is True and d["field"] == "kind"
    assert [r["code"] for r in d["closed"]["renew"]] == ["licence.long_term"] and "replace_lost" not in d["closed"]
    from django.test import Client

    assert Client().get("/api/v1/services/licence_renewal/eligibility").status_code == 401


def test_without_a_postal_carrier_the_service_sent_by_post_is_not_offered(client, clock, settings):
    """A deployment without postal delivery (no JIAOGUAN_POSTAL_CARRIER) is valid: the service whose result is sent
    by post asks postal.selectors.delivery_available through its eligibility rule, so the guide and the form say
    why it is not offered instead of failing at approval; the submission refuses with the same reason."""
    import datetime as dt

    settings.JIAOGUAN_POSTAL_CARRIER = ""
    user = citizen(licence=False)
    make_licence(person=user.person, valid_until=clock.today() + dt.timedelta(days=30))
    client.force_login(user)
    r = client.get(GUIDE)
    assert r.status_code == 200 and "暂不提供邮寄服务" in text(r)
    assert f'href="{APPLY}' not in r.content.decode()
    r = client.get(f"{APPLY}?kind=renew")
    assert r.status_code == 200 and "暂不提供邮寄服务" in text(r) and FORM not in r.content.decode()
    entry = selectors.entry_check(user=user, service=catalogue().get("licence_renewal"))
    assert "postal.unavailable" in [r.code for r in entry.refusals]
    settings.JIAOGUAN_POSTAL_CARRIER = None  # development default: the simulator, delivery offered
    assert FORM in client.get(f"{APPLY}?kind=renew").content.decode()
