"""外地车每月1天通行证 (DOMAIN §6): non-local plates only, a working day from tomorrow to the end of next month,
once per plate per calendar month, auto-approved with the e-permit."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import InvalidInput
from tests.applications.services.support import citizen, credential_of, draft_with, fields_of, reasons, submit

pytestmark = pytest.mark.django_db
S = Application.Status


def form(**over) -> dict:
    data = {"plate": "湘A12345", "travel_date": "2026-12-02", "small_car": "on"}
    data.update(over)
    return data


def test_declaration():
    service = catalogue().get("nonlocal_pass")
    assert service.workflow.auto_approve is not None and service.applicants == ("citizen",)
    out = next(o for o in service.outputs if o.name == "nonlocal_pass.e_permit")
    assert out.params["windows"] == ["07:00-09:00", "17:30-19:30"]  # restricted hours as data
    f = service.field("travel_date")
    assert (f.min, f.max) == ("today+1", "end_of_next_month")


def test_auto_approved_with_the_e_permit(workday):
    user = citizen()
    app = submit(user, "nonlocal_pass", form())
    assert app.status == S.APPROVED and app.auto_decided and not app.post_review_pending
    c = credential_of(app, "nonlocal_pass.e_permit")
    assert c.kind == "nonlocal_pass" and c.valid_from == c.valid_until == dt.date(2026, 12, 2)
    f = fields_of(c)
    assert f["号牌号码"] == "湘A12345" and f["通行日期"] == "2026-12-02"
    assert f["限行时段内可通行"] == "07:00-09:00、17:30-19:30"


@pytest.mark.parametrize("day, ok", [
    ("2026-11-23", False),  # today (Monday): too early
    ("2026-11-24", True),   # tomorrow
    ("2026-12-31", True),   # the end of next month (a Thursday)
    ("2027-01-04", False),  # after the end of next month
])
def test_date_range_from_tomorrow_to_the_end_of_next_month(workday, day, ok):
    user = citizen()
    app = draft_with(user, "nonlocal_pass", form(travel_date=day))
    if ok:
        assert services.application_submit(user=user, application_id=app.pk).status == S.APPROVED
    else:
        with pytest.raises(InvalidInput) as e:
            services.application_submit(user=user, application_id=app.pk)
        zh, en = e.value.fields["travel_date"]
        assert "日期不能" in zh and "The date may not be" in en
        app.refresh_from_db()
        assert app.status == S.DRAFT


def test_local_plate_and_non_restricted_day_are_refused(workday):
    user = citizen()
    app = draft_with(user, "nonlocal_pass", form(plate="粤B12345", travel_date="2026-11-28"))  # a Saturday
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    got = reasons(e.value)
    assert "本市号牌" in got["nonlocal.local_plate"][0] and "local plate" in got["nonlocal.local_plate"][1]
    assert "不是工作日" in got["nonlocal.not_restricted_day"][0]
    assert "not a working day" in got["nonlocal.not_restricted_day"][1]
    # another Guangdong city is non-local in Shenzhen
    app = submit(user, "nonlocal_pass", form(plate="粤A12345"))
    assert app.status == S.APPROVED


def test_the_small_car_declaration_must_be_ticked(workday):
    user = citizen()
    app = draft_with(user, "nonlocal_pass", form(small_car=""))
    with pytest.raises(InvalidInput) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert "small_car" in e.value.fields


def test_once_per_plate_per_calendar_month(workday):
    first, second = citizen(), citizen()
    submit(first, "nonlocal_pass", form(travel_date="2026-12-02"))
    app = draft_with(second, "nonlocal_pass", form(travel_date="2026-12-15"))  # same plate, someone else
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=second, application_id=app.pk)
    zh, en = reasons(e.value)["nonlocal.once_a_month"]
    assert "2026年12月" in zh and "December 2026" in en and "one per month" in en
    # another month, or another plate, is fine
    assert submit(second, "nonlocal_pass", form(travel_date="2026-11-30")).status == S.APPROVED
    assert submit(second, "nonlocal_pass", form(plate="湘A54321", travel_date="2026-12-15")).status == S.APPROVED
    # drafts do not count
    draft_with(first, "nonlocal_pass", form(plate="赣B11111", travel_date="2026-12-03"))
    assert submit(second, "nonlocal_pass", form(plate="赣B11111", travel_date="2026-12-04")).status == S.APPROVED
