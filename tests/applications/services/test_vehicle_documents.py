"""补领/换领 机动车号牌、行驶证、登记证书、检验合格标志: the fee follows the document (fee table), the vehicle's
status decides, the replacement is recorded against the vehicle and the new document posted."""
import datetime as dt

import pytest

from jiaoguan.applications import rules, services
from jiaoguan.applications.catalogue import catalogue
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import Ineligible
from jiaoguan.core.models import AuditEntry
from jiaoguan.payments import selectors as payments_selectors
from tests.applications.services.support import approve_standard, citizen, pay_fee, reasons, submit
from tests.factories import make_vehicle

pytestmark = pytest.mark.django_db
S = Application.Status
ADDRESS = "广东省深圳市福田区福华一路1号 测试小区"


def form(car, document, **over):
    return {"plate": car.plate, "document": document, "address": ADDRESS, **over}


@pytest.mark.parametrize("document,fee", [
    ("vehicle_licence:lost", 1000), ("vehicle_licence:damaged", 1000), ("registration_certificate:lost", 1000),
    ("plates:damaged", 10000), ("inspection_mark:lost", 0),
])
def test_the_fee_follows_the_document(document, fee):
    service = catalogue().get("vehicle_documents")
    assert rules.fee_total(rules.fee_lines(service, {"document": document})) == fee
    assert service.fee_fen == 0 and service.fees_vary


def test_plates_replaced_paid_approved_recorded_and_posted(workday):
    user = citizen()
    car = make_vehicle(owner=user.person)
    app = submit(user, "vehicle_documents", form(car, "plates:lost"))
    assert app.status == S.AWAITING_PAYMENT
    item = payments_selectors.payable_for_source(source_type=services.FEE_SOURCE, source_id=str(app.pk))
    assert item.amount_fen == 10000 and "汽车号牌" not in item.description_zh  # the service's name, not the item's
    app = approve_standard(pay_fee(app))
    assert app.status == S.APPROVED and app.outcome["post"]["shipment_id"]
    entry = AuditEntry.objects.get(action="vehicle.document_replace")
    assert entry.object_id == str(car.pk) and entry.new["document"] == "plates:lost"


def test_a_free_inspection_mark_goes_straight_to_acceptance(workday):
    user = citizen()
    car = make_vehicle(owner=user.person, inspection_due=workday.today() + dt.timedelta(days=200))
    app = submit(user, "vehicle_documents", form(car, "inspection_mark:lost"))
    assert app.status == S.SUBMITTED and app.fee_lines == []


@pytest.mark.parametrize("status,document,code", [
    ("seized", "vehicle_licence:lost", "vehicle.status"),
    ("stolen", "plates:lost", "vehicle.status"),
    ("mortgaged", "registration_certificate:lost", "vehicle.mortgaged"),
])
def test_the_vehicles_status_decides(workday, status, document, code):
    user = citizen()
    car = make_vehicle(owner=user.person, status=status)
    with pytest.raises(Ineligible) as exc:
        submit(user, "vehicle_documents", form(car, document))
    assert code in reasons(exc.value)


def test_a_mortgaged_car_may_replace_its_vehicle_licence_and_an_overdue_one_gets_no_mark(workday):
    user = citizen()
    mortgaged = make_vehicle(owner=user.person, status="mortgaged")
    assert submit(user, "vehicle_documents", form(mortgaged, "vehicle_licence:damaged")).status == S.AWAITING_PAYMENT
    overdue = make_vehicle(owner=user.person, inspection_due=workday.today() - dt.timedelta(days=40))
    with pytest.raises(Ineligible) as exc:
        submit(user, "vehicle_documents", form(overdue, "inspection_mark:lost"))
    assert "vehicle.inspection_overdue" in reasons(exc.value)


def test_the_guide_lists_each_fee_with_what_it_applies_to(client):
    from tests.portal.support import text

    body = text(client.get("/services/vehicle_documents/"))
    assert "按办理事项收费" in body and "汽车号牌工本费（每副） ¥100.00" in body and "号牌遗失补领（一副）" in body
    assert "机动车行驶证工本费 ¥10.00" in body and "发改价格〔2004〕2831号" in body


def test_collected_at_a_counter_instead_of_posted(workday):
    """The applicant ticks "collect at a counter": no shipment, a notice to book a counter visit for vehicle business;
    without an address the post would have used the address on file."""
    from jiaoguan.notifications.models import Message
    from jiaoguan.postal.models import Shipment

    user = citizen()
    car = make_vehicle(owner=user.person)
    app = submit(user, "vehicle_documents", {"plate": car.plate, "document": "vehicle_licence:lost", "pickup": "on"})
    app = approve_standard(pay_fee(app))
    assert app.status == S.APPROVED and "post" not in app.outcome
    assert app.outcome["pickup"]["counter_service"] == "vehicle"
    assert not Shipment.objects.filter(source_id=str(app.pk)).exists()
    assert Message.objects.filter(recipient=user, template_code="application.pickup_ready").exists()


def test_posted_to_the_address_on_file_when_none_is_given(workday):
    from jiaoguan.postal.models import Shipment

    user = citizen()
    car = make_vehicle(owner=user.person)
    app = approve_standard(pay_fee(submit(user, "vehicle_documents",
                                          {"plate": car.plate, "document": "vehicle_licence:lost"})))
    shipment = Shipment.objects.get(pk=app.outcome["post"]["shipment_id"])
    assert shipment.address == user.person.address and shipment.address


def test_no_address_anywhere_is_refused_before_submission(workday):
    from jiaoguan.registry.models import Person

    user = citizen()
    Person.objects.filter(pk=user.person_id).update(address="")
    user.person.refresh_from_db()
    car = make_vehicle(owner=user.person)
    with pytest.raises(Ineligible) as exc:
        submit(user, "vehicle_documents", {"plate": car.plate, "document": "vehicle_licence:lost"})
    assert "postal.address_missing" in reasons(exc.value)
    app = submit(user, "vehicle_documents", {"plate": car.plate, "document": "vehicle_licence:lost", "pickup": "on"})
    assert app.status == S.AWAITING_PAYMENT
