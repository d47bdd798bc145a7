"""规费: a service's fees from the fee table, charged at submission through the payments engine; the application
waits in awaiting_payment, goes to staff once paid, lapses unpaid, and gets its fee back whenever it ends without
its result (refused, rejected, withdrawn, lapsed)."""
import datetime as dt

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.applications import rules, selectors, services
from jiaoguan.applications.catalogue import CatalogueError, catalogue, catalogue_load
from jiaoguan.applications.models import Application
from jiaoguan.core.errors import Conflict
from jiaoguan.payments import selectors as payments_selectors
from jiaoguan.payments.models import PayableItem, Refund
from tests.applications.services.support import PNG, actor, citizen, hospital_check, pay_fee, staff, submit
from tests.factories import make_licence

pytestmark = pytest.mark.django_db
S = Application.Status
TODAY = dt.date(2026, 11, 23)
ADDRESS = "广东省深圳市南山区科技园科苑路15号"


def driver():
    user = citizen(licence=False)
    make_licence(person=user.person, first_issue=TODAY.replace(year=2020), valid_until=TODAY + dt.timedelta(days=900))
    hospital_check(user.person)
    return user


def apply(user=None, kind="replace_lost") -> Application:
    return submit(user or driver(), "licence_renewal", {"kind": kind, "address": ADDRESS}, {"photo": PNG})


def item_of(app) -> PayableItem | None:
    return payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=str(app.pk))


# --- the fee table and the rules ------------------------------------------------------------------------------------

def test_the_fee_table_and_the_renewal_declaration():
    cat = catalogue()
    card = cat.fees["licence_card"]
    assert card.amount_fen == 1000 and "2831" in card.legal_basis.zh and card.exempt
    service = cat.get("licence_renewal")
    assert [u.item.code for u in service.fees] == ["licence_card"] and service.fee_fen == 1000


@given(kind=st.sampled_from(["renew", "replace_lost", "replace_damaged", "replace_error"]))
@hsettings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fee_lines_charge_the_card_unless_exempt(kind):
    lines = rules.fee_lines(catalogue().get("licence_renewal"), {"kind": kind})
    assert [line.code for line in lines] == ["licence_card"]  # always declared, exempt or not
    assert rules.fee_total(lines) == (0 if kind == "replace_error" else 1000)
    assert (lines[0].exempt is not None) == (kind == "replace_error")
    assert rules.fee_total_of([line.as_json() for line in lines]) == rules.fee_total(lines)


def _write(tmp_path, fees_toml: str, service_toml: str):
    (tmp_path / "_categories.toml").write_text('[categories]\nlicences = { zh = "驾驶证", en = "Licences" }\n',
                                               encoding="utf-8")
    (tmp_path / "_fees.toml").write_text(fees_toml, encoding="utf-8")
    (tmp_path / "svc.toml").write_text(service_toml, encoding="utf-8")
    return tmp_path


FEES = '''
[fees.card]
name = { zh = "工本费", en = "Card fee" }
amount_fen = 500
legal_basis = { zh = "依据", en = "Basis" }
'''
SERVICE = '''
code = "t_fee"
version = "1"
category = "licences"
applicants = {applicants}
time_limit_days = 1
fees = {fees}
name = {{ zh = "收费测试", en = "Fee test" }}
summary = {{ zh = "收费。", en = "Fees." }}

[guide]
conditions = [{{ zh = "无", en = "None" }}]
process = [{{ zh = "申请", en = "Apply" }}]
legal_basis = [{{ zh = "依据", en = "Basis" }}]

[[form.fields]]
name = "kind"
type = "choice"
label = {{ zh = "类型", en = "Kind" }}
choices = [{{ value = "a", zh = "甲", en = "A" }}, {{ value = "b", zh = "乙", en = "B" }}]

[workflow]
preset = "standard"
'''


