"""TEMP exploratory fuzz of pages (reviewer)."""
import re
import pytest
from django.urls import get_resolver, URLPattern, URLResolver
from tests.plates.conftest import owner_with_new_car
from tests.eastern.conftest import make_area, make_day
from tests.portal.support import staff_user, PASSWORD

pytestmark = pytest.mark.django_db
STAT = {}


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


POSTS = [{}, {"number": "粤BI2345"}, {"number": "x" * 500}, {"vehicle_id": "10000000000000000000000", "slot_id": "99999999999999999999999",
          "session_id": "99999999999999999999999", "permit_id": "99999999999999999999999", "plate": "粤B12345"},
         {"slot_id": "abc", "vehicle_id": "-1", "plate": "\x00", "plates": "粤B1\n粤BI2345\n" * 50, "date": "2026-99-99",
          "daily_quota": "99999999999999999999999", "merchant_quota": "-5", "slots": "1e9", "series": "#" * 9,
          "kind": "zz", "seats": "99999999999999999999", "starts_at": "0001-01-01T00:00", "idempotency_key": "k" * 20,
          "valid_until": "1900-01-01", "outcome": "pass", "booking_id": "99999999999999999999999",
          "office_id": "99999999999999999999", "rule": "regex", "value": "(", "batch_size": "999999999999999999",
          "person_id": "99999999999999999999999", "accepted_at": "2026-01-01T00:00", "licence_class": "C1",
          "code": "x" * 100, "name_zh": "a", "name_en": "b", "subjects": ["9"], "venue_id": "99999999999999999999"}]


def test_fuzz_pages(client):
    user, car = owner_with_new_car()
    admin = staff_user("admin", "admfuzz")
    area = make_area(); make_day(area)
    urls = [u for u in walk(get_resolver().url_patterns)
            if any(k in u for k in ("plates", "east", "exams")) and not u.startswith("admin")]
    print("URLS", urls)
    bad = []
    for who, login in ((user, lambda: client.force_login(user)), (admin, lambda: client.force_login(admin))):
        login()
        for u in urls:
            for idv in ("1", "99999999999999999999999", "0"):
                url = "/" + re.sub(r"<[^>]+>", idv, u).replace("^", "").replace("$", "")
                for method in ("get", "post"):
                    datas = [None] if method == "get" else POSTS
                    for data in datas:
                        try:
                            r = client.get(url, {"date": "2026-99-99", "page": "99999999999999999999", "q": "\x00", "office": "999999999999999999999", "area": "zz", "session": "99999999999999999999999"}) if method == "get" else client.post(url, data)
                            code = r.status_code
                        except Exception as e:
                            code = 599
                            r = repr(e)[:300]
                        STAT[code] = STAT.get(code, 0) + 1
                        if code >= 500:
                            bad.append((who.username if hasattr(who, 'username') else who, method, url, str(data)[:80], code, r))
    print("STAT", STAT)
    for b in bad:
        print("BAD", b)
    assert not bad
