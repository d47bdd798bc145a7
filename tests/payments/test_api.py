"""The payments API and pages: orders with Idempotency-Key, pay through the simulator's page, callbacks over
HTTP, e-receipts seen only by their payer, bad input → clear 4xx and nothing written."""
from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.core.models import AuditEntry, IdempotencyKey
from jiaoguan.payments import simulator
from jiaoguan.payments.models import Order, PayableItem, Payment, SimTrade
from tests.api.helpers import assert_error, bearer, get, post
from tests.factories import make_person
from tests.identity.helpers import register
from tests.payments.conftest import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen():
    person = make_person()
    user = register(person)
    return user, person


def create_order(auth, items, key="order-key-0001"):
    return post(Client(), "payments/orders", {"item_ids": [i.pk for i in items]}, HTTP_IDEMPOTENCY_KEY=key, **auth)


def test_my_items_with_the_late_fee(citizen):
    user, person = citizen
    mine = make_item(person_id=person.pk, amount_fen=20000)
    make_item(person_id=make_person().pk)
    r = get(Client(), "payments/items", **bearer(user))
    assert r.status_code == 200
    assert [(i["id"], i["total_fen"]) for i in r.json()] == [(mine.pk, 20000)]


def test_order_create_is_idempotent(citizen):
    user, person = citizen
    items = [make_item(person_id=person.pk, amount_fen=20000), make_item(person_id=person.pk, amount_fen=300)]
    auth = bearer(user)
    first = create_order(auth, items)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["total_fen"] == 20300 and body["status"] == "open" and len(body["items"]) == 2
    again = create_order(auth, items)
    assert again.status_code == 201 and again.json()["reference"] == body["reference"]
    assert Order.objects.count() == 1
    # the same key for a different request is refused
    assert_error(create_order(auth, items[:1]), 422, "core.idempotency_mismatch")
    assert_error(create_order(auth, items, key=""), 422, "core.idempotency_key", {"Idempotency-Key"})


def test_only_my_own_items_and_orders(citizen):
    user, _person = citizen
    other = make_person()
    theirs = make_item(person_id=other.pk)
    assert_error(create_order(bearer(user), [theirs]), 404)
    assert Order.objects.count() == 0 and IdempotencyKey.objects.count() == 0
    # someone else's order is "not found", like one that does not exist
    other_user = register(other)
    ref = create_order(bearer(other_user), [theirs], key="their-key-001").json()["reference"]
    assert_error(get(Client(), f"payments/orders/{ref}", **bearer(user)), 404)
    assert get(Client(), f"payments/orders/{ref}", **bearer(other_user)).status_code == 200


def test_bad_input(citizen):
    user, _person = citizen
    auth = bearer(user)
    assert_error(post(Client(), "payments/orders", {"item_ids": "x"}, HTTP_IDEMPOTENCY_KEY="k" * 10, **auth), 422,
                 fields={"item_ids"})
    assert_error(post(Client(), "payments/orders", {"item_ids": []}, HTTP_IDEMPOTENCY_KEY="k" * 10, **auth), 422,
                 "payments.no_items", {"item_ids"})
    assert_error(get(Client(), "payments/orders/440392000000000199", **auth), 422,
                 "payments.reference_check_digit", {"reference"})
    assert_error(get(Client(), "payments/items/by-reference/123", **auth), 422, fields={"reference"})
    assert_error(get(Client(), "payments/items"), 401)
    assert Order.objects.count() == 0


def test_a_scanned_reference_is_refused_before_any_lookup(citizen, django_assert_num_queries):
    user, person = citizen
    item = make_item(person_id=person.pk)
    auth = bearer(user)
    ok = get(Client(), f"payments/items/by-reference/{item.reference}", **auth)
    assert ok.status_code == 200 and ok.json()["id"] == item.pk
    bad = item.reference[:-1] + str((int(item.reference[-1]) + 1) % 10)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        r = get(Client(), f"payments/items/by-reference/{bad}", **auth)
    assert_error(r, 422, "payments.reference_check_digit", {"reference"})
    assert not any("payments_payableitem" in q["sql"] for q in queries.captured_queries)


def test_the_whole_journey_over_http(citizen, django_capture_on_commit_callbacks):
    user, person = citizen
    item = make_item(person_id=person.pk, amount_fen=20000)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    pay = post(Client(), f"payments/orders/{ref}/pay", {}, **auth)
    assert pay.status_code == 200, pay.content
    url = pay.json()["pay_url"]
    assert post(Client(), f"payments/orders/{ref}/pay", {}, **auth).json()["pay_url"] == url  # same page again
    payer_browser = Client()
    page = payer_browser.get(url)
    assert page.status_code == 200 and "¥200.00" in page.content.decode()
    assert_error(get(Client(), f"payments/orders/{ref}/receipt", **auth), 404)  # not paid yet
    with django_capture_on_commit_callbacks(execute=True):
        done = payer_browser.post(url, {"action": "pay"})
    assert done.status_code == 302
    assert f"/pay/receipt/{ref}/" in payer_browser.get(url).content.decode()  # back from the pay page
    order = get(Client(), f"payments/orders/{ref}", **auth).json()
    assert order["status"] == "paid" and order["items"][0]["status"] == "paid"
    receipt = get(Client(), f"payments/orders/{ref}/receipt", **auth).json()
    trade = SimTrade.objects.get(out_trade_no=ref)
    assert receipt["serial"] == trade.trade_no and receipt["total_fen"] == 20000 and receipt["channel"] == "sim"
    # the printable page: only the payer
    browser = Client()
    browser.force_login(user)
    html = browser.get(f"/pay/receipt/{ref}/")
    assert html.status_code == 200
    text = html.content.decode()
    assert trade.trade_no in text and "¥200.00" in text and "<svg" in text and "电子回单" in text
    stranger = Client()
    stranger.force_login(register(make_person()))
    assert stranger.get(f"/pay/receipt/{ref}/").status_code == 404
    assert Client().get(f"/pay/receipt/{ref}/").status_code == 302  # to the login page
    assert browser.get("/pay/receipt/440392000000000199/").status_code == 404


