"""Staff-only notes on a person's record: why a licence has its status, points not yet rolled over."""
import datetime as dt

import pytest

from jiaoguan.registry.models import DrivingLicence
from tests.factories import make_licence, make_person
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db


def test_staff_see_why_a_licence_is_cancelled_and_stale_points(client):
    clerk = staff_user("clerk", "clerk-note")
    person = make_person(name="周八")
    licence = make_licence(person=person, first_issue=dt.date(2015, 3, 1), cycle_points=6)
    DrivingLicence.objects.filter(pk=licence.pk).update(
        status="cancelled", status_reason="probation_full_score", points_cycle_start=dt.date(2020, 3, 1))
    client.force_login(clerk)
    page = client.get(f"/console/persons/{person.pk}/").content.decode()
    assert "民警备注" in page and "实习期内记满12分" in page
    assert "上一记分周期未结转记分" in page
