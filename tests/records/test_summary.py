"""The read model's "summary" part (GET me/summary, the tiles of "my page"): payments due, upcoming bookings and
applications in progress reach it through the outbox like the registry's and the violations' changes do; a rebuild
equals what the events left; a booking stops being "upcoming" when it starts, with no event."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from jiaoguan.applications import services as applications
from jiaoguan.applications.catalogue import CATALOGUE_DIR, catalogue_load, catalogue_use
from jiaoguan.bookings import services as bookings
from jiaoguan.core.audit import Actor
from jiaoguan.payments import services as payments
from jiaoguan.records import parts, services
from jiaoguan.records.models import RecordPart
from tests.api.helpers import bearer, get
from tests.applications.support import TEST_CATALOGUE, accepted, citizen, staff
from tests.applications.support import actor as staff_actor
from tests.bookings.support import book, slot

pytestmark = pytest.mark.django_db
SYS = Actor.system("test")


@pytest.fixture(autouse=True)
def _catalogue(settings, tmp_path, clock):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    clock.freeze(dt.datetime(2026, 11, 23, 10, 0))  # a Monday: working-day limits are deterministic
    with catalogue_use(catalogue_load(CATALOGUE_DIR, TEST_CATALOGUE)):
        yield


def stored(user, language: str = "zh-hans") -> dict:
    return json.loads(RecordPart.objects.get(user=user, part="summary", language=language).body)


def fresh(user, language: str = "zh-hans") -> dict:
    user.refresh_from_db()
    return json.loads(parts.make_all(user)["summary"].render(language))


def api(user, language: str = "zh-hans") -> dict:
    response = get(Client(), "me/summary", HTTP_ACCEPT_LANGUAGE="en" if language == "en" else "zh-CN",
                   **bearer(user))
    assert response.status_code == 200
    return response.json()


def test_payments_bookings_and_applications_reach_the_summary(deliver):
    user = citizen()
    first = api(user)  # materialised from now on
    assert first["payments"] == {"count": 0, "total_fen": 0, "late_fee_fen": 0, "oldest_created_at": None}
    assert first["bookings"] == {"upcoming": 0, "next": None}
    assert first["applications"] == {"open": 0, "returned": 0, "latest": None}
    assert first["licence"]["points"] == 0 and first["vehicles"]["own"] == 0

    seen = [stored(user)]

    def step(name, action):
        result = deliver(action)
        now = stored(user)
        assert now == fresh(user), name
        assert now != seen[-1], f"{name} changed nothing in the summary"
        seen.append(now)
        return result

    step("a fee is due", lambda: payments.payable_create(
        kind="fee", source_type="test.fee", source_id="1", payer_person_id=user.person_id, amount_fen=1000,
        description_zh="工本费", description_en="Production fee"))
    assert stored(user)["payments"]["count"] == 1 and stored(user)["payments"]["total_fen"] == 1000

    counter = slot(kind="counter", starts_in=dt.timedelta(days=2))
    booking = step("a counter appointment", lambda: book(counter, user, f"k:{user.pk}", confirm=True))
    assert stored(user)["bookings"]["upcoming"] == 1
    assert stored(user)["bookings"]["next"]["reference"] == booking.reference
    assert api(user, "en")["bookings"]["next"]["what"] == counter.resource.name_en

    clerk, approver = staff("clerk"), staff("approver")
    app = step("an application accepted", lambda: accepted(clerk, user, "t_standard"))
    assert stored(user)["applications"]["open"] == 1
    assert stored(user)["applications"]["latest"]["status"] == "under_review"
    step("sent back for correction", lambda: applications.application_send_back(
        application_id=app.pk, actor=staff_actor(approver), comment="请补充联系电话"))
    assert stored(user)["applications"]["returned"] == 1

    step("the fee cancelled", lambda: payments.payable_cancel(
        source_type="test.fee", source_id="1", actor=SYS, reason="撤销 revoked"))
    assert stored(user)["payments"]["count"] == 0
    step("the appointment cancelled by staff", lambda: bookings.booking_cancel(
        booking_id=booking.pk, actor=SYS, reason="窗口调整"))
    assert stored(user)["bookings"] == {"upcoming": 0, "next": None}

    # a rebuild from scratch gives what the events left, with the same ETag
    etag = RecordPart.objects.get(user=user, part="summary", language="zh-hans").etag
    services.records_rebuild_all()
    assert stored(user) == seen[-1]
    assert RecordPart.objects.get(user=user, part="summary", language="zh-hans").etag == etag
    assert api(user) == seen[-1]


def test_a_booking_stops_being_upcoming_when_it_starts(deliver, clock):
    user = citizen()
    api(user)
    counter = slot(kind="counter", starts_in=dt.timedelta(hours=3))
    deliver(lambda: book(counter, user, f"k:{user.pk}", confirm=True))
    assert api(user)["bookings"]["upcoming"] == 1
    clock.freeze(clock.localtime(counter.starts_at).replace(tzinfo=None) + dt.timedelta(minutes=1))
    assert api(user)["bookings"] == {"upcoming": 0, "next": None}  # no event: the part's stale_at


def test_my_page_shows_the_tiles_of_the_summary(deliver):
    user = citizen()
    deliver(lambda: payments.payable_create(
        kind="fee", source_type="test.fee", source_id="2", payer_person_id=user.person_id, amount_fen=2050,
        description_zh="工本费", description_en="Production fee"))
    client = Client()
    client.force_login(user)
    page = client.get("/me/").content.decode()
    assert 'id="glance"' in page and "¥20.50" in page
    english = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Payments due" in english and "Violations to handle" in english


def test_the_application_shown_is_the_newest_in_progress():
    from jiaoguan.applications.models import Application

    user, clerk = citizen(), staff("clerk")
    in_progress = accepted(clerk, user, "t_standard")
    decided = accepted(clerk, user, "t_standard")
    Application.objects.filter(pk=decided.pk).update(status="approved")  # newer, and decided
    services.records_build(user_id=user.pk)
    assert stored(user)["applications"]["latest"]["id"] == in_progress.pk
    assert stored(user)["applications"]["open"] == 1
    Application.objects.filter(pk=in_progress.pk).update(status="rejected")  # nothing in progress: the newest
    services.records_build(user_id=user.pk)
    assert stored(user)["applications"]["latest"]["id"] == decided.pk
    assert stored(user)["applications"]["open"] == 0
