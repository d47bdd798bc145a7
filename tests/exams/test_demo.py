"""The demo data the demo_city command builds."""
import pytest

from jiaoguan.core import clock
from jiaoguan.exams import selectors
from jiaoguan.exams.demo import demo_exams
from jiaoguan.exams.models import Permit, Session, Venue
from tests.portal.support import citizen_records

pytestmark = pytest.mark.django_db


def test_demo_exams(monday):
    persons = [citizen_records(licence=False, vehicle=False)[0] for _ in range(4)]
    made = demo_exams(persons=persons, now=clock.now())
    assert made["venues"] == 2 and made["permits"] == 4 and made["sessions"] > 10
    assert Venue.objects.count() == 2 and Permit.objects.count() == 4
    assert selectors.open_sessions(subjects=["1"]) and selectors.open_sessions(subjects=["2"])
    # idempotent
    again = demo_exams(persons=persons, now=clock.now())
    assert again == {"venues": 0, "sessions": 0, "permits": 0} and Session.objects.count() == made["sessions"]
    assert selectors.permit_view(permit=Permit.objects.get(person=persons[2])).next_subjects == ["2", "3"]
