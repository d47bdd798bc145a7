"""Separation of duties, one rule for every step (rules.duty_conflict): a member of staff who performed one level of
an application (受理 accept, 审核 review, 审批 approve) may not perform another level of it, unless the service's
declaration allows that pair (workflow.same_person) — never for a service that pays money out (payout).

The probe (issue 10 item 2): one approver reviewed a ¥15,000 relief-fund application and then approved it."""
from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jiaoguan.applications import rules, selectors, services
from jiaoguan.applications.catalogue import (
    CATALOGUE_DIR,
    LEVEL_OF,
    LEVELS,
    CatalogueError,
    catalogue,
    catalogue_load,
    catalogue_use,
)
from jiaoguan.applications.models import Application
from jiaoguan.core.errors import Forbidden
from jiaoguan.identity import services as identity
from tests.applications.services.support import relief_application, relief_form
from tests.applications.support import PDF, TEST_CATALOGUE, accepted, actor, citizen, staff, submitted

pytestmark = pytest.mark.django_db
S = Application.Status
SOD = "applications.separation_of_duties"

_HEAD = """code = "{code}"
version = "1"
category = "certificates"
applicants = ["citizen"]
time_limit_days = 3
{extra}
name = {{ zh = "测试{code}", en = "Test {code}" }}
summary = {{ zh = "测试。", en = "Test." }}

[guide]
conditions = [{{ zh = "无", en = "None" }}]
process = [{{ zh = "受理、审核、审批", en = "Accept, review, approve" }}]
legal_basis = [{{ zh = "测试", en = "Test" }}]

[[form.fields]]
name = "plate"
type = "plate"
label = {{ zh = "号牌号码", en = "Plate" }}
"""
_BANK = """
[[form.fields]]
name = "bank_account"
type = "bank_account"
label = { zh = "收款账号", en = "Account number" }
"""


def _service_toml(code: str, *, preset: str = "with_review", bank: bool = False, extra: str = "",
                  same_person: str | None = None) -> str:
    text = _HEAD.format(code=code, extra=extra) + (_BANK if bank else "") + f'\n[workflow]\npreset = "{preset}"\n'
    if same_person is not None:
        text += f"same_person = {same_person}\n"
    return text


SERVICES = {
    # money out, inferred from the bank-account field: every level apart
    "t_payout": _service_toml("t_payout", bank=True),
    # no money out: the acceptor may also review (declared), but never approve
    "t_relaxed": _service_toml("t_relaxed", same_person='[["accept", "review"]]'),
}
# What each service lets one person combine (the model the property test checks the engine against).
COMBINABLE = {"t_payout": set(), "t_relaxed": {frozenset({"accept", "review"})}, "t_standard": set(),
              "sample": set()}
DATA = {"plate": "粤BA1234", "bank_account": "6222020200112233445"}


@pytest.fixture
def sod_catalogue(tmp_path):
    for code, text in SERVICES.items():
        (tmp_path / f"{code}.toml").write_text(text, encoding="utf-8")
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE, tmp_path)) as cat:
        yield cat


def _apply(code: str, user=None):
    user = user or citizen()
    data = {k: v for k, v in DATA.items() if k != "bank_account" or code == "t_payout"}
    return submitted(user, code, data)


# --- the declaration ---------------------------------------------------------------------------------------------


def test_relief_fund_is_a_payout_with_three_people():
    service = catalogue().get("relief_fund")
    assert service.payout and service.workflow.same_person == frozenset()
    assert service.workflow.levels() == ("accept", "review", "approve")
    for a, b in itertools.permutations(service.workflow.levels(), 2):
        assert not service.workflow.may_combine(a, b)


def test_payout_is_inferred_from_a_bank_account_and_may_be_declared(sod_catalogue):
    assert catalogue().get("t_payout").payout
    assert not catalogue().get("t_relaxed").payout and not catalogue().get("t_standard").payout


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "svc.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as e:
        catalogue_load(tmp_path)
    return e.value.problems


@pytest.mark.parametrize("kwargs, expected", [
    (dict(bank=True, same_person='[["accept", "review"]]'), "pays money out"),  # inferred payout
    (dict(extra="payout = true", same_person='[["review", "approve"]]'), "pays money out"),  # declared payout
    (dict(same_person='[["accept", "sign"]]'), "unknown level 'sign'"),
    (dict(same_person='[["accept", "accept"]]'), "two different levels"),
    (dict(same_person='["accept"]'), "two different levels"),
    (dict(same_person='"accept"'), "must be a list of pairs"),
    (dict(preset="standard", same_person='[["accept", "review"]]'), "has no 'review' level"),
    (dict(extra='payout = "yes"'), "payout: must be true or false"),
])
def test_inconsistent_separation_declarations_are_refused(tmp_path, kwargs, expected):
    problems = _problems(tmp_path, _service_toml("t_bad", **kwargs))
    assert any(expected in p for p in problems), problems


