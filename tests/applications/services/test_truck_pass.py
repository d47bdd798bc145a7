"""货车通行证: vehicle checks against the registry, validity per category, the e-permit's contents, approve-first
for emergency works, and bad input (tampered forms, wrong files) refused with the draft kept."""
import datetime as dt

import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import InvalidInput
from tests.applications.services.support import (
    PDF,
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
    truck,
)
from tests.applications.support import GIF

pytestmark = pytest.mark.django_db
S = Application.Status


def form(plate: str, **over) -> dict:
    data = {"plate": plate, "category": "city_delivery", "zone": "futian_luohu", "route": "深南大道—红荔路",
            "valid_from": "2026-11-24", "valid_until": "2026-12-23", "contact_phone": "13912345678"}
    data.update(over)
    return data


def test_declaration_is_consistent():
    service = catalogue().get("truck_pass")
    assert service.listed and service.time_limit_days == 1 and set(service.applicants) == {"citizen", "enterprise"}
    categories = set(service.field("category").choice_values())
    out = next(o for o in service.outputs if o.name == "truck_pass.e_permit")
    assert set(out.params["windows"]) == categories  # every category has its time windows
    validity = next(u for u in service.eligibility if u.rule == "truck_pass.validity")
    assert set(validity.params["max_days"]) == categories
    assert service.workflow.approve_first.values == ("emergency",)
    # 免提交: the vehicle record and the business licence are never asked for
    assert "vehicle" not in service.upload_slots() and "business_licence" not in service.upload_slots()


def test_enterprise_gets_the_e_permit_within_a_day(workday):
    company = enterprise_user()
    t = truck(owner_user=company)
    app = submit(company, "truck_pass", form(t.plate))
    assert app.status == S.SUBMITTED and app.enterprise_id == company.enterprise_id
    held = {m.slot: m for m in app.materials.filter(kind="held")}
    assert set(held) == {"vehicle", "business_licence"} and t.plate in held["vehicle"].summary_zh
    clerk = staff("clerk")
    accepted = services.application_accept(application_id=app.pk, actor=actor(clerk))
    assert accepted.due_at.date() == dt.date(2026, 11, 24)  # 1 working day
    app = services.application_approve(application_id=app.pk, actor=actor(staff("approver")))
    assert app.status == S.APPROVED
    c = credential_of(app, "truck_pass.e_permit")
    f = fields_of(c)
    assert c.kind == "truck_pass" and c.holder_id == company.pk
    assert c.valid_from == dt.date(2026, 11, 24) and c.valid_until == dt.date(2026, 12, 23)
    assert f["号牌号码"] == t.plate and f["通行类别"].startswith("城市配送")
    assert f["通行区域"].startswith("福田区、罗湖区") and "09:00-17:30" in f["通行时段"] and "19:30-07:00" in f["通行时段"]
    assert f["有效期"] == "2026-11-24 至 2026-12-23" and f["通行路线"] == "深南大道—红荔路"
    # a value that reads differently in English is stored in both languages, never as "中文 English"
    en = {row["zh"]: row.get("value_en", row["value"]) for row in c.fields}
    assert en["有效期"] == "2026-11-24 to 2026-12-23" and en["通行类别"] == "City delivery"
    assert f["通行类别"] == "城市配送" and en["通行时段"].endswith(" daily") and "每日" in f["通行时段"]
    assert app.outcome["truck_pass.e_permit"]["windows"] == ["09:00-17:30", "19:30-07:00"]


def test_a_citizen_owning_a_truck_may_apply(workday):
    user = citizen()
    t = truck(owner_user=user)
    app = approve_standard(submit(user, "truck_pass", form(t.plate, category="cold_chain")))
    assert app.status == S.APPROVED
    assert fields_of(credential_of(app, "truck_pass.e_permit"))["通行类别"].startswith("冷链")


@pytest.mark.parametrize("setup, code", [
    (lambda c: truck(owner_user=enterprise_user()), "applications.not_own_vehicle"),
    (lambda c: truck(owner_user=c, kind="small_car"), "applications.vehicle_kind"),
])
def test_a_vehicle_not_the_applicants_own_truck_is_refused_beside_the_plate(workday, setup, code):
    """The plate is chosen from the applicant's own trucks (an own_vehicle field): another company's truck, or
    one of its own cars, is refused at the field in both languages, and the draft is kept."""
    company = enterprise_user()
    t = setup(company)
    app = draft_with(company, "truck_pass", form(t.plate))
    with pytest.raises(InvalidInput) as e:
        services.application_submit(user=company, application_id=app.pk)
    assert e.value.code == "applications.form_invalid" and set(e.value.fields) == {"plate"}
    zh, en = e.value.fields["plate"]
    if code == "applications.not_own_vehicle":
        assert zh == f"申请人名下没有号牌为{t.plate}的机动车，请从列表中选择"
        assert en == f"No vehicle with plate {t.plate} is registered to the applicant; choose one from the list"
    else:
        assert zh == f"{t.plate}不能办理本事项：须为载货汽车"
        assert en == f"{t.plate} cannot be used for this service: it must be a truck"
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["plate"] == t.plate


