"""Portal pages: list → start → draw → redraw → hold → confirm, compose, bad input, someone else's → 404."""
from __future__ import annotations

import re

import pytest

from jiaoguan.plates.models import PlateNumber, Selection
from tests.plates.conftest import owner_with_new_car

pytestmark = pytest.mark.django_db


def key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_selection_pages(client, owner):
    user, car = owner
    client.force_login(user)
    page = client.get("/me/plates/")
    assert page.status_code == 200 and "开始选号" in page.content.decode()
    r = client.post(f"/me/plates/vehicles/{car.pk}/start/")
    sel = Selection.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/me/plates/{sel.pk}/"
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    assert "剩余摇号次数" in html and "摇号" in html
    r = client.post(f"/me/plates/{sel.pk}/draw/", {"idempotency_key": key(html)})
    assert r.status_code == 302
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    assert html.count('class="plate-btn') == 5 and "重新摇号" in html
    r = client.post(f"/me/plates/{sel.pk}/draw/", {"idempotency_key": key(html)})
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    assert "摇号次数已用完" in html
    # a redraw beyond the limit (a stale form) → 409 with the message, nothing written
    r = client.post(f"/me/plates/{sel.pk}/draw/", {"idempotency_key": "stale-form-000001"})
    assert r.status_code == 409 and "摇号次数已用完" in r.content.decode()
    number = Selection.objects.get().offered[0]
    r = client.post(f"/me/plates/{sel.pk}/hold/", {"idempotency_key": key(html), "number": number})
    assert r.status_code == 302
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    assert "锁定至" in html and "确认选用此号码" in html
    old_plate = car.plate
    # irreversible: without the explicit "我已核对" tick nothing is confirmed (no JavaScript needed)
    r = client.post(f"/me/plates/{sel.pk}/confirm/", {"idempotency_key": key(html)})
    assert r.status_code == 400 and "请勾选" in r.content.decode()
    assert Selection.objects.get().status == "open" and PlateNumber.objects.get(number=number).status == "held"
    assert 'name="understood"' in html and "确认后不可更改" in html
    r = client.post(f"/me/plates/{sel.pk}/confirm/", {"idempotency_key": key(html), "understood": "yes"})
    assert r.status_code == 302
    car.refresh_from_db()
    assert car.plate == number
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    assert "号牌已确定" in html
    # the facts show the new number as the car's plate, the old one as the old one
    from jiaoguan.core.identifiers import format_plate

    assert re.search(r"<dt>新号牌</dt><dd[^>]*>" + re.escape(format_plate(number)), html)
    assert not re.search(r"<dt>现号牌</dt><dd[^>]*>" + re.escape(format_plate(old_plate)), html)


def test_compose_form_and_english(client, owner):
    user, car = owner
    client.force_login(user)
    client.post(f"/me/plates/vehicles/{car.pk}/start/")
    sel = Selection.objects.get()
    r = client.post(f"/me/plates/{sel.pk}/compose/", {"number": "ABC12"})
    assert r.status_code == 422 and "最多含2个字母" in r.content.decode()
    r = client.post(f"/me/plates/{sel.pk}/compose/", {"number": "3K456"})
    assert r.status_code == 200 and "号码可以选用" in r.content.decode()
    r = client.post(f"/me/plates/{sel.pk}/hold/", {"idempotency_key": "compose-hold-01", "number": "粤B3K456"})
    assert r.status_code == 302 and PlateNumber.objects.get(number="粤B3K456").status == "held"
    r = client.post(f"/me/plates/{sel.pk}/release/", {"idempotency_key": "release-form-01"})
    assert r.status_code == 302 and PlateNumber.objects.get(number="粤B3K456").status == "available"
    client.cookies["django_language"] = "en"
    html = client.get(f"/me/plates/{sel.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Draws left" in html or "draws left" in html.lower()


def test_someone_elses_vehicle_and_selection(client, owner):
    user, car = owner
    other, other_car = owner_with_new_car()
    client.force_login(other)
    client.post(f"/me/plates/vehicles/{other_car.pk}/start/")
    other_sel = Selection.objects.get()
    client.force_login(user)
    assert client.post(f"/me/plates/vehicles/{other_car.pk}/start/").status_code == 404
    assert client.get(f"/me/plates/{other_sel.pk}/").status_code == 404
    for action in ("draw", "hold", "confirm", "release", "compose", "keep"):
        r = client.post(f"/me/plates/{other_sel.pk}/{action}/", {"idempotency_key": "x" * 20, "number": "A0001"})
        assert r.status_code == 404, action
    assert Selection.objects.count() == 1 and Selection.objects.get().draws_used == 0
    assert client.get("/me/plates/").status_code == 200


def test_anonymous_goes_to_login(client):
    r = client.get("/me/plates/")
    assert r.status_code == 302 and "/login/" in r["Location"]