def test_a_bank_account_form_may_say_it_pays_nothing_out(tmp_path):
    (tmp_path / "svc.toml").write_text(_service_toml("t_refund_info", bank=True, extra="payout = false",
                                                     same_person='[["accept", "review"]]'), encoding="utf-8")
    service = catalogue_load(tmp_path).get("t_refund_info")
    assert not service.payout and service.workflow.may_combine("review", "accept")


# --- the rule alone ---------------------------------------------------------------------------------------------

ACTORS = st.sampled_from([1, 2, 3])
PAIRS = [frozenset(p) for p in itertools.combinations(LEVELS, 2)]


@given(performed=st.fixed_dictionaries({level: st.one_of(st.none(), ACTORS) for level in LEVELS}),
       verb=st.sampled_from(sorted(rules.STEPS)), actor_id=st.one_of(st.none(), ACTORS),
       relaxed=st.sets(st.sampled_from(PAIRS)))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_duty_conflict_is_exactly_the_policy(sod_catalogue, performed, verb, actor_id, relaxed):
    """For any history of who performed which level, any step and any relaxation a service may declare: refused
    iff the actor performed another level the service does not let them combine with this one."""
    import dataclasses

    base = catalogue().get("t_payout")
    service = dataclasses.replace(base, workflow=dataclasses.replace(base.workflow, same_person=frozenset(relaxed)))
    done = rules.duty_conflict(service, verb, actor_id=actor_id, performed=performed)
    level = LEVEL_OF.get(verb)
    blocked = {d for d, who in performed.items()
               if actor_id is not None and level is not None and who == actor_id and d != level
               and frozenset({d, level}) not in relaxed}
    assert (done is not None) == bool(blocked)
    if done is not None:
        assert done in blocked
        refusal = rules.duty_refusal(done, verb)
        assert refusal.code == SOD and "须由不同人员办理" in refusal.zh and "different people" in refusal.en


# --- the engine: every step consults the rule -------------------------------------------------------------------


def test_the_probe_one_approver_reviews_then_approves_a_relief_payout(workday):
    clerk, approver, other = staff("clerk"), staff("approver"), staff("approver")
    app = relief_application()
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    services.application_review(application_id=app.pk, actor=actor(approver), comment="票据齐全")
    for verb in ("approve", "reject"):
        with pytest.raises(Forbidden) as e:
            services.application_act(application_id=app.pk, action=verb, actor=actor(approver), comment="理由")
        assert e.value.code == SOD and e.value.status == 403
        assert "审核与审批须由不同人员办理" in e.value.zh
        assert "Review and approval must be done by different people" in e.value.en
    app.refresh_from_db()
    assert app.status == S.REVIEWED and app.approved_by_id is None and app.decided_at is None
    app = services.application_approve(application_id=app.pk, actor=actor(other))
    assert app.status == S.APPROVED and len({app.accepted_by_id, app.reviewed_by_id, app.approved_by_id}) == 3


def test_the_acceptor_of_a_payout_may_not_review_it(workday):
    both = staff("approver")
    app = relief_application()
    services.application_accept(application_id=app.pk, actor=actor(both))
    with pytest.raises(Forbidden) as e:
        services.application_review(application_id=app.pk, actor=actor(both))
    assert e.value.code == SOD and "受理与审核须由不同人员办理" in e.value.zh
    # send_back decides nothing: the acceptor may still return it for correction
    app = services.application_send_back(application_id=app.pk, actor=actor(both), comment="票据不清晰")
    assert app.status == S.RETURNED


def test_a_declared_pair_may_be_combined_and_no_other(sod_catalogue, workday):
    clerk, approver = staff("approver"), staff("approver")
    app = _apply("t_relaxed")
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    services.application_review(application_id=app.pk, actor=actor(clerk))  # accept + review: declared
    with pytest.raises(Forbidden) as e:
        services.application_approve(application_id=app.pk, actor=actor(clerk))
    assert e.value.code == SOD and "受理与审批" in e.value.zh
    assert services.application_approve(application_id=app.pk, actor=actor(approver)).status == S.APPROVED


