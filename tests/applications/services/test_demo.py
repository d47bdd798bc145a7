"""applications.demo: the hospital partner, health checks, the demo enterprise and its truck, and one application
of each kind for the console's queues; a second run adds nothing."""
import pytest

from jiaoguan.applications.demo import demo_applications
from jiaoguan.applications.models import Application
from jiaoguan.registry.models import HealthCheck, Partner
from tests.factories import make_licence, make_person

pytestmark = pytest.mark.django_db


def test_demo_applications(workday):
    from jiaoguan.identity.models import User

    person = make_person(name="李建华", phone="13800138000")
    make_licence(person=person)
    User.objects.create_user(username="demo_citizen", role="citizen", person=person, phone="13800138000",
                             real_name_verified_at=workday.now())
    result = demo_applications(now=workday.now())
    assert result.hospital_secret and result.health_checks == 1  # the expired showcase driver is absent here
    assert HealthCheck.objects.filter(person=person).count() == 1
    by_service = {a.service_code: a.status for a in Application.objects.all()}
    assert by_service["truck_pass"] in ("submitted", "approved") and by_service["parking_licence"] == "submitted"
    # the demo citizen's renewal waits for its ¥10 card fee (the fee journey); the relief advance for staff
    assert by_service["licence_renewal"] == "awaiting_payment" and by_service["relief_fund"] == "submitted"
    assert by_service["nonlocal_pass"] == "approved"
    assert Application.objects.filter(service_code="truck_pass", post_review_pending=True).count() == 1
    assert Application.objects.filter(service_code="truck_pass", status="submitted").count() == 1
    # the README's 增驾 journey: the demo citizen (C1) may add B2 — the hospital's check meets its conditions
    from jiaoguan.applications.plugins.licence_add_class import refusals
    from jiaoguan.registry.selectors import licence_for_person

    person.refresh_from_db()
    assert refusals(person, licence_for_person(person=person), "B2") == []
    count = Application.objects.count()
    again = demo_applications(now=workday.now())
    assert Application.objects.count() == count and not again.hospital_secret and not again.applications
    assert Partner.objects.filter(kind="hospital").count() == 1
    assert str(again).startswith("hospital pk_")
