"""Review sweep: every API endpoint and page of the plates, eastern and exams apps, given garbage (broken JSON,
wrong types, numbers past 64 bits, ids that do not exist, I/O plates, impossible dates), answers with a 4xx,
never a 500, for a citizen and for an admin."""
from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, get_resolver

from jiaoguan.identity import services as identity
from tests.eastern.conftest import make_area, make_day
from tests.plates.conftest import owner_with_new_car
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
APPS = ("plates", "east", "exam")
IDS = ("1", str(10**20), "0")
BODIES = [b"{", b"[]", b'{"vehicle_id": "abc", "number": 5, "session_id": 1e400}',
          b'{"vehicle_id": 100000000000000000000, "slot_id": 100000000000000000000, "number": "\\u7ca4BI2345",'
          b' "area": "dapeng", "date": "2026-13-45", "person_id": 100000000000000000000, "office_id": -1,'
          b' "plates": "x", "kind": 1, "series": [], "session_ids": [100000000000000000000]}',
          b'{"area":"dapeng","date":"2026-11-22","daily_quota":100000000000000000000,"slots":-1,'
          b'"plate":"\\u7ca4BO0000","reason":"r","valid_until":"0001-01-01","venue_id":1,"subject":"1",'
          b'"starts_at":"0001-01-01T00:00:00","seats":100000000000000000000,"licence_class":"C1",'
          b'"accepted_at":"9999-12-31T00:00:00+08:00"}']
FORM = {"slot": "99999999999999999999999", "vehicle": "-1", "plate": "粤BI2345", "plates": "粤B1\n" * 60,
        "number": "x" * 500, "date": "2026-99-99", "daily_quota": "99999999999999999999999", "series": "#" * 9,
        "kind": "zz", "seats": "99999999999999999999", "starts_at": "0001-01-01T00:00", "idempotency_key": "k" * 20,
        "valid_until": "1900-01-01", "outcome": "pass", "booking_id": "99999999999999999999999",
        "office": "99999999999999999999", "rule": "regex", "value": "(", "person_id": "99999999999999999999999",
        "session_id": "99999999999999999999999", "accepted_at": "2026-01-01T00:00", "licence_class": "C1",
        "venue": "99999999999999999999"}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


def _fill(pattern: str, value: str) -> str:
    return "/" + re.sub(r"<[^>]+>|\{[^}]+\}", value, pattern).replace("^", "").replace("$", "")


def test_garbage_never_gives_a_500(client):
    user, _car = owner_with_new_car()
    admin = staff_user("admin", "admsweep")
    make_day(make_area())
    urls = sorted({u for u in _walk(get_resolver().url_patterns)
                   if any(a in u for a in APPS) and not u.startswith("admin")})
    assert len(urls) > 40
    client.raise_request_exception = False
    seen = set()
    for who in (user, admin):
        client.force_login(who)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {identity.token_issue(user=who)}"}
        for u in urls:
            for value in IDS:
                url = _fill(u, value)
                r = client.get(url, {"date": "2026-99-99", "person": "99999999999999999999", "q": "\x00"},
                               **bearer)
                assert r.status_code < 500, (who.username, "GET", url, r.status_code)
                if u.startswith("api/"):
                    for i, body in enumerate(BODIES):
                        r = client.generic("POST", url, body, content_type="application/json",
                                           HTTP_IDEMPOTENCY_KEY=f"sweep-{who.pk}-{i}-{value}-{len(url)}", **bearer)
                        assert r.status_code < 500, (who.username, url, body, r.status_code, r.content[:200])
                        seen.add(r.status_code)
                else:
                    for data in ({}, FORM):
                        r = client.post(url, data)
                        assert r.status_code < 500, (who.username, url, r.status_code)
                        seen.add(r.status_code)
    assert {400, 404, 422} <= seen
