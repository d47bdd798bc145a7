"""Pages and APIs print local time (+08:00), never UTC (issue 9 §1)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.bookings.support import book, slot, user
from tests.portal.support import text

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


def test_my_bookings_prints_local_times(client, clock):
    clock.freeze(dt.datetime(2026, 12, 7, 0, 30, tzinfo=BEIJING))  # 2026-12-06 16:30 UTC
    me = user()
    client.force_login(me)
    held = book(slot(capacity=1, starts_in=dt.timedelta(days=2)), me, "h")  # 2026-12-09 00:30 Beijing
    body = text(client.get("/me/bookings/"))
    assert held.reference in body
    assert "2026-12-09 00:30" in body and "2026-12-08 16:30" not in body


def _local(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    assert parsed.utcoffset() == dt.timedelta(hours=8), value
    return parsed


def test_my_bookings_api_prints_plus_eight(client, clock):
    from tests.api.helpers import bearer, get

    clock.freeze(dt.datetime(2026, 12, 7, 0, 30, tzinfo=BEIJING))
    me = user()
    held = book(slot(capacity=1, starts_in=dt.timedelta(days=2)), me, "h")
    [item] = get(client, "me/bookings", **bearer(me)).json()
    assert item["id"] == held.pk
    assert _local(item["slot"]["starts_at"]).replace(tzinfo=None) == dt.datetime(2026, 12, 9, 0, 30)
    _local(item["hold_expires_at"]), _local(item["created_at"])


def test_typed_api_output_prints_plus_eight(client, clock):
    """Schemas with datetime fields go through the API's renderer: +08:00, not UTC's "Z"."""
    from tests.api.helpers import post
    from tests.identity.helpers import PASSWORD, holder, register

    clock.freeze(dt.datetime(2026, 12, 7, 0, 30, tzinfo=BEIJING))
    me = register(holder())
    out = post(client, "auth/login", {"login": me.phone, "password": PASSWORD, "mode": "token"})
    assert out.status_code == 200, out.content
    assert not out.json()["token_expires_at"].endswith("Z")
    _local(out.json()["token_expires_at"])