@pytest.mark.parametrize("setup, code", [
    (lambda c: truck(owner_user=c, status="seized"), "truck.status"),
    (lambda c: truck(owner_user=c, inspection_due=dt.date(2026, 12, 1)), "truck.inspection"),
    (lambda c: truck(owner_user=c, insured=False), "truck.insurance"),
])
def test_vehicle_refusals_in_both_languages(workday, setup, code):
    company = enterprise_user()
    t = setup(company)
    app = draft_with(company, "truck_pass", form(t.plate))
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    got = reasons(e.value)
    assert code in got and all(zh and en for zh, en in got.values()), got
    assert e.value.status == 422 and "不符合申请条件" in e.value.zh and "do not meet" in e.value.en
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["plate"] == t.plate  # the draft is kept


def test_validity_span_per_category(workday):
    company = enterprise_user()
    t = truck(owner_user=company)
    app = draft_with(company, "truck_pass", form(t.plate, category="hazardous", valid_until="2026-12-01"),
                     {"hazardous_permit": PDF})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    zh, en = reasons(e.value)["truck.too_long"]
    assert "最长7天" in zh and "at most 7 days" in en
    services.application_draft_update(user=company, application_id=app.pk, data={"valid_until": "2026-11-30"})
    assert services.application_submit(user=company, application_id=app.pk).status == S.SUBMITTED
    app2 = draft_with(company, "truck_pass", form(t.plate, valid_from="2026-11-30", valid_until="2026-11-25"))
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app2.pk)
    assert "truck.dates" in reasons(e.value)


def test_category_specific_material_is_required(workday):
    company = enterprise_user()
    t = truck(owner_user=company)
    app = draft_with(company, "truck_pass", form(t.plate, category="construction"))
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=company, application_id=app.pk)
    zh, en = reasons(e.value)["material.transport_contract_required"]
    assert "工程运输合同" in zh and "Construction haulage contract" in en
    services.material_upload(user=company, application_id=app.pk, slot="transport_contract", filename="c.pdf",
                             content=PDF)
    assert services.application_submit(user=company, application_id=app.pk).status == S.SUBMITTED


def test_emergency_works_are_approved_at_once_and_reviewed_afterwards(workday):
    from jiaoguan.credentials.services import credential_status

    company = enterprise_user()
    t = truck(owner_user=company)
    app = submit(company, "truck_pass", form(t.plate, category="emergency", zone="citywide",
                                             valid_from="2026-11-23", valid_until="2026-11-30"),
                 {"emergency_notice": PDF})
    assert app.status == S.APPROVED and app.post_review_pending and app.auto_decided
    c = credential_of(app, "truck_pass.e_permit")
    assert "00:00-24:00" in fields_of(c)["通行时段"] and credential_status(c) == "valid"
    reviewer = staff("clerk")
    app = services.application_revoke(application_id=app.pk, actor=actor(reviewer), comment="非抢险任务")
    assert app.status == S.REVOKED
    c.refresh_from_db()
    assert credential_status(c) == "revoked"


def test_emergency_confirmed_on_review_keeps_the_permit(workday):
    company = enterprise_user()
    t = truck(owner_user=company)
    app = submit(company, "truck_pass", form(t.plate, category="emergency", valid_from="2026-11-23",
                                             valid_until="2026-11-25"), {"emergency_notice": PDF})
    app = services.application_confirm(application_id=app.pk, actor=actor(staff("clerk")))
    assert app.status == S.APPROVED and not app.post_review_pending


def test_tampered_form_and_wrong_files_are_refused_and_the_draft_kept(workday):
    company = enterprise_user()
    t = truck(owner_user=company)
    app = draft_with(company, "truck_pass", form(t.plate))
    with pytest.raises(InvalidInput) as e:
        services.application_draft_update(user=company, application_id=app.pk, data={"windows": "00:00-24:00"})
    assert e.value.code == "applications.unknown_field" and e.value.status == 422
    with pytest.raises(InvalidInput) as e:
        services.application_draft_update(user=company, application_id=app.pk, data={"category": "vip"})
    assert e.value.code == "applications.bad_form" and "category" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        services.material_upload(user=company, application_id=app.pk, slot="transport_contract", filename="c.pdf",
                                 content=GIF)
    assert e.value.code == "applications.file_type" and "PDF" in e.value.zh
    with pytest.raises(InvalidInput) as e:  # the vehicle record is held: no upload slot for it
        services.material_upload(user=company, application_id=app.pk, slot="vehicle", filename="v.pdf", content=PDF)
    assert e.value.code == "applications.unknown_slot"
    with pytest.raises(InvalidInput) as e:
        services.application_draft_update(user=company, application_id=app.pk, data={"valid_from": "2027-06-01"})
        services.application_submit(user=company, application_id=app.pk)
    assert e.value.code == "applications.form_invalid" and "valid_from" in e.value.fields
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["category"] == "city_delivery"