def test_the_loader_refuses_unknown_items_bad_conditions_and_enterprise_payers(tmp_path):
    bad = _write(tmp_path, FEES, SERVICE.format(applicants='["citizen", "enterprise"]',
                                                fees='["card", "nope", { item = "card", when = { field = "x", in = ["1"] } }]'))
    with pytest.raises(CatalogueError) as exc:
        catalogue_load(bad)
    text = str(exc.value)
    assert "unknown fee item 'nope'" in text and "refers to the field 'x'" in text
    assert "enterprise applicant cannot pay" in text
    (tmp_path / "_fees.toml").write_text('[fees.card]\nname = { zh = "工本费" }\namount_fen = -1\n', encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        catalogue_load(tmp_path)
    assert "English" in str(exc.value) and "amount_fen" in str(exc.value) and "legal_basis" in str(exc.value)


def test_a_fee_that_applies_to_some_answers_only(tmp_path):
    cat = catalogue_load(_write(tmp_path, FEES, SERVICE.format(
        applicants='["citizen"]', fees='[{ item = "card", when = { field = "kind", in = ["b"] } }]')))
    service = cat.get("t_fee")
    assert rules.fee_lines(service, {"kind": "a"}) == []
    assert rules.fee_total(rules.fee_lines(service, {"kind": "b"})) == 500


# --- submission, payment, lapse, refunds ----------------------------------------------------------------------------

def test_submission_waits_for_the_fee_then_goes_to_staff(workday):
    app = apply()
    assert app.status == S.AWAITING_PAYMENT and app.reference and app.due_at is None  # no time limit yet
    item = item_of(app)
    assert (item.kind, item.amount_fen, item.payer_person_id, item.status) == (
        "fee", 1000, app.applicant.person_id, "unpaid")
    assert app.reference in item.description_zh
    # three working days from Monday 10:00: the end of Thursday, Beijing time
    assert app.fee_due_at == rules.due_at_for(workday.now(), 3)
    assert selectors.fee_state(application=app).as_dict()["due_at"].startswith("2026-11-26T23:59:59")
    assert not Application.objects.filter(pk=app.pk, status__in=("submitted", "under_review")).exists()
    with pytest.raises(Conflict):
        services.application_accept(application_id=app.pk, actor=actor(staff("clerk")))
    assert app.applicant.messages.filter(template_code="application.fee_due").exists()
    app = pay_fee(app)
    assert app.status == S.SUBMITTED and item_of(app).status == "paid"
    assert list(app.events.values_list("action", flat=True)) == ["draft", "submit", "fee_paid"]
    assert selectors.fee_state(application=app).status == "paid"


def test_an_exempt_application_goes_straight_to_staff_with_the_exemption_kept(workday):
    app = apply(kind="replace_error")
    assert app.status == S.SUBMITTED and item_of(app) is None and app.fee_due_at is None
    fee = selectors.fee_state(application=app)
    assert fee.total_fen == 0 and fee.status == "exempt" and "信息有误" in fee.lines[0]["exempt_zh"]


@pytest.mark.parametrize("hour", [0, 23])
def test_unpaid_applications_lapse_after_the_third_working_day_local_time(clock, hour):
    minute = 30 if hour == 0 else 59
    clock.freeze(dt.datetime(2026, 11, 27, hour, minute))  # Friday, Beijing time
    app = apply()
    # Friday counts as day 0: Monday, Tuesday, Wednesday → closes after Wednesday 2026-12-02 23:59:59 local
    assert selectors.fee_state(application=app).as_dict()["due_at"].startswith("2026-12-02T23:59:59")
    clock.freeze(dt.datetime(2026, 12, 2, 23, 59))
    assert services.applications_lapse_unpaid() == 0
    clock.freeze(dt.datetime(2026, 12, 3, 0, 0, 1))
    assert services.applications_lapse_unpaid() == 1
    assert services.applications_lapse_unpaid() == 0  # once
    app.refresh_from_db()
    assert app.status == S.LAPSED and item_of(app).status == "cancelled"
    assert app.events.last().action == "lapse"
    assert app.applicant.messages.filter(template_code="application.lapsed").exists()


def test_money_that_arrives_after_the_lapse_goes_back(clock, settings):
    settings.JIAOGUAN_PAY_SIM_AUTO_NOTIFY = False
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    app = apply()
    from jiaoguan.core.audit import Actor
    from jiaoguan.payments import services as payments
    from jiaoguan.payments import simulator
    from jiaoguan.payments.models import SimTrade

    payer = Actor.of(app.applicant)
    order = payments.order_create(payer_person_id=app.applicant.person_id, item_ids=[item_of(app).pk], actor=payer)
    payments.order_pay(order=order, actor=payer)
    trade = SimTrade.objects.get(out_trade_no=order.reference)
    simulator.sim_trade_confirm(token=trade.token)  # paid at the channel, its callback not yet here
    clock.freeze(dt.datetime(2026, 11, 27, 0, 1))
    assert services.applications_lapse_unpaid() == 1
    trade.refresh_from_db()
    body, headers = simulator.sim_callback(trade, "paid")
    payments.callback_receive(channel="sim", body=body, headers=headers)
    app.refresh_from_db()
    assert app.status == S.LAPSED
    assert sum(r.amount_fen for r in Refund.objects.filter(order=order)) == 1000
    services.application_fee_paid(application_id=app.pk)  # the settled event, delivered late: nothing moves
    app.refresh_from_db()
    assert app.status == S.LAPSED


@pytest.mark.parametrize("end", ["refuse", "withdraw_paid", "withdraw_unpaid"])
def test_the_fee_goes_back_when_the_application_ends_without_its_result(workday, end):
    app = apply()
    if end != "withdraw_unpaid":
        app = pay_fee(app)
    if end == "refuse":
        services.application_refuse(application_id=app.pk, actor=actor(staff("clerk")), comment="材料不符")
    else:
        services.application_withdraw(user=app.applicant, application_id=app.pk)
    app.refresh_from_db()
    item = item_of(app)
    if end == "withdraw_unpaid":
        assert item.status == "cancelled" and not Refund.objects.exists()
    else:
        assert item.status == "refunded"
        assert Refund.objects.get(item=item).amount_fen == 1000
    last = app.events.last()
    assert last.data["fee"] == item.status and last.data["fee_reference"] == item.reference


def test_an_approved_application_keeps_its_fee(workday):
    from tests.applications.services.support import approve_standard

    app = approve_standard(pay_fee(apply()))
    assert app.status == S.APPROVED and item_of(app).status == "paid"


def test_the_api_shows_the_fee_and_another_citizen_sees_nothing(client, workday):
    from jiaoguan.identity.services.tokens import token_issue

    app = apply()
    token = token_issue(user=app.applicant)
    r = client.get(f"/api/v1/me/applications/{app.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200
    fee = r.json()["fee"]
    assert fee["total_fen"] == 1000 and fee["status"] == "unpaid" and fee["payable_reference"] == item_of(app).reference
    other = token_issue(user=driver())
    assert client.get(f"/api/v1/me/applications/{app.pk}",
                      HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404


def test_the_public_guide_api_lists_the_fees(client):
    r = client.get("/api/v1/services/licence_renewal")
    assert r.status_code == 200
    fee = r.json()["fees"][0]
    assert fee["item"] == "licence_card" and fee["amount_fen"] == 1000 and "2831" in fee["legal_basis"]["zh"]
    assert fee["when_field"] is None and fee["exempt"][0]["values"] == ["replace_error"]
    assert r.json()["fee_fen"] == 1000 and r.json()["fees_vary"] is True  # 信息有误换证 is exempt
    docs = client.get("/api/v1/services/vehicle_documents").json()
    assert docs["fee_fen"] == 0 and docs["fees_vary"] is True and docs["fees"][2]["when_values"] == [
        "plates:lost", "plates:damaged"]


# --- fees at approval ------------------------------------------------------------------------------------------------

def test_a_fee_at_approval_holds_the_result_until_paid(workday):
    from jiaoguan.credentials.models import Credential
    from tests.applications.services.support import approve_standard

    user = citizen()
    app = submit(user, "t_approval_fee", {"speed": "normal"})
    assert app.status == S.SUBMITTED and app.fee_lines == []  # nothing at submission
    app = approve_standard(app)
    assert app.status == S.AWAITING_PAYMENT and app.decided_at and app.approved_by_id
    assert not Credential.objects.filter(holder=user).exists()  # no permit before the fee
    item = payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=f"{app.pk}:approval")
    assert item.amount_fen == 1000 and "批准后规费" in item.description_zh
    fee = selectors.fee_state(application=app)
    assert (fee.phase, fee.status, fee.total_fen) == ("approval", "unpaid", 1000)
    assert user.messages.filter(template_code="application.approved_fee_due").exists()
    with pytest.raises(Conflict):  # staff cannot approve twice
        services.application_approve(application_id=app.pk, actor=actor(staff("approver", "另一审批")))
    paid = pay_fee_approval(app)
    assert paid.status == S.APPROVED and paid.outcome["e_permit"]["credential_id"]
    assert Credential.objects.filter(holder=user).count() == 1
    assert list(paid.events.values_list("action", flat=True))[-2:] == ["approve", "fee_paid"]


def test_approved_at_once_then_the_fee_then_the_permit(workday):
    app = submit(citizen(), "t_approval_fee", {"speed": "fast"})
    assert app.status == S.AWAITING_PAYMENT and app.auto_decided and not app.outcome
    assert pay_fee_approval(app).status == S.APPROVED


def test_unpaid_after_approval_lapses_and_nothing_is_issued(workday):
    from jiaoguan.credentials.models import Credential

    app = submit(citizen(), "t_approval_fee", {"speed": "fast"})
    workday.freeze(dt.datetime(2026, 11, 27, 0, 1))  # Monday's fee due by Thursday night
    assert services.applications_lapse_unpaid() == 1
    app.refresh_from_db()
    assert app.status == S.LAPSED and not Credential.objects.exists()
    item = payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=f"{app.pk}:approval")
    assert item.status == "cancelled" and app.events.last().data["approval_fee"] == "cancelled"


def pay_fee_approval(app):
    return pay_fee(app, at="approval")


def test_the_pages_say_when_the_fee_is_paid(client, workday):
    from tests.portal.support import text

    user = citizen()
    app = submit(user, "t_approval_fee", {"speed": "fast"})
    assert "批准后缴纳" in text(client.get("/services/t_approval_fee/"))
    client.force_login(user)
    body = text(client.get(f"/services/mine/{app.pk}/"))
    assert "申请已批准，缴费后制发办理结果" in body and "¥10.00" in body and "去缴费" in body


def test_a_correction_cannot_change_what_was_charged(workday):
    from jiaoguan.core.errors import InvalidInput
    from tests.factories import make_vehicle

    user = citizen()
    car = make_vehicle(owner=user.person)
    data = {"plate": car.plate, "document": "inspection_mark:lost", "address": ADDRESS}
    app = submit(user, "vehicle_documents", data)  # free: straight to staff
    assert app.status == S.SUBMITTED
    services.application_send_back(application_id=app.pk, actor=actor(staff("clerk")), comment="地址不详")
    services.application_draft_update(user=user, application_id=app.pk, data={**data, "document": "plates:lost"})
    with pytest.raises(InvalidInput) as exc:
        services.application_resubmit(user=user, application_id=app.pk)
    assert exc.value.code == "applications.fee_answer_changed" and "document" in exc.value.fields
    services.application_draft_update(user=user, application_id=app.pk, data={**data, "address": ADDRESS + "1栋"})
    assert services.application_resubmit(user=user, application_id=app.pk).status == S.SUBMITTED
    assert item_of(app) is None  # nothing was charged, nothing is


def test_paid_in_time_but_the_event_late_the_sweep_moves_it_on(clock):
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    app = pay_fee(apply(), deliver=False)  # settled; the handler has not run (a worker's delay)
    assert app.status == S.AWAITING_PAYMENT and item_of(app).status == "paid"
    clock.freeze(dt.datetime(2026, 11, 27, 0, 1))
    assert services.applications_lapse_unpaid() == 0
    app.refresh_from_db()
    assert app.status == S.SUBMITTED and item_of(app).status == "paid"
    services.application_fee_paid(application_id=app.pk)  # the late event: nothing more
    assert list(app.events.values_list("action", flat=True)) == ["draft", "submit", "fee_paid"]


def test_a_failing_output_never_lapses_a_paid_application_nor_stops_the_sweep(clock, monkeypatch):
    from jiaoguan.applications import hooks
    from jiaoguan.core.errors import Conflict as DomainConflict

    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))
    first = submit(citizen(), "t_approval_fee", {"speed": "fast"})
    second = apply()
    first = pay_fee(first, at="approval", deliver=False)  # paid; its event not delivered yet
    import dataclasses

    def down(**kw):
        raise DomainConflict("credentials.down", "证照服务暂不可用", "The credentials service is down")

    monkeypatch.setitem(hooks.OUTPUTS, "e_permit", dataclasses.replace(hooks.OUTPUTS["e_permit"], issue=down))
    clock.freeze(dt.datetime(2026, 11, 27, 0, 1))
    assert services.applications_lapse_unpaid() == 1  # the unpaid one lapses; the paid one waits
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.AWAITING_PAYMENT and second.status == S.LAPSED
