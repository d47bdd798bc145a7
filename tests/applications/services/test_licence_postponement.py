"""延期换证 / 延期审验: a holder who cannot renew (or do the review) in time asks online with evidence; staff accept and
approve; the registry moves the renewal deadline (at most three years after the expiry) — the licence is expired but
not cancelled until a year after the new date, and renewing clears the postponement — or the review's deadline."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import DrivingLicence
from tests.applications.services.support import approve_standard, reasons, submit
from tests.applications.support import PDF, citizen

pytestmark = pytest.mark.django_db
S = Application.Status


def holder(valid_until: dt.date):
    user = citizen()
    DrivingLicence.objects.filter(person=user.person).update(valid_until=valid_until)
    return user, DrivingLicence.objects.get(person=user.person)


def apply(user, until: dt.date, reason="abroad", matter="renewal"):
    return submit(user, "licence_postponement", {"matter": matter, "reason": reason, "until": until.isoformat()},
                  {"evidence": PDF})


def test_postponed_approved_recorded_then_cancelled_only_a_year_after_the_new_date(workday):
    today = clock.today()
    user, licence = holder(today + dt.timedelta(days=30))
    until = licence.valid_until + dt.timedelta(days=700)
    app = apply(user, until)
    assert app.status == S.SUBMITTED and app.fee_lines == []  # free
    app = approve_standard(app)
    assert app.status == S.APPROVED and app.outcome["licence_postponement.registry"]["postponed_until"] == until.isoformat()
    licence.refresh_from_db()
    assert licence.postponed_until == until
    assert AuditEntry.objects.filter(action="licence.postpone", object_id=str(licence.pk)).count() == 1
    # valid to the expiry, then expired (no driving) — and not cancelled a year after the expiry
    on = lambda d: rules.effective_status(stored="valid", valid_until=licence.valid_until, on=d,  # noqa: E731
                                          postponed_until=licence.postponed_until)
    assert on(licence.valid_until) == "valid"
    assert on(licence.valid_until + dt.timedelta(days=1)) == "expired"
    assert on(rules.cancellation_date(licence.valid_until)) == "expired"
    assert on(rules.cancellation_date(until) - dt.timedelta(days=1)) == "expired"
    assert on(rules.cancellation_date(until)) == "cancelled"
    # the sweep agrees, the day after the old cancellation date
    counts = registry_services.licences_apply_dates(on=rules.cancellation_date(licence.valid_until) + dt.timedelta(days=1))
    licence.refresh_from_db()
    assert licence.status == "expired" and counts["cancelled"] == 0


def test_renewing_clears_the_postponement(workday):
    today = clock.today()
    user, licence = holder(today + dt.timedelta(days=10))
    approve_standard(apply(user, licence.valid_until + dt.timedelta(days=200)))
    registry_services.licence_renew(licence=licence, actor=Actor.system("test"), reason="换证")
    licence.refresh_from_db()
    assert licence.postponed_until is None and licence.status == "valid"


def test_any_time_of_the_validity(workday):
    """公安部令第162号: asked for while the licence is valid (or within a year after it expired) — a holder who knows
    they will be abroad when it falls due may ask years ahead, not only in the 90 days before expiry."""
    user, licence = holder(clock.today() + dt.timedelta(days=700))
    app = approve_standard(apply(user, licence.valid_until + dt.timedelta(days=30)))
    assert app.status == S.APPROVED


def test_at_most_three_years_after_the_expiry(workday):
    user, licence = holder(clock.today() + dt.timedelta(days=30))
    limit = rules.postponement_limit(licence.valid_until)
    with pytest.raises(Ineligible) as exc:
        apply(user, limit + dt.timedelta(days=1))
    assert "licence.postpone_date" in reasons(exc.value)
    with pytest.raises(Ineligible) as exc:
        apply(user, licence.valid_until)  # not after the expiry
    assert "licence.postpone_date" in reasons(exc.value)
    assert approve_standard(apply(user, limit)).status == S.APPROVED


def test_a_cancelled_or_long_term_licence_cannot_be_postponed(workday):
    user, licence = holder(clock.today() - dt.timedelta(days=400))  # over a year past expiry: cancelled
    with pytest.raises(Ineligible) as exc:
        apply(user, clock.today() + dt.timedelta(days=30))
    assert "licence.status" in reasons(exc.value)
    user2 = citizen()
    DrivingLicence.objects.filter(person=user2.person).update(valid_until=None, validity="long")
    with pytest.raises(Ineligible) as exc:
        apply(user2, clock.today() + dt.timedelta(days=30))
    assert "licence.long_term" in reasons(exc.value)


def test_the_registry_checks_again_on_approval(workday):
    """A licence renewed at a counter after the application was submitted: the approval's output is refused by the
    registry (nothing to postpone any more), so the approval does not go through."""
    user, licence = holder(clock.today() + dt.timedelta(days=30))
    app = apply(user, licence.valid_until + dt.timedelta(days=100))
    registry_services.licence_renew(licence=licence, actor=Actor.system("counter"), reason="窗口换证")
    with pytest.raises(Conflict):
        approve_standard(app)
    app.refresh_from_db()
    licence.refresh_from_db()
    assert app.status != S.APPROVED and licence.postponed_until is None


@given(valid_until=st.dates(dt.date(2020, 1, 1), dt.date(2035, 12, 31)),
       offset=st.integers(-500, 1500), today_offset=st.integers(-120, 500))
def test_the_postponement_rule(valid_until, offset, today_offset):
    today = valid_until + dt.timedelta(days=today_offset)
    until = valid_until + dt.timedelta(days=offset)
    status = rules.effective_status(stored="valid", valid_until=valid_until, on=today)
    refusal = rules.postponement_refusal(valid_until=valid_until, status=status, until=until, on=today)
    allowed = status in ("valid", "expired") and max(valid_until, today) < until <= rules.add_years(valid_until, 3)
    assert (refusal is None) == allowed
    if refusal is None:
        # once postponed, the licence is never cancelled before a year after the new date
        day_before = rules.cancellation_date(until) - dt.timedelta(days=1)
        assert rules.effective_status(stored="valid", valid_until=valid_until, on=day_before,
                                      postponed_until=until) == "expired"


def test_a_postponement_moves_the_restore_deadline_and_the_cancel_for_expiry(workday):
    valid_until, until = dt.date(2025, 1, 1), dt.date(2027, 12, 31)
    assert rules.restore_deadline(valid_until, until) == rules.add_years(rules.cancellation_date(until), 2)
    assert not rules.cancelled_for_expiry_on(valid_until, dt.date(2026, 6, 1), until)
    assert rules.cancelled_for_expiry_on(valid_until, dt.date(2026, 6, 1))


def reviewer(points=3, ended_days_ago=5):
    """A B2 holder (licence valid for years: no renewal to postpone) whose last scoring cycle had points."""
    from jiaoguan.violations.models import PointsAccount

    user, licence = holder(clock.today() + dt.timedelta(days=1000))
    first = rules.add_years(clock.today() - dt.timedelta(days=ended_days_ago - 1), -3)  # its 3rd cycle just ended
    DrivingLicence.objects.filter(pk=licence.pk).update(classes="B2", first_issue_date=first, valid_from=first)
    licence.refresh_from_db()
    start, end = rules.review_cycle(licence.first_issue_date, clock.today())
    PointsAccount.objects.create(licence=licence, cycle_start=start, cycle_end=end, total=points)
    return user, licence, end


def test_a_review_postponed_moves_its_deadline(workday):
    from jiaoguan.applications.plugins.licence_review import review_owed

    user, licence, end = reviewer()
    assert end == clock.today() - dt.timedelta(days=5)
    until = end + dt.timedelta(days=400)
    app = approve_standard(apply(user, until, matter="review"))
    assert app.outcome["licence_postponement.registry"]["review_postponed_until"] == until.isoformat()
    licence.refresh_from_db()
    assert licence.review_postponed_until == until and licence.postponed_until is None
    owed = review_owed(licence)
    assert owed is not None and owed.deadline == until and not owed.overdue(until)
    assert AuditEntry.objects.filter(action="licence.review_postpone", object_id=str(licence.pk)).count() == 1
    from django.test import Client

    from tests.portal.support import text

    client = Client()
    client.force_login(user)
    assert f"已批准延期审验至 {until:%Y-%m-%d}：延期期间不得驾驶机动车" in text(client.get("/me/"))


def test_a_review_postponed_late_and_not_when_none_is_owed(workday):
    user, _licence, _end = reviewer(points=0)
    with pytest.raises(Ineligible) as exc:  # the licence may postpone its renewal, but no review is owed
        apply(user, clock.today() + dt.timedelta(days=100), matter="review")
    assert "licence.review_not_due" in reasons(exc.value)
    user, licence, end = reviewer(ended_days_ago=60)  # the review is 30 days late: still postponable
    until = clock.today() + dt.timedelta(days=90)
    approve_standard(apply(user, until, matter="review"))
    licence.refresh_from_db()
    assert licence.review_postponed_until == until
    with pytest.raises(Ineligible) as exc:  # more than three years after the normal deadline
        apply(user, rules.add_years(end + dt.timedelta(days=30), 3) + dt.timedelta(days=1), matter="review")
    assert "licence.postpone_date" in reasons(exc.value)
@given(end=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)), days=st.integers(0, 60),
       extra=st.integers(-5, 1200), postponed=st.booleans())
def test_the_review_postponement_rule(end, days, extra, postponed):
    on = end + dt.timedelta(days=days)
    due = rules.ReviewDue(rules.add_years(end + dt.timedelta(days=1), -1), end, rules.review_deadline(end))
    until = due.deadline + dt.timedelta(days=extra)
    got = rules.review_postponement_refusal(due=due, until=until, on=on, status="valid")
    limit = rules.add_years(due.deadline, 3)
    assert (got is None) == (max(due.deadline, on) < until <= limit)
    assert rules.review_postponement_refusal(due=due, until=until, on=on, status="suspended")[0] == "licence.status"
    moved = rules.review_deadline(end, until if postponed else None, end)
    assert rules.review_deadline(end, until, end - dt.timedelta(days=365)) == due.deadline  # another cycle's
    assert moved == (max(due.deadline, until) if postponed else due.deadline)
