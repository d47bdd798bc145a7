"""One labels module (applications.labels): the API's timeline, the portal's timeline and the console's history
name every step and every role with the same (zh, en) pair."""
import pytest

from jiaoguan.applications import labels, selectors
from jiaoguan.applications.models import ApplicationEvent
from jiaoguan.console.applications import views as console_views
from jiaoguan.core.i18n import zh_en
from jiaoguan.identity import services as identity
from jiaoguan.portal.applications import views as portal_views
from tests.applications.support import accepted, citizen, staff

pytestmark = pytest.mark.django_db


def test_every_recorded_step_has_a_label():
    written = {"draft", "submit", "accept", "refuse", "review", "approve", "reject", "send_back", "resubmit",
               "withdraw", "confirm", "revoke", "claim", "release", "due_soon", "escalate", "delivery"}
    assert written <= set(labels.ACTION_LABELS)
    assert set(labels.VERB_LABELS) <= set(labels.ACTION_LABELS)
    assert {"citizen", "enterprise", "clerk", "approver", "auditor", "admin", "system"} <= set(labels.ROLE_LABELS)
    assert labels.action_label("nope") == ("nope", "nope") and labels.role_label("nope") == ("nope", "nope")


def test_api_portal_and_console_say_the_same(client, workday):
    user = citizen()
    clerk = staff("clerk")
    app = accepted(clerk, user)
    events = selectors.timeline(application=app)
    expected = [(labels.action_label(e.action), labels.role_label(e.actor_role)) for e in events]

    r = client.get(f"/api/v1/me/applications/{app.pk}", HTTP_AUTHORIZATION=f"Bearer {identity.token_issue(user=user)}",
                   HTTP_ACCEPT_LANGUAGE="en")
    api = [(e["label"], e["role"]) for e in r.json()["timeline"]]
    assert api == [(a[1], r_[1]) for a, r_ in expected]

    portal = [(zh_en(row["label"]), zh_en(row["role"])) for row in portal_views._timeline(app)]
    assert portal == expected

    history = {row["e"].pk: row for row in console_views._history(app)}
    public = ApplicationEvent.objects.filter(application=app, public=True).order_by("at", "pk")
    assert [(zh_en(history[e.pk]["label"]), zh_en(history[e.pk]["role"])) for e in public] == expected
