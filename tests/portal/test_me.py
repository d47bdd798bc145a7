"""My page: licence card and vehicles as the registry has them, in both languages; access rules."""
import datetime as dt
from urllib.parse import quote

import pytest

from jiaoguan.core import clock
from jiaoguan.identity.services import bindings_sync_own
from tests.factories import make_vehicle
from tests.portal.support import EN, citizen, citizen_records, register, staff_user, text

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in ("/me/", "/me/vehicles/bind/", "/me/messages/", "/me/vehicles/bindings/1/confirm/",
                "/me/vehicles/bindings/1/unbind/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"] == f"/login/?next={quote(url, safe='')}", url
    # a POST with an expired session comes back to "my" page, not to a POST-only address
    r = client.post("/me/messages/1/read/")
    assert r["Location"] == "/login/?next=%2Fme%2F"


def test_staff_are_sent_to_the_console(client):
    client.force_login(staff_user("auditor", "audit001"))
    for url in ("/me/", "/me/vehicles/bind/", "/me/messages/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"] == "/console/"


def test_licence_card(client):
    user, person, lic, car = citizen(name="陈大文", classes="C1 E", points=3)
    client.force_login(user)
    r = client.get("/me/")
    page = text(r)
    assert "陈*文，您好" in page
    assert person.id_number not in page  # the licence number is the ID number: masked
    assert person.id_number[:4] + "**********" + person.id_number[-4:] in page
    assert "C1小型汽车" in page.replace(" ", "") and "E普通二轮摩托车" in page.replace(" ", "")
    assert "正常" in page and 'class="tag big ok"' in r.content.decode()
    assert lic.file_number in page
    summary = r.context["licence"]
    assert f"周期至 {summary.cycle_end:%Y-%m-%d}" in page
    assert "3 分" in page or ">3<" in r.content.decode()
    assert f"{lic.valid_until:%Y-%m-%d}" in page
    assert "实习期内" not in page

    page_en = text(client.get("/me/", **EN))
    assert "Driving licence" in page_en and "Small car" in page_en and "Two-wheeled motorcycle" in page_en
    assert "Valid" in page_en and "小型汽车" not in page_en


def test_probation_and_expired_licences_are_flagged(client):
    user, person, lic, _ = citizen(probation=True)
    client.force_login(user)
    page = text(client.get("/me/"))
    assert "实习期内" in page and f"{lic.probation_until:%Y-%m-%d}" in page

    # the same licence seen after it expired: red status and an explanation
    clock.freeze(dt.datetime.combine(lic.valid_until + dt.timedelta(days=10), dt.time(10)))
    r = client.get("/me/")
    assert "超过有效期" in text(r) and 'class="tag big bad"' in r.content.decode()
    assert "请尽快办理换证" in text(r)


def test_vehicles_with_inspection_and_insurance(client):
    user, person, lic, car = citizen()
    nev = make_vehicle(owner=person, plate="粤BD12345", plate_type="52", brand="比亚迪 汉EV")  # no insurance
    bindings_sync_own(user=user)  # what logging in does: own vehicles are bound automatically
    client.force_login(user)
    r = client.get("/me/")
    html, page = r.content.decode(), text(r)
    assert "粤B·" + car.plate[2:] in page and "粤B·D12345" in page
    assert '<span class="plate nev">粤B·D12345</span>' in html
    assert f'<span class="plate ">粤B·{car.plate[2:]}</span>' in html  # blue: no colour class
    assert "本人车辆" in page
    assert f"{car.inspection_due:%Y-%m-%d}" in page
    summaries = {mv.vehicle.plate: mv.vehicle for mv in r.context["vehicles"]}
    assert summaries[nev.plate].insurance_status == "none"
    assert summaries[nev.plate].insurance_zh in page
    assert summaries[car.plate].insurance_zh in page
    # no unbind button for own vehicles
    assert "解除绑定" not in page
    page_en = text(client.get("/me/", **EN))
    assert "Small new-energy" in page_en and "My own vehicle" in page_en


def test_a_citizen_without_records(client):
    person, _, _ = citizen_records(licence=False, vehicle=False)
    client.force_login(register(person))
    page = text(client.get("/me/"))
    assert "您名下没有驾驶证记录" in page and "您还没有机动车" in page


def test_one_citizen_never_sees_anothers_vehicles(client):
    alice, *_ = citizen(name="甲一")
    bob, bob_person, _, bob_car = citizen(name="乙二")
    client.force_login(alice)
    page = text(client.get("/me/"))
    assert bob_car.plate[2:] not in page and "乙*" not in page


def test_personal_pages_and_api_answers_are_never_cached(client):
    """Cache-Control: a signed-in citizen's pages and a token bearer's API answers are private, no-store; a
    public page for an anonymous visitor keeps the defaults."""
    from jiaoguan.identity import services as identity

    user, *_ = citizen()
    anonymous_home = client.get("/")
    assert "no-store" not in anonymous_home.get("Cache-Control", "")
    client.force_login(user)
    for url in ("/me/", "/me/payments/", "/credentials/", "/services/mine/", "/me/messages/"):
        r = client.get(url)
        assert r.status_code == 200 and "no-store" in r["Cache-Control"] and "private" in r["Cache-Control"], url
    client.logout()
    token = identity.token_issue(user=user)
    for url in ("/api/v1/me/vehicles", "/api/v1/me/licences"):
        r = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert r.status_code == 200 and "no-store" in r["Cache-Control"], (url, r.status_code)


def test_the_answer_that_carries_a_new_token_is_never_cached(client):
    """An anonymous login through the API gets its bearer token in the answer: that answer is private, no-store
    too (any write's answer is), although the request carried no session and no token."""
    from tests.portal.support import PASSWORD, admin_user

    admin_user("admin777")
    r = client.post("/api/v1/auth/login", {"login": "admin777", "password": PASSWORD, "mode": "token"},
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["token"] and "no-store" in r["Cache-Control"]
