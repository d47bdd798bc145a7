"""The enterprise home (企业首页): an enterprise login lands on its company's page (name, masked USCC, its vehicles
with status, inspection and insurance, its applications, its counter appointments, what it can do), never on the
citizen's "您名下没有驾驶证记录 / 您还没有机动车"; a citizen never sees it; one company never sees another's data.
The truck pass offers the company's own trucks to choose from, and refuses any other plate."""
import datetime as dt
import json

import pytest

from jiaoguan.applications import services as applications
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.identifiers import format_plate
from jiaoguan.counters import services as counters
from jiaoguan.identity.selectors import account_vehicles, my_enterprise
from tests.applications.services.support import enterprise_user, truck
from tests.counters.conftest import DAY, city  # noqa: F401  (the counters' office with slots, clock frozen)
from tests.factories import make_policy, make_vehicle
from tests.portal.support import EN, PASSWORD, citizen, field_errors, staff_user, text

pytestmark = pytest.mark.django_db

CITIZEN_TEXTS = ("您好", "您名下没有驾驶证记录", "您还没有机动车", "机动车驾驶证")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def truck_pass_data(plate: str) -> dict:
    today = clock.today()
    return {"plate": plate, "category": "city_delivery", "zone": "nanshan", "route": "",
            "valid_from": today.isoformat(), "valid_until": (today + dt.timedelta(days=29)).isoformat(),
            "contact_phone": "13912345678"}


def company_with_everything(city, name: str, hour: int):  # noqa: F811
    """An enterprise account with a truck, a car, a submitted truck pass and a batch appointment for the truck."""
    user = enterprise_user(name)
    lorry = truck(owner_user=user)
    car = make_vehicle(owner=None, brand="大众 帕萨特")
    car.owner_uscc, car.owner_company = user.enterprise.uscc, user.enterprise.name
    car.save(update_fields=["owner_uscc", "owner_company"])
    make_policy(vehicle=car)
    app = applications.application_draft_create(user=user, service_code="truck_pass",
                                                data=truck_pass_data(lorry.plate))
    app = applications.application_submit(user=user, application_id=app.pk)
    _batch, (booking,) = counters.batch_book(
        user=user, items=[counters.BatchItem(slot_id=city.slot(city.vehicle, hour).pk, vehicle_id=lorry.pk)],
        actor=Actor.of(user))
    return user, lorry, car, app, booking


def test_an_enterprise_login_lands_on_its_company_page(client, city):  # noqa: F811
    user, lorry, car, app, booking = company_with_everything(city, "深圳市鹏程物流有限公司", 9)
    user.set_password(PASSWORD)
    user.save()
    r = client.post("/login/", {"login": user.username, "password": PASSWORD}, follow=True)
    assert r.redirect_chain[-1][0] == "/me/enterprise/" and r.status_code == 200
    page = text(r)
    company = user.enterprise
    assert company.name in page and company.uscc not in page  # the USCC masked
    assert my_enterprise(user=user).uscc_masked in page and company.uscc[:4] + "*" in page
    for plate in (lorry.plate, car.plate):
        assert format_plate(plate) in page
    assert "载货汽车" in page and "检验有效期至" in page and "交强险" in page and "正常" in page
    assert lorry.plate_type == "01"  # a large vehicle's plate is drawn yellow (core.identifiers.plate_colour)
    assert f'<span class="plate large">{format_plate(lorry.plate)}</span>' in r.content.decode()
    assert app.reference in page and "货车通行证" in page and "待受理" in page
    assert booking.reference in page and "机动车业务" in page
    for offered in ("货车通行证", "经营性停车场开办、变更、注销", "窗口批量预约"):
        assert offered in page
    html = r.content.decode()
    assert 'href="/services/truck_pass/apply/"' in html and 'href="/services/parking_licence/apply/"' in html
    assert 'href="/me/appointments/batch/"' in html
    for citizen_text in CITIZEN_TEXTS:
        assert citizen_text not in page, citizen_text


def test_the_enterprise_page_in_english(client, city):  # noqa: F811
    user, lorry, _car, app, _booking = company_with_everything(city, "深圳市鹏程物流有限公司", 9)
    client.force_login(user)
    page = text(client.get("/me/enterprise/", **EN))
    for words in ("Unified social credit code", "Vehicles of the company", "Applications of the company",
                  "Counter appointments of the company", "Truck pass permit", "Truck", "Waiting for acceptance"):
        assert words in page, words
    for chinese in ("本企业机动车", "企业可办业务", "载货汽车", "待受理", "统一社会信用代码"):
        assert chinese not in page, chinese


def test_a_citizen_never_sees_the_enterprise_page(client, city):  # noqa: F811
    company, lorry, *_ = company_with_everything(city, "深圳市鹏程物流有限公司", 9)
    user, person, _lic, _car = citizen(name="林小雨")
    client.force_login(user)
    r = client.get("/me/enterprise/")
    assert r.status_code == 403
    page = text(r)
    assert "企业首页仅供企业用户使用" in page
    assert company.enterprise.name not in page and format_plate(lorry.plate) not in page
    assert "林*雨，您好" in text(client.get("/me/"))  # the citizen's own home is unchanged


def test_visitors_log_in_and_staff_go_to_the_console(client):
    r = client.get("/me/enterprise/")
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    client.force_login(staff_user("clerk", "clerk901"))
    assert client.get("/me/enterprise/")["Location"] == "/console/"


