import pytest
from tests.bookings.support import book, slot, user
from tests.bookings.test_api import auth
from tests.portal.support import staff_user

pytestmark = pytest.mark.django_db
BIG = 2**63

def test_probe(client):
    client.raise_request_exception = False
    me = user()
    s = slot(capacity=1)
    b = book(s, me, "k1")
    clerk = staff_user("clerk", "clerk803")
    appr = staff_user("approver", "appr803")
    res = []
    def p(url, data, h):
        r = client.post(url, data=data, content_type="application/json", **h); res.append((url, r.status_code)); return r
    for path in ("bookings/%d/confirm", "bookings/%d/release", "bookings/%d/cancel", "booking-applications/%d/withdraw", "waitlist/%d/withdraw"):
        p("/api/v1/me/" + path % BIG, {}, auth(me, "kk-" + path[:5] + "xxxx"))
    r = client.get(f"/api/v1/staff/booking-slots/{BIG}", **auth(clerk)); res.append(("slot", r.status_code))
    p(f"/api/v1/staff/bookings/{BIG}/attendance", {"attended": True}, auth(clerk))
    p(f"/api/v1/staff/bookings/{BIG}/cancel", {"reason": "x"}, auth(clerk, "kk-abcdefgh"))
    p(f"/api/v1/staff/booking-slots/{BIG}/cancel", {"reason": "x"}, auth(appr, "kk-abcdefgi"))
    p(f"/api/v1/staff/booking-penalties/{BIG}/lift", {"reason": "x"}, auth(appr))
    r = client.get("/api/v1/staff/booking-penalties?party=" + "x" * 5000, **auth(clerk)); res.append(("pen", r.status_code))
    client.force_login(me)
    for path in ("%d/confirm/", "%d/release/", "%d/cancel/", "applications/%d/withdraw/", "waitlist/%d/withdraw/"):
        r = client.post("/me/bookings/" + path % BIG, {"idempotency_key": "k" * 20}); res.append((path, r.status_code))
    client.force_login(appr)
    for url in (f"/console/bookings/slots/{BIG}/", "/console/bookings/?day=9999-12-31", "/console/bookings/?day=0001-01-01", "/console/bookings/?kind=zzz"):
        r = client.get(url); res.append((url, r.status_code))
    for url, data in ((f"/console/bookings/slots/{BIG}/cancel/", {"reason": "x"}), (f"/console/bookings/bookings/{BIG}/attendance/", {"attended": "1"}),
                      (f"/console/bookings/bookings/{BIG}/cancel/", {"reason": "x"}), (f"/console/bookings/penalties/{BIG}/lift/", {"reason": "x"}),
                      (f"/console/bookings/bookings/{b.pk}/attendance/", {})):
        r = client.post(url, data); res.append((url, r.status_code))
    for x in res: print(x)
    assert all(x[-1] < 500 for x in res), [x for x in res if x[-1] >= 500]
