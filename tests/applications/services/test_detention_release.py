"""放车还证 (catalogue detention_release): the applicant picks one of their own held detentions; the rules decide at
once; approved, the detention is released and the licence posted or collected; a vehicle is always collected."""
import pytest

from jiaoguan.applications import selectors
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.errors import InvalidInput
from jiaoguan.notifications.models import Message
from jiaoguan.violations.models import Detention
from tests.applications.services.support import reasons, submit
from tests.factories import make_vehicle
from tests.violations.detention_support import citizen_user, detain, handle_and_pay, on_site

pytestmark = pytest.mark.django_db
S = Application.Status
ADDRESS = "广东省深圳市福田区福华一路1号 测试小区"


def test_the_guide_is_free_and_asks_for_no_copies():
    service = catalogue().get("detention_release")
    assert service.fee_fen == 0 and not service.fees_vary and service.workflow.auto_approve is not None
    assert any("不收取任何费用" in n.zh for n in service.guide.notes)
    assert {m.held for m in service.materials} == {"registry.person", "violations.detention"}  # 免提交


def test_a_paid_licence_detention_is_released_at_once_and_posted(workday):
    user = citizen_user()
    d = detain(user.person)
    handle_and_pay(d.violations.get(), user.person)
    options = selectors.applicant_options(user=user, service=catalogue().get("detention_release"))
    assert [o.value for o in options["detention"]] == [d.notice_number] and "扣留驾驶证" in options["detention"][0].zh
    app = submit(user, "detention_release", {"detention": d.notice_number, "address": ADDRESS})
    assert app.status == S.APPROVED and app.auto_decided and app.fee_lines == []
    assert app.outcome["post"]["shipment_id"] and "pickup" not in app.outcome
    assert app.outcome["detention_release.release"]["notice_number"] == d.notice_number
    d.refresh_from_db()
    assert d.status == "released" and d.release_reference == app.reference
    held = {m.slot: m for m in app.materials.all()}
    assert held["detention_notice"].held_reference == f"violations.detention:{d.pk}"


def test_a_vehicle_is_collected_at_the_lot_never_posted(workday):
    user = citizen_user()
    car = make_vehicle(owner=user.person)
    d = detain(user.person, kind="vehicle", violations=[on_site(car)])
    handle_and_pay(d.violations.get(), user.person)
    with pytest.raises(Ineligible) as exc:
        submit(user, "detention_release", {"detention": d.notice_number, "address": ADDRESS})
    assert "detention.vehicle_pickup" in reasons(exc.value)
    app = submit(user, "detention_release", {"detention": d.notice_number, "pickup": "on"})
    assert app.status == S.APPROVED and "post" not in app.outcome
    assert app.outcome["pickup"]["counter_service"] == "violation" and "停车场" in app.outcome["pickup"]["note_zh"]
    assert Detention.objects.get(pk=d.pk).status == "released"
    assert Message.objects.filter(recipient=user, template_code="application.release_ready").exists()


def test_unpaid_is_refused_with_the_reason_and_nothing_changes(workday):
    user = citizen_user()
    d = detain(user.person)
    with pytest.raises(Ineligible) as exc:
        submit(user, "detention_release", {"detention": d.notice_number, "pickup": "on"})
    assert "violations.detention_unhandled" in reasons(exc.value)
    assert "尚未处理" in reasons(exc.value)["violations.detention_unhandled"][0]
    assert Detention.objects.get(pk=d.pk).status == "held"


def test_no_detention_held_is_refused_before_the_form(workday):
    user = citizen_user()
    check = selectors.entry_check(user=user, service=catalogue().get("detention_release"))
    assert "detention.none_held" in [r.code for r in check.refusals]


def test_another_persons_detention_cannot_be_requested(workday):
    mine, theirs = citizen_user(), citizen_user()
    detain(mine.person)
    other = detain(theirs.person)
    handle_and_pay(other.violations.get(), theirs.person)
    with pytest.raises(InvalidInput) as exc:
        submit(mine, "detention_release", {"detention": other.notice_number, "pickup": "on"})
    assert "detention" in exc.value.fields
    assert Detention.objects.get(pk=other.pk).status == "held"