def test_the_same_person_resumes_their_own_level_after_a_send_back(sod_catalogue, workday):
    """A send-back and resubmission do not make a level someone else's (the reviewer is still the reviewer), and
    a send-back is no level (whoever sent it back may still approve)."""
    user, clerk, reviewer, approver = citizen(), staff("clerk"), staff("approver"), staff("approver")
    app = _apply("t_payout", user)
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    services.application_review(application_id=app.pk, actor=actor(reviewer))
    services.application_send_back(application_id=app.pk, actor=actor(approver), comment="账号有误")
    assert services.application_resubmit(user=user, application_id=app.pk).status == S.REVIEWED
    with pytest.raises(Forbidden) as e:
        services.application_approve(application_id=app.pk, actor=actor(reviewer))
    assert e.value.code == SOD
    assert services.application_approve(application_id=app.pk, actor=actor(approver)).status == S.APPROVED


FORWARD = ("accept", "review", "approve")


@given(code=st.sampled_from(["t_payout", "t_relaxed", "t_standard", "sample"]),
       steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9)), min_size=1, max_size=10))
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_sequence_of_staff_lets_one_person_hold_two_levels(sod_catalogue, workday, code, steps):
    """Any sequence of staff actors (two clerks, two approvers) taking the application's next step — mostly
    forward (accept, review, approve), sometimes a send-back (the applicant then resubmits), a refusal or a
    rejection: the engine refuses a step with applications.separation_of_duties exactly when the actor already
    performed another level the service keeps apart, and in the end nobody holds two such levels."""
    pool = [staff("clerk"), staff("clerk"), staff("approver"), staff("approver")]
    user = citizen()
    app = _apply(code, user) if code in SERVICES else submitted(user, code)
    service = catalogue().get(code)
    did: dict[int, set[str]] = defaultdict(set)

    def kept_apart(a: str, b: str) -> bool:
        return a != b and frozenset({a, b}) not in COMBINABLE[code]

    for who, roll in steps:
        app.refresh_from_db()
        if app.status == S.RETURNED:
            services.application_resubmit(user=user, application_id=app.pk)
            continue
        workable = rules.actions_workable(service, status=app.status, post_review_pending=app.post_review_pending)
        if not workable:
            break
        forward = [v for v in workable if v in FORWARD]
        others = [v for v in workable if v not in FORWARD]
        verb = forward[0] if forward and (roll < 7 or not others) else others[roll % len(others)]
        member = pool[who]
        level = LEVEL_OF.get(verb)
        conflict = level is not None and any(kept_apart(d, level) for d in did[member.pk])
        try:
            services.application_act(application_id=app.pk, action=verb, actor=actor(member), comment="理由：测试")
        except Forbidden as exc:
            if exc.code == SOD:
                event("refused: separation of duties")
                assert conflict, (verb, member.role, dict(did))
            continue
        assert not conflict, (verb, member.role, dict(did))
        event(f"done: {verb}")
        if level is not None:
            did[member.pk].add(level)
    for levels in did.values():
        assert not any(kept_apart(a, b) for a, b in itertools.combinations(levels, 2)), dict(did)


# --- the queues offer nothing a person may not do -----------------------------------------------------------------


def ids(qs):
    return [a.pk for a in qs]


def test_queues_keep_each_level_from_whoever_did_another(sod_catalogue, workday):
    clerk, reviewer, approver = staff("approver"), staff("approver"), staff("approver")
    payout = _apply("t_payout")
    relaxed = _apply("t_relaxed")
    for app in (payout, relaxed):
        services.application_accept(application_id=app.pk, actor=actor(clerk))
    assert ids(selectors.queue(user=clerk, name="review")) == [relaxed.pk]  # the payout is not the acceptor's
    assert set(ids(selectors.queue(user=reviewer, name="review"))) == {payout.pk, relaxed.pk}
    services.application_review(application_id=payout.pk, actor=actor(reviewer))
    services.application_review(application_id=relaxed.pk, actor=actor(clerk))
    assert ids(selectors.queue(user=reviewer, name="approval")) == [relaxed.pk]  # reviewed the payout
    assert ids(selectors.queue(user=clerk, name="approval")) == []  # accepted both
    assert set(ids(selectors.queue(user=approver, name="approval"))) == {payout.pk, relaxed.pk}
    assert ids(selectors.queue(user=reviewer, name="overdue")) == []


def test_what_is_offered_is_what_the_engine_allows_across_levels(sod_catalogue, workday):
    """selectors.actions_offered never offers a step the rule refuses, and duties_withheld says why."""
    from jiaoguan.console.applications.views import VERB_TITLES

    clerk, reviewer = staff("approver"), staff("approver")
    app = accepted(clerk, service="t_payout", data=DATA)
    service = catalogue().get("t_payout")
    offered = selectors.actions_offered(application=app, service=service, actor=actor(clerk), order=VERB_TITLES)
    assert offered == ["send_back"]
    why = selectors.duties_withheld(application=app, service=service, actor=actor(clerk), order=VERB_TITLES)
    assert [r.code for r in why] == [SOD] and "受理与审核" in why[0].zh
    assert "review" in selectors.actions_offered(application=app, service=service, actor=actor(reviewer),
                                                 order=VERB_TITLES)


