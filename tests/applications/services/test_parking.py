"""经营性停车场 开办/变更/注销: enterprise applicants only, the reform's materials (business licence held by USCC,
site plan uploaded), 3 working days, the licence e-permit; change replaces it, close revokes it."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import Forbidden, InvalidInput
from tests.applications.services.support import (
    PDF,
    PNG,
    actor,
    approve_standard,
    citizen,
    credential_of,
    draft_with,
    enterprise_user,
    fields_of,
    reasons,
    staff,
    submit,
)
from tests.applications.support import GIF

pytestmark = pytest.mark.django_db
S = Application.Status
UPLOADS = {"site_plan": PDF, "site_right": PNG}


def open_form(**over) -> dict:
    data = {"action": "open", "lot_name": "福田中心停车场", "lot_address": "深圳市福田区福华一路1号地下一层",
            "spaces": "200", "charging_points": "40", "opening_date": "2026-12-01", "contact_phone": "13912345678"}
    data.update(over)
    return data


def opened(company):
    app = approve_standard(submit(company, "parking_licence", open_form(), UPLOADS))
    return app, credential_of(app, "parking.licence")


def test_declaration():
    service = catalogue().get("parking_licence")
    assert service.applicants == ("enterprise",) and service.time_limit_days == 3
    assert service.field("action").choice_values() == ["open", "change", "close"]
    assert "business_licence" not in service.upload_slots()  # verified by USCC, never uploaded


def test_open_issues_the_licence_within_three_working_days(workday):
    company = enterprise_user()
    app = submit(company, "parking_licence", open_form(), UPLOADS)
    held = app.materials.get(kind="held", slot="business_licence")
    assert company.enterprise.uscc in held.summary_zh
    app = services.application_accept(application_id=app.pk, actor=actor(staff("clerk")))
    assert app.due_at.date() == dt.date(2026, 11, 26)
    app = services.application_approve(application_id=app.pk, actor=actor(staff("approver")))
    c = credential_of(app, "parking.licence")
    f = fields_of(c)
    assert c.kind == "parking_licence" and c.valid_until is None and c.valid_from == dt.date(2026, 12, 1)
    assert f["经营单位"] == company.enterprise.name and f["统一社会信用代码"] == company.enterprise.uscc
    assert f["停车泊位"] == "200" and f["充电车位"] == "40" and f["停车场名称"] == "福田中心停车场"


def test_citizens_cannot_apply(workday):
    with pytest.raises(Forbidden) as e:
        services.application_draft_create(user=citizen(), service_code="parking_licence", data={})
    assert e.value.code == "applications.applicant_kind" and "企业" in e.value.zh


def test_open_needs_its_materials_and_numbers(workday):
    company = enterprise_user()
    app = draft_with(company, "parking_licence", open_form(spaces="", charging_points="50"), {"site_right": PDF})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    got = reasons(e.value)
    assert "form.spaces_required" in got and "material.site_plan_required" in got
    assert got["material.site_plan_required"][1].startswith("Upload")
    services.application_draft_update(user=company, application_id=app.pk, data={"spaces": "30"})
    services.material_upload(user=company, application_id=app.pk, slot="site_plan", filename="p.pdf", content=PDF)
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    assert list(reasons(e.value)) == ["parking.charging_exceeds"]
    services.application_draft_update(user=company, application_id=app.pk, data={"charging_points": "10"})
    assert services.application_submit(user=company, application_id=app.pk).status == S.SUBMITTED


def test_change_replaces_the_licence(workday):
    from jiaoguan.credentials.services import credential_status

    company = enterprise_user()
    _app, old = opened(company)
    app = approve_standard(submit(company, "parking_licence", open_form(
        action="change", licence_number=old.number, change_items="泊位增至260个", spaces="260", opening_date=""),
        {"site_plan": PDF}))
    new = credential_of(app, "parking.licence")
    assert new.pk != old.pk and fields_of(new)["停车泊位"] == "260" and fields_of(new)["变更事项"] == "泊位增至260个"
    old.refresh_from_db()
    assert credential_status(old) == "revoked" and app.outcome["parking.licence"]["revoked"] == old.number


def test_change_or_close_needs_a_current_licence_of_the_same_enterprise(workday):
    company, other = enterprise_user(), enterprise_user()
    _app, theirs = opened(other)
    app = draft_with(company, "parking_licence", open_form(action="close", licence_number=theirs.number,
                                                           close_date="2026-11-30"))
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    zh, en = reasons(e.value)["parking.licence_unknown"]
    assert theirs.number in zh and "no current parking-lot licence" in en
    app2 = draft_with(company, "parking_licence", open_form(action="close", close_date="2026-11-30"))
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app2.pk)
    assert "form.licence_number_required" in reasons(e.value)


def test_close_revokes_and_certifies(workday):
    from jiaoguan.credentials.services import credential_status

    company = enterprise_user()
    _app, licence = opened(company)
    app = approve_standard(submit(company, "parking_licence", open_form(
        action="close", licence_number=licence.number, close_date="2026-11-30")))
    cert = credential_of(app, "parking.licence")
    assert cert.kind == "parking_closure" and fields_of(cert)["停止经营日期"] == "2026-11-30"
    licence.refresh_from_db()
    assert credential_status(licence) == "revoked"


def test_wrong_file_types_and_sizes(workday):
    company = enterprise_user()
    app = draft_with(company, "parking_licence", open_form())
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=company, application_id=app.pk, slot="site_plan", filename="plan.pdf",
                                 content=GIF)
    assert e.value.code == "applications.file_type" and e.value.status == 422
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=company, application_id=app.pk, slot="site_right", filename="big.pdf",
                                 content=PDF + b"0" * (5 * 1024 * 1024))
    assert e.value.code == "applications.file_too_large" and "5 MB" in e.value.zh
    assert app.materials.count() == 0 and Application.objects.get(pk=app.pk).status == S.DRAFT