def test_one_company_never_sees_anothers_data(client, city):  # noqa: F811
    a, a_truck, a_car, a_app, a_booking = company_with_everything(city, "深圳市甲运输有限公司", 9)
    b, b_truck, b_car, b_app, b_booking = company_with_everything(city, "深圳市乙运输有限公司", 10)
    client.force_login(a)
    page = text(client.get("/me/enterprise/"))
    assert a.enterprise.name in page and b.enterprise.name not in page
    for mine in (format_plate(a_truck.plate), format_plate(a_car.plate), a_app.reference, a_booking.reference):
        assert mine in page
    for theirs in (format_plate(b_truck.plate), format_plate(b_car.plate), b_app.reference, b_booking.reference):
        assert theirs not in page
    # the truck pass lists only A's own trucks: not B's, not A's car
    form = client.get("/services/truck_pass/apply/")
    choices = [value for value, _label in form.context["form"].fields["plate"].choices]
    assert choices == ["", a_truck.plate]
    assert [v.plate for v in account_vehicles(user=a)] == sorted([a_truck.plate, a_car.plate])


def test_my_page_sends_an_enterprise_to_its_page(client):
    user = enterprise_user()
    client.force_login(user)
    r = client.get("/me/")
    assert r.status_code == 302 and r["Location"] == "/me/enterprise/"


def test_an_enterprise_account_not_linked_to_a_company_is_told_so(client):
    from jiaoguan.identity.models import User

    user = User.objects.create_user(username="ent_unlinked", role="enterprise")
    client.force_login(user)
    r = client.get("/me/enterprise/")
    page = text(r)
    assert r.status_code == 200 and "账户尚未关联企业" in page and "企业可办业务" not in page


# --- the truck pass: the plate chosen from the company's trucks -------------------------------------------------


def test_the_truck_pass_form_offers_the_companys_trucks_and_refuses_any_other(client):
    company = enterprise_user()
    lorry = truck(owner_user=company)
    other = truck(owner_user=enterprise_user())
    client.force_login(company)
    r = client.get("/services/truck_pass/apply/")
    html = r.content.decode()
    assert r.status_code == 200 and '<select name="plate"' in html
    assert f'<option value="{lorry.plate}">' in html and other.plate not in html
    assert f"{format_plate(lorry.plate)} · 载货汽车" in html
    # a tampered form naming another company's truck is not saved
    data = {**truck_pass_data(other.plate), "idempotency_key": "key-tampered-form-01", "go": "check"}
    r = client.post("/services/truck_pass/apply/", data)
    assert r.status_code == 422 and field_errors(r, "plate")
    from jiaoguan.applications.models import Application
    assert not Application.objects.filter(applicant=company).exists()
    # the own truck goes through to the check page
    r = client.post("/services/truck_pass/apply/", {**truck_pass_data(lorry.plate), "idempotency_key": "key-own-truck-ok-01",
                                                     "go": "check"})
    assert r.status_code == 302 and r["Location"].endswith("/check/"), text(r)[:500]
    app = Application.objects.get(applicant=company)
    assert app.form()["plate"] == lorry.plate


def test_a_company_without_a_truck_is_told_why_the_list_is_empty(client):
    company = enterprise_user()
    car = make_vehicle(owner=None)
    car.owner_uscc = company.enterprise.uscc
    car.save(update_fields=["owner_uscc"])
    client.force_login(company)
    page = text(client.get("/services/truck_pass/apply/"))
    assert "名下没有可选的车辆" in page and "您名下没有可办理本事项的车辆" in page
    assert format_plate(car.plate) not in page


def test_a_citizen_chooses_among_their_own_trucks(client):
    user, person, _lic, car = citizen(name="陈运输")
    lorry = truck(owner_user=user)
    client.force_login(user)
    choices = [v for v, _l in client.get("/services/truck_pass/apply/").context["form"].fields["plate"].choices]
    assert choices == ["", lorry.plate]  # the citizen's car is not a truck
    # while the account's phone is not the phone on file, the own vehicles are withheld: none offered
    person.phone = "13700137999"
    person.save()
    choices = [v for v, _l in client.get("/services/truck_pass/apply/").context["form"].fields["plate"].choices]
    assert choices == [""]


def test_the_api_refuses_a_plate_not_the_applicants_and_lists_the_choices(client):
    from jiaoguan.identity.services import token_issue

    company = enterprise_user()
    lorry = truck(owner_user=company)
    other = truck(owner_user=enterprise_user())
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=company)}"}
    r = client.get("/api/v1/services/truck_pass/vehicles", **auth)
    assert r.status_code == 200 and [v["plate"] for v in r.json()["plate"]] == [lorry.plate]
    assert r.json()["plate"][0]["kind_label"] == {"zh": "载货汽车", "en": "Truck"}
    guide = client.get("/api/v1/services/truck_pass").json()
    plate_field = next(f for f in guide["form"] if f["name"] == "plate")
    assert plate_field["type"] == "own_vehicle" and plate_field["vehicle_kinds"] == ["truck"]
    r = client.post("/api/v1/me/applications", json.dumps({"service": "truck_pass",
                                                           "data": truck_pass_data(other.plate)}),
                    content_type="application/json", **auth)
    assert r.status_code == 201
    app_id = r.json()["id"]
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="api-own-vehicle-1", HTTP_ACCEPT_LANGUAGE="en", **auth)
    body = r.json()
    assert r.status_code == 422 and body["code"] == "applications.form_invalid"
    assert body["fields"]["plate"] == (f"No vehicle with plate {other.plate} is registered to the applicant; "
                                       "choose one from the list")
    r = client.patch(f"/api/v1/me/applications/{app_id}", json.dumps({"data": {"plate": lorry.plate}}),
                     content_type="application/json", **auth)
    assert r.status_code == 200
    r = client.post(f"/api/v1/me/applications/{app_id}/submit", content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="api-own-vehicle-2", **auth)
    assert r.status_code == 200 and r.json()["status"] == "submitted"
