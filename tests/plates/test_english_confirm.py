"""The plate confirmation step (irreversible, an explicit tick) reads in English on an English page."""
from __future__ import annotations

import re

import pytest

from jiaoguan.plates.models import Selection
from tests.portal.support import EN, text

pytestmark = pytest.mark.django_db


def _key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_confirm_step_in_english(client, owner):
    user, car = owner
    client.force_login(user)
    client.post(f"/me/plates/vehicles/{car.pk}/start/")
    sel = Selection.objects.get()
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    client.post(f"/me/plates/{sel.pk}/draw/", {"idempotency_key": _key(html)})
    number = Selection.objects.get().offered[0]
    html = client.get(f"/me/plates/{sel.pk}/").content.decode()
    client.post(f"/me/plates/{sel.pk}/hold/", {"idempotency_key": _key(html), "number": number})
    r = client.get(f"/me/plates/{sel.pk}/", **EN)
    body = text(r)
    assert "Once confirmed, the plate number cannot be changed" in body and "I have checked: I choose" in body
    assert "确认后不可更改" not in body and "一经确定" not in body
    r = client.post(f"/me/plates/{sel.pk}/confirm/", {"idempotency_key": _key(r.content.decode())}, **EN)
    assert r.status_code == 400 and "Tick “I have checked”" in text(r)
    assert client.post(f"/me/plates/{sel.pk}/confirm/", {"idempotency_key": _key(r.content.decode()),
                                                          "understood": "yes"}).status_code == 302
    body = text(client.get(f"/me/plates/{sel.pk}/", **EN))
    assert "New plate" in body and "Previous plate" in body
