"""认领 and 强制释放 are offered on the console exactly when application_claim / application_release accept
(applications.rules claim_block / release_block, through the selectors both use), and the page says why not."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications import rules, selectors, services
from jiaoguan.applications.catalogue import CATALOGUE_DIR, catalogue_load, catalogue_use
from jiaoguan.applications.models import Application
from jiaoguan.core.errors import DomainError
from tests.applications.support import TEST_CATALOGUE, accepted, actor, staff, submitted
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db
BASE = "/console/applications/"


@pytest.fixture(autouse=True)
def test_catalogue():
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE)) as cat:
        yield cat


@pytest.fixture(autouse=True)
def workday(clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    return clock


def _app(state: str, clerk):
    if state == "submitted":
        return submitted(service="t_standard")
    app = accepted(clerk, service="t_standard")
    if state == "approved":
        services.application_act(application_id=app.pk, action="approve", actor=actor(staff("approver")),
                                 comment="同意")
    return Application.objects.get(pk=app.pk)


def _code(call) -> str | None:
    try:
        call()
    except DomainError as exc:
        return exc.code
    return None


@pytest.mark.parametrize("state", ["submitted", "under_review", "approved"])
@pytest.mark.parametrize("role", ["clerk", "approver", "admin"])
@pytest.mark.parametrize("holder", ["nobody", "me", "other"])
def test_claim_offered_iff_application_claim_accepts(state, role, holder, client):
    app = _app(state, staff("clerk"))
    me = staff(role)
    if holder != "nobody" and app.status != "approved":
        Application.objects.filter(pk=app.pk).update(claimed_by=me if holder == "me" else staff(role))
    app.refresh_from_db()
    block = selectors.claim_block(application=app, actor=actor(me))
    client.force_login(me)
    page = client.get(f"{BASE}{app.pk}/").content.decode()
    shown = f'action="{BASE}{app.pk}/claim/"' in page
    got = _code(lambda: services.application_claim(application_id=app.pk, actor=actor(me)))
    assert shown == (block is None)
    assert got == (None if block in (None, "applications.claimed_by_you") else block)
    if block is None:
        assert Application.objects.get(pk=app.pk).claimed_by_id == me.pk


@pytest.mark.parametrize("role", ["clerk", "approver"])
@pytest.mark.parametrize("holder", ["nobody", "me", "other"])
def test_force_release_offered_iff_application_release_accepts(role, holder, client):
    app = submitted(service="t_standard")
    me, other = staff(role), staff("clerk")
    if holder != "nobody":
        Application.objects.filter(pk=app.pk).update(claimed_by=me if holder == "me" else other)
    app.refresh_from_db()
    client.force_login(me)
    r = client.get(f"{BASE}{app.pk}/")
    block = selectors.release_block(application=app, actor=actor(me), force=True)
    got = _code(lambda: services.application_release(application_id=app.pk, actor=actor(me), force=True))
    if holder == "other":
        assert r.context["can_force_release"] == (block is None) == (got is None) == (role == "approver")
        if block is None:
            assert Application.objects.get(pk=app.pk).claimed_by_id is None
    else:
        assert not r.context["can_force_release"] and got is None


def test_the_page_says_why_there_is_no_claim_or_force_release(client):
    clerk = staff("clerk")
    app = submitted(service="t_standard")
    client.force_login(staff("admin"))  # sees applications, takes no step of them
    r = client.get(f"{BASE}{app.pk}/")
    assert f'action="{BASE}{app.pk}/claim/"' not in r.content.decode()
    assert "不能认领：该申请当前的环节不属于您的岗位" in text(r)
    assert "not for your role" in text(client.get(f"{BASE}{app.pk}/", **EN))
    done = _app("approved", clerk)
    client.force_login(staff("clerk"))
    r = client.get(f"{BASE}{done.pk}/")
    assert f'action="{BASE}{done.pk}/claim/"' not in r.content.decode() and "该申请当前状态无需办理" in text(r)
    other = submitted(service="t_standard")
    services.application_claim(application_id=other.pk, actor=actor(clerk))
    r = client.get(f"{BASE}{other.pk}/")
    assert "强制释放认领" not in text(r) and "只有审批人员可以强制释放他人的认领" in text(r)
    assert "Only an approver can release" in text(client.get(f"{BASE}{other.pk}/", **EN))


@given(roles=st.lists(st.frozensets(st.sampled_from(["clerk", "approver", "admin"])), max_size=3),
       role=st.sampled_from(["clerk", "approver", "system", "auditor"]), own=st.booleans(),
       holder=st.sampled_from([None, 1, 2]), force=st.booleans(), may_force=st.booleans())
def test_rules_pure(roles, role, own, holder, force, may_force):
    block = rules.claim_block(workable_roles=roles, role=role, own=own, holder_id=holder, actor_id=1)
    may = bool(roles) and any(role == "system" or role in r for r in roles)
    assert (block is None) == (may and not own and holder is None)
    assert block is None or block == "applications.claimed_by_you" or block in rules.CLAIM_TEXTS
    rel = rules.release_block(holder_id=holder, actor_id=1, force=force, may_force=may_force)
    assert (rel is None) == (holder == 1 or (holder == 2 and force and may_force))
