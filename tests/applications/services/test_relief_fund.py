"""道路交通事故社会救助基金: victim or family applies, materials per kind, ceilings as data, accept → review →
approve, and a decision certificate whose bank account and ID number are masked."""
import pytest

from jiaoguan.applications import services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import InvalidInput
from tests.applications.services.support import (
    PDF,
    actor,
    citizen,
    credential_of,
    draft_with,
    fields_of,
    reasons,
    staff,
    submit,
)
from tests.factories import unique_id_number

pytestmark = pytest.mark.django_db
S = Application.Status
ACCOUNT = "6222020200112233445"


def form(**over) -> dict:
    data = {"applicant_relation": "spouse", "victim_name": "张伟", "victim_id_number": unique_id_number(),
            "accident_reference": "SZ2026-000123", "accident_date": "2026-11-10", "kind": "rescue_advance",
            "amount_fen": "1500000", "hospital": "深圳市人民医院", "bank_name": "中国工商银行", "account_holder": "王小明",
            "bank_account": ACCOUNT, "contact_phone": "13912345678"}
    data.update(over)
    return data


FAMILY_UPLOADS = {"medical_bills": PDF, "relationship_proof": PDF}


def test_declaration():
    service = catalogue().get("relief_fund")
    assert service.workflow.actions["review"].to == "reviewed" and service.time_limit_days == 5
    ceilings = next(u for u in service.eligibility if u.rule == "relief.amount").params["max_fen"]
    assert set(ceilings) == set(service.field("kind").choice_values())


def test_accept_review_approve_issues_the_decision(workday):
    user = citizen()
    app = submit(user, "relief_fund", form(), FAMILY_UPLOADS)
    clerk, reviewer, approver = staff("clerk"), staff("clerk"), staff("approver")
    services.application_accept(application_id=app.pk, actor=actor(clerk))
    services.application_review(application_id=app.pk, actor=actor(reviewer), comment="票据齐全")
    app = services.application_approve(application_id=app.pk, actor=actor(approver))
    assert app.status == S.APPROVED
    c = credential_of(app, "relief.decision")
    f = fields_of(c)
    assert c.kind == "relief_decision" and f["核定金额"] == "¥15,000.00" and f["救助类别"].startswith("抢救费用垫付")
    assert f["收款账号"] == "**** " + ACCOUNT[-4:]  # never the whole account number
    assert ACCOUNT not in str(c.fields) and f["受害人"] == "张*"
    public = {x["zh"] for x in c.fields if x["public"]}
    assert "收款账号" not in public and "受害人身份证号码" not in public
    assert app.outcome["relief.decision"]["amount_fen"] == 1500000


def test_the_victim_applying_in_person(workday):
    user = citizen()
    ok = submit(user, "relief_fund", form(applicant_relation="victim", victim_id_number=user.person.id_number),
                {"medical_bills": PDF})
    assert ok.status == S.SUBMITTED
    other = citizen()
    app = draft_with(other, "relief_fund", form(applicant_relation="victim"), {"medical_bills": PDF})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=other, application_id=app.pk)
    zh, en = reasons(e.value)["relief.victim_mismatch"]
    assert "与申请人本人不一致" in zh and "not yours" in en


def test_ceilings_and_materials_per_kind(workday):
    user = citizen()
    app = draft_with(user, "relief_fund", form(kind="funeral_advance", amount_fen="3500000"), FAMILY_UPLOADS)
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    got = reasons(e.value)
    assert "¥30,000.00" in got["relief.amount_too_high"][0] and "at most ¥30,000.00" in got["relief.amount_too_high"][1]
    assert "死亡证明" in got["material.death_certificate_required"][0]
    services.application_draft_update(user=user, application_id=app.pk, data={"amount_fen": "2000000"})
    services.material_upload(user=user, application_id=app.pk, slot="death_certificate", filename="d.pdf",
                             content=PDF)
    assert services.application_submit(user=user, application_id=app.pk).status == S.SUBMITTED


def test_family_must_prove_the_relationship(workday):
    user = citizen()
    app = draft_with(user, "relief_fund", form(applicant_relation="parent"), {"medical_bills": PDF})
    with pytest.raises(Ineligible) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert "material.relationship_proof_required" in reasons(e.value)


def test_bad_input_is_named_and_the_draft_kept(workday):
    user = citizen()
    app = draft_with(user, "relief_fund", form(bank_account="6222-0202", amount_fen="12.5",
                                               victim_id_number="440304198001011234"), FAMILY_UPLOADS)
    with pytest.raises(InvalidInput) as e:
        services.application_submit(user=user, application_id=app.pk)
    assert {"bank_account", "amount_fen", "victim_id_number"} <= set(e.value.fields)
    assert e.value.status == 422 and "草稿已保存" in e.value.zh
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.form()["victim_name"] == "张伟"


def test_bank_account_is_encrypted_at_rest_and_masked_for_staff():
    from django.db import connection

    from jiaoguan.applications import selectors

    user = citizen()
    app = submit(user, "relief_fund", form(), FAMILY_UPLOADS)
    assert "bank_account" not in app.form_data
    with connection.cursor() as cur:
        cur.execute("SELECT form_data, form_personal FROM applications_application WHERE id = %s", [app.pk])
        raw = " ".join(str(v) for v in cur.fetchone())
    assert ACCOUNT not in raw and ACCOUNT[-8:] not in raw
    shown = {name: value for name, _label, value in selectors.form_display(application=app)}
    assert shown["bank_account"] == "**** " + ACCOUNT[-4:]
