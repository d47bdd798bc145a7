"""提交身体条件证明 (drivers aged 70 and over, DOMAIN §3): after each scoring cycle the holder reports the hospital's
health check online; it is decided at once and recorded for the cycle; it can be postponed within its period; the
licence card says when it is due and when it is overdue."""
import datetime as dt

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules
from jiaoguan.registry.models import DrivingLicence, Person
from tests.applications.services.support import approve_standard, hospital_check, reasons, submit
from tests.applications.support import PDF, citizen
from tests.portal.support import text

pytestmark = pytest.mark.django_db
S = Application.Status


def senior(*, birth=dt.date(1950, 3, 1), ended_days_ago=5, health=True):
    """A holder born ``birth`` whose licence's last scoring cycle ended ``ended_days_ago`` days ago."""
    user = citizen()
    Person.objects.filter(pk=user.person_id).update(birth_date=birth)
    first = rules.add_years(clock.today() - dt.timedelta(days=ended_days_ago - 1), -20)
    DrivingLicence.objects.filter(person=user.person).update(first_issue_date=first, valid_from=first,
                                                              valid_until=None, validity="long")
    user.person.refresh_from_db()
    if health:
        hospital_check(user.person)
    licence = DrivingLicence.objects.get(person=user.person)
    return user, licence, rules.review_cycle(first, clock.today())[1]


def page(user) -> str:
    client = Client()
    client.force_login(user)
    return text(client.get("/me/"))


def test_reported_at_once_for_the_cycle(workday):
    user, licence, end = senior()
    assert "请在 " + f"{end + dt.timedelta(days=30):%Y-%m-%d}" + " 前到定点医院体检后网上提交" in page(user)
    app = submit(user, "licence_health_report", {}, {})
    assert app.status == S.APPROVED and app.fee_lines == []
    assert app.outcome["licence_health_report.registry"] == {"cycle_end": end.isoformat(), "overdue": False}
    licence.refresh_from_db()
    assert licence.health_reported_through == end
    assert AuditEntry.objects.filter(action="licence.health_report", object_id=str(licence.pk)).count() == 1
    assert "到定点医院体检后网上提交" not in page(user)
    with pytest.raises(Ineligible) as exc:
        submit(user, "licence_health_report", {}, {})
    assert "licence.health_report_not_due" in reasons(exc.value)


def test_under_70_or_without_the_hospitals_record(workday):
    user, _licence, _end = senior(birth=dt.date(1960, 3, 1))
    with pytest.raises(Ineligible) as exc:
        submit(user, "licence_health_report", {}, {})
    assert "licence.health_report_not_due" in reasons(exc.value)
    user, _licence, _end = senior(health=False)
    with pytest.raises(Ineligible) as exc:
        submit(user, "licence_health_report", {}, {})
    assert any("health_check" in code for code in reasons(exc.value)), reasons(exc.value)


def test_overdue_is_said_and_still_reportable(workday):
    user, licence, end = senior(ended_days_ago=45)
    assert "逾期未提交身体条件证明" in page(user)
    app = submit(user, "licence_health_report", {}, {})
    assert app.outcome["licence_health_report.registry"]["overdue"] is True


def test_postponed_within_its_period(workday):
    user, licence, end = senior(health=False)
    until = end + dt.timedelta(days=300)
    app = approve_standard(submit(user, "licence_postponement",
                                  {"matter": "health", "reason": "abroad", "until": until.isoformat()},
                                  {"evidence": PDF}))
    assert app.outcome["licence_postponement.registry"]["health_postponed_until"] == until.isoformat()
    licence.refresh_from_db()
    assert licence.health_postponed_until == until
    assert f"已批准延期提交身体条件证明至 {until:%Y-%m-%d}" in page(user)
    late, _licence, late_end = senior(ended_days_ago=45, health=False)
    too_far = rules.add_years(late_end + dt.timedelta(days=30), 3) + dt.timedelta(days=1)
    with pytest.raises(Ineligible) as exc:  # late is allowed; more than three years is not
        submit(late, "licence_postponement", {"matter": "health", "reason": "abroad", "until": too_far.isoformat()},
               {"evidence": PDF})
    assert "licence.postpone_date" in reasons(exc.value)


@given(birth=st.dates(dt.date(1940, 1, 1), dt.date(1965, 12, 31)),
       first=st.dates(dt.date(1990, 1, 1), dt.date(2020, 12, 31)), days=st.integers(0, 6000),
       reported=st.sampled_from(["none", "old", "this"]))
def test_the_health_report_rule(birth, first, days, reported):
    on = first + dt.timedelta(days=days)
    cycle = rules.review_cycle(first, on)
    through = {"none": None, "old": first - dt.timedelta(days=1), "this": cycle[1] if cycle else None}[reported]
    due = rules.health_report_due(birth_date=birth, first_issue_date=first, on=on, reported_through=through)
    expected = (cycle is not None and rules.age_on(birth, cycle[1]) >= 70
                and (through is None or through < cycle[1]))
    assert (due is not None) == expected
    if due is not None:
        assert due.deadline == due.cycle_end + dt.timedelta(days=30) and due.cycle_end < on


@pytest.mark.parametrize("local_time", ["00:30", "23:59"])
def test_the_deadline_is_a_beijing_day(local_time, clock):
    """The cycle ended on 7 November: the report was due by 7 December (Beijing date); on 8 December it is overdue at
    00:30 as at 23:59."""
    hour, minute = map(int, local_time.split(":"))
    clock.freeze(clock.local_datetime(dt.date(2026, 12, 8), dt.time(hour, minute)))
    due = rules.health_report_due(birth_date=dt.date(1950, 1, 1), first_issue_date=dt.date(2005, 11, 8),
                                  on=clock.today(), reported_through=None)
    assert due is not None and due.cycle_end == dt.date(2026, 11, 7)
    assert due.deadline == dt.date(2026, 12, 7)
    assert due.overdue(clock.today()) and not due.overdue(dt.date(2026, 12, 7))


def test_the_demo_senior_owes_the_report(clock):
    """demo_city's "senior" (README) can walk the journey: aged 75, the last cycle's report owed (a week late)."""
    from jiaoguan.registry import selectors as registry_selectors
    from jiaoguan.registry.demo import generate_city

    clock.freeze(dt.datetime(2026, 11, 21, 9, 0))
    city = generate_city(persons=20, seed=5)
    licence = registry_selectors.licence_for_person(person=city.showcase["senior"])
    owed = registry_selectors.health_report_owed(licence=licence)
    assert owed is not None and owed.overdue(clock.today())
    assert registry_selectors.licence_summary(licence=licence).health_report_overdue
