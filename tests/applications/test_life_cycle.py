"""The application's life cycle is declared once (rules.APPLICATION, a core.states.StateMachine): every staff verb
of the catalogue and every applicant step is one of its edges, the services refuse what it does not allow with
their own codes, and the pages offer what it allows."""
import pytest

from jiaoguan.applications import rules, services
from jiaoguan.applications.catalogue import STATES, VERBS, catalogue
from jiaoguan.core.errors import Conflict
from tests.applications.support import actor, citizen, draft, staff, submitted

pytestmark = pytest.mark.django_db


def test_every_step_is_an_edge_and_every_edge_a_step():
    edges = {(s, t) for s, targets in rules.APPLICATION.table.items() for t in targets}
    stepped = {(s, t) for sources, targets in rules.STEPS.values() for s in sources for t in targets}
    assert edges == stepped and set(rules.APPLICATION.states) == set(STATES)
    assert rules.APPLICATION.terminal == {"refused", "rejected", "withdrawn", "revoked", "lapsed"}
    for verb, (sources, _targets) in VERBS.items():
        assert all(rules.step_allowed(verb, s) for s in sources), verb
    assert not rules.step_allowed("submit", "returned") and rules.step_allowed("resubmit", "returned")
    assert rules.step_allowed("withdraw", "reviewed") and not rules.step_allowed("withdraw", "approved")
    assert rules.editable("draft") and rules.editable("returned") and not rules.editable("submitted")


def test_every_declared_workflow_stays_inside_the_machine(test_catalogue):
    for service in catalogue().services.values():
        for spec in service.workflow.actions.values():
            assert all(rules.APPLICATION.allows(s, spec.to) for s in spec.from_states), (service.code, spec.name)


def test_the_services_keep_their_codes(workday):
    user = citizen()
    app = submitted(user)
    with pytest.raises(Conflict) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert e.value.code == "applications.already_submitted"
    with pytest.raises(Conflict) as e:
        services.application_resubmit(user=user, application_id=app.pk)
    assert e.value.code == "applications.not_returned"
    clerk = staff("clerk")
    services.application_refuse(application_id=app.pk, actor=actor(clerk), comment="材料不全")
    with pytest.raises(Conflict) as e:
        services.application_withdraw(user=user, application_id=app.pk)
    assert e.value.code == "applications.not_withdrawable"
    with pytest.raises(Conflict) as e:
        services.application_accept(application_id=app.pk, actor=actor(clerk))
    assert e.value.code == "applications.state_changed"


def test_the_portal_offers_what_the_machine_allows(client, workday):
    user = citizen()
    app = draft(user)
    client.force_login(user)
    r = client.get(f"/services/mine/{app.pk}/")
    assert r.context["editable"] and r.context["withdrawable"]
    services.application_withdraw(user=user, application_id=app.pk)
    r = client.get(f"/services/mine/{app.pk}/")
    assert not r.context["editable"] and not r.context["withdrawable"]


class _Undo(Exception):
    pass


@pytest.mark.parametrize("role", ["clerk", "approver", "auditor"])
def test_what_the_console_offers_is_what_the_engine_allows(workday, role):
    """selectors.action_block is the engine's own check: for every verb, the service refuses with exactly the
    block's code (or succeeds when there is none), and the console offers the verb unless the block is one the
    engine explains itself."""
    from django.db import transaction

    from jiaoguan.applications import selectors
    from jiaoguan.console.applications.views import VERB_TITLES
    from jiaoguan.core.errors import DomainError

    member = staff(role)
    app = submitted()
    service = catalogue().get(app.service_code)
    offered = selectors.actions_offered(application=app, service=service, actor=actor(member), order=VERB_TITLES)
    for verb in VERB_TITLES:
        block = selectors.action_block(application=app, service=service, verb=verb, actor=actor(member))
        assert (verb in offered) == (block in {None, *selectors.OFFERED_DESPITE}), verb
        try:
            with transaction.atomic():
                services.application_act(application_id=app.pk, action=verb, actor=actor(member),
                                         comment="理由：测试")
                raise _Undo
        except _Undo:
            assert block is None, verb
        except DomainError as exc:
            assert exc.code == block, (verb, exc.code, block)