# --- the staff API: the probe over HTTP -----------------------------------------------------------------------------


def _auth(user, lang: str | None = None) -> dict:
    h = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=user)}"}
    if lang:
        h["HTTP_ACCEPT_LANGUAGE"] = lang
    return h


def _act(client, app_id: int, action: str, h: dict, comment: str = ""):
    return client.post(f"/api/v1/staff/applications/{app_id}/act", json.dumps({"action": action, "comment": comment}),
                       content_type="application/json", **h)


def test_api_the_same_approver_reviews_then_approves_a_relief_payout(client, workday):
    user, clerk, approver, other = citizen(), staff("clerk"), staff("approver"), staff("approver")
    h = _auth(user)
    r = client.post("/api/v1/me/applications", json.dumps({"service": "relief_fund", "data": relief_form()}),
                    content_type="application/json", **h)
    assert r.status_code == 201, r.content
    app_id = r.json()["id"]
    for slot in ("medical_bills", "relationship_proof"):
        r = client.post(f"/api/v1/me/applications/{app_id}/materials",
                        {"slot": slot, "file": SimpleUploadedFile(f"{slot}.pdf", PDF)}, **h)
        assert r.status_code == 201, r.content
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", HTTP_IDEMPOTENCY_KEY="sod-relief-1", **h)
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.content
    assert _act(client, app_id, "accept", _auth(clerk)).status_code == 200
    r = _act(client, app_id, "review", _auth(approver), "票据齐全")
    assert r.status_code == 200 and r.json()["status"] == "reviewed"
    r = _act(client, app_id, "approve", _auth(approver))
    assert r.status_code == 403 and r.json()["code"] == SOD
    assert "审核与审批须由不同人员办理" in r.json()["message"]
    r = _act(client, app_id, "approve", _auth(approver, "en"))
    assert r.status_code == 403 and "Review and approval must be done by different people" in r.json()["message"]
    r = _act(client, app_id, "reject", _auth(approver, "en"), "no")
    assert r.status_code == 403 and r.json()["code"] == SOD
    assert Application.objects.get(pk=app_id).status == S.REVIEWED
    # nor may the acceptor decide it
    r = _act(client, app_id, "approve", _auth(clerk))
    assert r.status_code == 403
    # a third person approves; the approval queue of the reviewer never listed it
    assert client.get("/api/v1/staff/applications/counts", **_auth(approver)).json()["approval"] == 0
    r = _act(client, app_id, "approve", _auth(other))
    assert r.status_code == 200 and r.json()["status"] == "approved"


# --- the demo: a newcomer walks the relief fund with the three demo staff --------------------------------------


def test_the_demo_staff_can_walk_the_relief_fund_with_three_people(workday):
    from jiaoguan.applications.demo import demo_applications
    from jiaoguan.identity.demo import DEMO_PASSWORD, DEMO_STAFF
    from jiaoguan.identity.models import User
    from jiaoguan.identity.services import staff_bootstrap
    from tests.factories import make_licence, make_person

    person = make_person(name="李建华", phone="13800138000")
    make_licence(person=person)
    User.objects.create_user(username="demo_citizen", role="citizen", person=person, phone="13800138000",
                             real_name_verified_at=workday.now())
    for role, username, display_name, _note in DEMO_STAFF:
        staff_bootstrap(username=username, display_name=display_name, role=role, password=DEMO_PASSWORD,
                        by="demo_city")
    demo_applications(now=workday.now())
    app = Application.objects.get(service_code="relief_fund")
    clerk01, reviewer01, approver01 = (User.objects.get(username=u) for u in ("clerk01", "reviewer01", "approver01"))
    assert ids(selectors.queue(user=clerk01, name="acceptance")).count(app.pk) == 1
    services.application_accept(application_id=app.pk, actor=actor(clerk01))
    assert app.pk in ids(selectors.queue(user=reviewer01, name="review"))
    assert app.pk not in ids(selectors.queue(user=clerk01, name="review"))
    services.application_review(application_id=app.pk, actor=actor(reviewer01))
    assert app.pk in ids(selectors.queue(user=approver01, name="approval"))
    assert services.application_approve(application_id=app.pk, actor=actor(approver01)).status == S.APPROVED