def test_payer_cancels_on_the_pay_page(citizen, django_capture_on_commit_callbacks):
    user, person = citizen
    item = make_item(person_id=person.pk)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    url = post(Client(), f"payments/orders/{ref}/pay", {}, **auth).json()["pay_url"]
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(url, {"action": "cancel"})
    assert Order.objects.get(reference=ref).status == "closed"
    assert PayableItem.objects.get(pk=item.pk).status == "unpaid"
    assert Client().post(url, {"action": "pay"}).status_code == 409  # a closed trade cannot be paid


def test_callback_endpoint(citizen, quiet_channel):
    user, person = citizen
    item = make_item(person_id=person.pk, amount_fen=20000)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    post(Client(), f"payments/orders/{ref}/pay", {}, **auth)
    trade = simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=ref).token)
    body, headers = simulator.sim_callback(trade, "paid")
    http_headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    before = AuditEntry.objects.count()
    forged = body.replace(b"20000", b"2")
    assert_error(post(Client(), "payments/callback/sim", forged, **http_headers), 403, "payments.callback_signature")
    assert_error(post(Client(), "payments/callback/sim", body), 403)
    bad_sig = {**http_headers, "HTTP_X_PAY_SIGNATURE": "0" * 64}
    assert_error(post(Client(), "payments/callback/sim", body, **bad_sig), 403)
    assert_error(post(Client(), "payments/callback/nope", body, **http_headers), 404)
    assert Payment.objects.count() == 0 and AuditEntry.objects.count() == before
    for expected in ("settled", "duplicate", "duplicate"):
        r = post(Client(), "payments/callback/sim", body, **http_headers)
        assert r.status_code == 200 and r.json() == {"result": expected}
    assert Payment.objects.count() == 1


def test_citizen_closes_an_order(citizen):
    user, person = citizen
    item = make_item(person_id=person.pk)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    r = post(Client(), f"payments/orders/{ref}/close", {}, **auth)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert_error(post(Client(), f"payments/orders/{ref}/pay", {}, **auth), 409, "payments.order_not_open")


def test_the_simulator_is_off_when_not_enabled(citizen, settings):
    user, person = citizen
    item = make_item(person_id=person.pk)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    url = post(Client(), f"payments/orders/{ref}/pay", {}, **auth).json()["pay_url"]
    assert Client().get("/pay/sim/no-such-token/").status_code == 404
    settings.JIAOGUAN_PAY_CHANNELS = []
    assert Client().get(url).status_code == 404
    assert_error(post(Client(), "payments/callback/sim", b"{}"), 404, "payments.channel_unknown")
    settings.JIAOGUAN_PAY_CHANNELS = None  # unset (settings.py: JIAOGUAN_PAY_CHANNELS empty)
    settings.PRODUCTION = True  # never on by default in production
    assert Client().get(url).status_code == 404


def test_callbacks_over_http_when_a_notify_url_is_set(citizen, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    """JIAOGUAN_PAY_SIM_NOTIFY_URL: the simulator POSTs its signed callback like a provider would."""
    import urllib.request

    user, person = citizen
    item = make_item(person_id=person.pk, amount_fen=20000)
    auth = bearer(user)
    ref = create_order(auth, [item]).json()["reference"]
    post(Client(), f"payments/orders/{ref}/pay", {}, **auth)
    settings.JIAOGUAN_PAY_SIM_NOTIFY_URL = "http://testserver/api/v1/payments/callback/sim"
    sent = []

    class Reply:
        def __init__(self, response):
            self.response = response

        def read(self):
            return self.response.content

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(request, timeout):
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.header_items()
                   if k.lower() != "content-type"}
        response = Client().post(request.full_url.removeprefix("http://testserver"), request.data,
                                 content_type="application/json", **headers)
        sent.append(response)
        return Reply(response)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with django_capture_on_commit_callbacks(execute=True):
        simulator.sim_trade_confirm(token=SimTrade.objects.get(out_trade_no=ref).token)
    assert [(r.status_code, r.json()) for r in sent] == [(200, {"result": "settled"})]
    assert Order.objects.get(reference=ref).status == "paid"


def test_errors_in_english(citizen):
    user, _person = citizen
    r = get(Client(), "payments/orders/440392000000000199", HTTP_ACCEPT_LANGUAGE="en", **bearer(user))
    body = assert_error(r, 422, "payments.reference_check_digit")
    assert body["fields"]["reference"].startswith("The check digits")
