"""Why a licence was cancelled decides whether it can come back: only one cancelled for not being renewed is restored
(科目一 passed, within two years), and a restoration gives the validity the holder had, not the next step."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict, InvalidInput
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry import rules, selectors, services
from jiaoguan.registry.tasks import licence_expiry_sweep
from tests.factories import make_licence, make_person

pytestmark = pytest.mark.django_db
CLERK = Actor(id=7, label="clerk7", role="clerk")
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))


def lapsed(*, validity: str = "6y", valid_until: dt.date = dt.date(2025, 1, 10), **kwargs):
    """A licence more than a year past its end (cancellation date 2026-01-11)."""
    lic = make_licence(person=make_person(birth=dt.date(1970, 1, 1)), first_issue=dt.date(2013, 1, 10),
                       valid_until=valid_until, **kwargs)
    lic.validity = validity
    lic.valid_from = rules.add_years(valid_until, -rules.VALIDITY_YEARS[validity])
    lic.save()
    return lic


@pytest.mark.parametrize("code", ["probation_full_score", "holder_request", "holder_deceased", "unfit_to_drive",
                                  "other"])
def test_a_licence_cancelled_by_staff_is_not_restored_even_when_its_dates_are_long_past(code):
    lic = lapsed()
    services.licence_cancel(licence=lic, actor=CLERK, reason="民警决定", reason_code=code)
    assert lic.status_reason == code
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert exc.value.code == "registry.licence_not_restorable"
    zh, en = rules.CANCEL_REASONS[code]
    assert zh in exc.value.zh and en.lower() in exc.value.en
    lic.refresh_from_db()
    assert (lic.status, lic.validity, lic.valid_until) == ("cancelled", "6y", dt.date(2025, 1, 10))
    assert not AuditEntry.objects.filter(action__in=("licence.renew", "licence.restore")).exists()


def test_a_cancelled_licence_with_no_recorded_reason_is_not_restored():
    lic = lapsed(status="cancelled")  # e.g. loaded cancelled with no reason
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert exc.value.code == "registry.licence_not_restorable"


def test_the_expiry_sweep_records_the_reason_and_restoration_keeps_the_step(clock):
    clock.freeze(dt.date(2025, 12, 1))
    lic = lapsed(validity="6y")
    licence_expiry_sweep.apply()
    clock.freeze(dt.date(2026, 1, 11))  # more than a year after 2025-01-10
    licence_expiry_sweep.apply()
    lic.refresh_from_db()
    assert (lic.status, lic.status_reason) == ("cancelled", "expiry_over_1_year")
    clock.freeze(TODAY)
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=lic, actor=CLERK)
    assert exc.value.code == "registry.theory_test_required"
    services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True, reason="科目一合格")
    lic.refresh_from_db()
    assert (lic.status, lic.status_reason, lic.validity) == ("valid", "", "6y")
    assert (lic.valid_from, lic.valid_until) == (TODAY, dt.date(2032, 6, 1))
    [row] = AuditEntry.objects.filter(action="licence.restore")
    assert row.old["status"] == "cancelled" and row.old["status_reason"] == "expiry_over_1_year"
    assert row.new["status"] == "valid" and "validity" not in row.new and row.reason == "科目一合格"


def test_a_ten_year_licence_restored_stays_ten_years():
    lic = lapsed(validity="10y", status="cancelled", status_reason="expiry_over_1_year")
    services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert (lic.validity, lic.valid_until) == ("10y", dt.date(2036, 6, 1))


def test_dates_past_the_cancellation_day_before_the_sweep_count_as_expiry():
    lic = lapsed(validity="6y")  # stored valid, the sweep has not run
    assert selectors.licence_summary(licence=lic).status_reason == "expiry_over_1_year"
    services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert (lic.status, lic.validity, lic.valid_from) == ("valid", "6y", TODAY)


def test_the_two_year_window(clock):
    lic = lapsed(status="cancelled", status_reason="expiry_over_1_year")
    deadline = rules.restore_deadline(dt.date(2025, 1, 10))
    assert deadline == dt.date(2028, 1, 11)
    clock.freeze(deadline + dt.timedelta(days=1))
    with pytest.raises(Conflict) as exc:
        services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert exc.value.code == "registry.restore_too_late"
    clock.freeze(deadline)
    services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
    assert lic.status == "valid" and lic.valid_from == deadline


def test_late_renewal_while_expired_still_advances_the_step(clock):
    lic = make_licence(person=make_person(birth=dt.date(1970, 1, 1)), first_issue=dt.date(2014, 1, 10),
                       valid_until=dt.date(2026, 1, 10))
    lic.validity, lic.valid_from = "6y", dt.date(2020, 1, 10)
    lic.save()
    services.licence_renew(licence=lic, actor=CLERK)
    assert (lic.validity, lic.valid_from, lic.valid_until) == ("10y", dt.date(2026, 1, 10), dt.date(2036, 1, 10))
    assert AuditEntry.objects.filter(action="licence.renew").count() == 1


def test_cancel_reason_codes_are_checked():
    lic = make_licence(person=make_person())
    with pytest.raises(InvalidInput) as exc:
        services.licence_cancel(licence=lic, actor=CLERK, reason="x", reason_code="lost")
    assert exc.value.field == "reason_code"
    # expiry is the reason only when the dates say so
    with pytest.raises(InvalidInput) as exc:
        services.licence_cancel(licence=lic, actor=CLERK, reason="x", reason_code="expiry_over_1_year")
    assert exc.value.code == "registry.cancel_reason_dates"
    lic.refresh_from_db()
    assert lic.status == "valid"
    with pytest.raises(InvalidInput) as exc:
        services.licence_set_status(licence=lic, status="suspended", actor=CLERK, reason="x", reason_code="other")
    assert exc.value.field == "reason_code"
    services.licence_set_status(licence=lic, status="cancelled", actor=CLERK, reason="本人申请",
                                reason_code="holder_request")
    assert lic.status_reason == "holder_request"
    s = selectors.licence_summary(licence=lic)
    assert (s.status_reason, s.status_reason_zh, s.status_reason_en) == (
        "holder_request", "本人申请注销", "Cancelled at the holder's request")


def test_restore_paths_of_licence_restore():
    # expired: only with a new current period; cancelled: only the expiry kind, with 科目一 and a new period
    expired = make_licence(person=make_person(), first_issue=dt.date(2014, 1, 10), valid_until=dt.date(2026, 1, 10),
                           status="expired")
    with pytest.raises(Conflict) as exc:
        services.licence_restore(licence=expired, actor=CLERK, reason="x")
    assert exc.value.code == "registry.renewal_required"
    services.licence_restore(licence=expired, actor=CLERK, reason="x",
                             new_period=(dt.date(2026, 1, 10), dt.date(2036, 1, 10), "10y"))
    assert (expired.status, expired.valid_until) == ("valid", dt.date(2036, 1, 10))

    cancelled = lapsed(status="cancelled", status_reason="expiry_over_1_year")
    period = (dt.date(2026, 5, 1), dt.date(2032, 5, 1), "6y")
    with pytest.raises(Conflict) as exc:
        services.licence_restore(licence=cancelled, actor=CLERK, reason="x", new_period=period)
    assert exc.value.code == "registry.theory_test_required"
    with pytest.raises(InvalidInput):  # 7 years is no period
        services.licence_restore(licence=cancelled, actor=CLERK, reason="x", passed_theory_test=True,
                                 new_period=(dt.date(2026, 5, 1), dt.date(2033, 5, 1), "6y"))
    services.licence_restore(licence=cancelled, actor=CLERK, reason="x", passed_theory_test=True, new_period=period)
    assert (cancelled.status, cancelled.status_reason, cancelled.valid_from) == ("valid", "", dt.date(2026, 5, 1))


@given(st.sampled_from(sorted(rules.CANCEL_REASONS)), st.integers(min_value=0, max_value=4 * 365))
@settings(max_examples=40, deadline=None)
def test_only_the_expiry_reason_within_the_window_is_restorable(code, days_after_cancellation):
    from jiaoguan.core import clock as core_clock

    valid_until = dt.date(2022, 1, 10)
    on = rules.cancellation_date(valid_until) + dt.timedelta(days=days_after_cancellation)
    core_clock.freeze(on)
    lic = lapsed(valid_until=valid_until, status="cancelled", status_reason=code)
    ok = code == rules.CANCEL_EXPIRY and on <= rules.restore_deadline(valid_until)
    try:
        services.licence_renew(licence=lic, actor=CLERK, passed_theory_test=True)
        restored = True
    except Conflict:
        restored = False
    assert restored == ok
    lic.refresh_from_db()
    assert lic.status == ("valid" if ok else "cancelled")
    assert lic.validity == "6y"
