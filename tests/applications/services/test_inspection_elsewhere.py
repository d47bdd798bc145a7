"""异地检验: a test passed at another city's station, recorded online with its report, moves the due date on once
approved; a date too early or in the future is refused by the same rule the city's stations follow."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules
from tests.applications.services.support import approve_standard, citizen, reasons, submit
from tests.applications.support import PDF
from tests.factories import make_policy, make_vehicle

pytestmark = pytest.mark.django_db
S = Application.Status


def form(car, inspected_on, **over):
    return {"plate": car.plate, "city": "湖南省长沙市", "station": "长沙市某机动车检测有限公司",
            "inspected_on": inspected_on.isoformat(), "report_number": "HN2026120100123", **over}


def owner_with_car(due_in_days: int):
    user = citizen()
    car = make_vehicle(owner=user.person, registered=clock.today() - dt.timedelta(days=7 * 365),
                       inspection_due=clock.today() + dt.timedelta(days=due_in_days))
    make_policy(vehicle=car)
    return user, car


def test_recorded_and_the_due_date_moves_on(workday):
    user, car = owner_with_car(20)
    before = car.inspection_due
    app = approve_standard(submit(user, "inspection_elsewhere", form(car, clock.today() - dt.timedelta(days=2)),
                                  {"report": PDF}))
    assert app.status == S.APPROVED
    car.refresh_from_db()
    assert car.inspection_due > before and car.last_inspection_date == clock.today() - dt.timedelta(days=2)
    assert app.outcome["inspection_elsewhere.registry"]["previous_due"] == before.isoformat()
    assert AuditEntry.objects.filter(action="vehicle.inspect", object_id=str(car.pk)).count() == 1


def test_a_test_more_than_three_months_early_is_refused(workday):
    user, car = owner_with_car(200)
    with pytest.raises(Ineligible) as exc:
        submit(user, "inspection_elsewhere", form(car, clock.today()), {"report": PDF})
    assert "inspection.too_early" in reasons(exc.value)


@given(due_offset=st.integers(-400, 400), inspected_offset=st.integers(-400, 30))
def test_the_date_rule(due_offset, inspected_offset):
    on = dt.date(2026, 12, 8)
    due, inspected = on + dt.timedelta(days=due_offset), on + dt.timedelta(days=inspected_offset)
    refusal = rules.inspection_date_refusal(due=due, inspected_on=inspected, on=on)
    assert (refusal is None) == (inspected <= on and (due - inspected).days <= 90)
