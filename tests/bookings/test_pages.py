"""我的预约 (portal) and the staff booking pages (console): what people see, the buttons, permissions."""
import datetime as dt
from pathlib import Path

import pytest

from jiaoguan.bookings import rules, selectors, services
from jiaoguan.bookings.models import AllocationRun, Booking, Penalty, Slot
from jiaoguan.core import clock
from jiaoguan.core.models import AuditEntry
from tests.bookings.support import SYS, apply, book, counts, join, ranked_slot, slot, user
from tests.portal.support import EN, citizen_records, register, staff_user, text

pytestmark = pytest.mark.django_db
LIST = "/me/bookings/"



def test_list_shows_everything_with_deadlines_and_rank(client, clock):
    clock.freeze(clock.now())
    me = user()
    client.force_login(me)
    s = slot(capacity=2, kind="eastern")
    held = book(s, me, "h")
    r = ranked_slot(capacity=3)
    apply(r, user(), "o", clock.now() - dt.timedelta(days=9))
    apply(r, me, "p", clock.now())
    full = slot(capacity=1, kind="inspection")
    book(full, user(), "x")
    join(full, me, "w")
    page = client.get(LIST)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    body = text(page)
    assert "我的预约" in body and held.reference in body
    assert "当前排名第2位，名额3个" in body
    assert "确认期限" in body and "确认预约" in body and "放弃名额" in body
    assert "撤回申请" in body and "退出候补" in body and "候补中" in body
    en = text(client.get(LIST, **EN))
    assert "My bookings" in en and "Currently ranked 2 of 3 seats" in en


def test_confirm_then_cancel_by_buttons(client):
    me = user()
    client.force_login(me)
    s = slot(capacity=1)
    b = book(s, me, "k")
    page = client.get(LIST)
    key = page.context["key"]
    r = client.post(f"/me/bookings/{b.pk}/confirm/", {"idempotency_key": f"{key}-c{b.pk}"})
    assert r.status_code == 302 and r["Location"] == LIST
    b.refresh_from_db()
    assert b.status == Booking.Status.CONFIRMED
    again = client.post(f"/me/bookings/{b.pk}/confirm/", {"idempotency_key": f"{key}-c{b.pk}"})  # resubmitted
    assert again.status_code == 302
    body = text(client.get(LIST))
    assert "预约已确认" in body and "取消截止" in body and "取消预约" in body
    r = client.post(f"/me/bookings/{b.pk}/cancel/", {"idempotency_key": f"{key}-x{b.pk}"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == Booking.Status.CANCELLED
    r = client.post(f"/me/bookings/{b.pk}/cancel/", {"idempotency_key": "another-key-0001"})
    assert r.status_code == 409 and "该预约当前状态不能取消" in text(r)


def test_no_cancel_button_after_the_deadline(client, clock):
    clock.freeze(clock.now())
    me = user()
    client.force_login(me)
    s = slot(capacity=1, cancel_before=dt.timedelta(days=1))
    b = book(s, me, "k", confirm=True)
    clock.advance(dt.timedelta(days=1, minutes=1))
    body = text(client.get(LIST))
    assert "已过取消截止时间" in body and "取消预约" not in body.replace("取消截止", "")
    before = counts()
    r = client.post(f"/me/bookings/{b.pk}/cancel/", {"idempotency_key": "late-cancel-0001"})
    assert r.status_code == 409 and "取消截止时间" in text(r) and counts() == before


def test_withdraw_buttons(client, clock):
    me = user()
    client.force_login(me)
    a = apply(ranked_slot(), me, "p", clock.now())
    r = client.post(f"/me/bookings/applications/{a.pk}/withdraw/", {"idempotency_key": "withdraw-a-0001"})
    assert r.status_code == 302
    full = slot(capacity=1)
    book(full, user(), "x")
    e = join(full, me, "w")
    r = client.post(f"/me/bookings/waitlist/{e.pk}/withdraw/", {"idempotency_key": "withdraw-w-0001"})
    assert r.status_code == 302
    e.refresh_from_db()
    a.refresh_from_db()
    assert e.status == "withdrawn" and a.status == "withdrawn"


def test_other_citizens_booking_is_404_and_anonymous_and_staff_are_sent_away(client):
    owner, me = user(), user()
    b = book(slot(capacity=1), owner, "k")
    client.force_login(me)
    before = counts()
    for url in (f"/me/bookings/{b.pk}/confirm/", f"/me/bookings/{b.pk}/release/", f"/me/bookings/{b.pk}/cancel/"):
        assert client.post(url, {"idempotency_key": "foreign-0001x"}).status_code == 404
    assert client.get(f"/me/bookings/{b.pk}/confirm/").status_code == 405
    assert counts() == before and b.reference not in text(client.get(LIST))
    assert client.post(f"/me/bookings/{b.pk}/confirm/", {}).status_code == 400  # no key: the page expired
    client.logout()
    r = client.get(LIST)
    assert r.status_code == 302 and "/login/" in r["Location"]
    client.force_login(user("clerk"))
    assert client.get(LIST)["Location"] == "/console/"


def test_phone_width_markup(client):
    me = user()
    client.force_login(me)
    book(slot(capacity=1), me, "k")
    html = client.get(LIST).content.decode()
    assert 'name="viewport"' in html and "<script" not in html.split("</head>")[1]
    # the phone layout is in the page's stylesheet (no inline style under the Content-Security-Policy)
    assert "portal/css/bookings-list.css" in html
    css = (Path(__file__).resolve().parents[2] / "src/jiaoguan/portal/static/portal/css/bookings-list.css").read_text()
    assert "@media (max-width: 480px)" in css


# --- console ---------------------------------------------------------------------------------------------------

CONSOLE = "/console/bookings/"


def test_console_permissions(client):
    s = slot(capacity=1)
    assert client.get(CONSOLE).status_code == 302  # to the console login
    client.force_login(user())
    assert client.get(CONSOLE).status_code == 403
    assert client.get(f"{CONSOLE}slots/{s.pk}/").status_code == 403
    client.force_login(user("clerk"))
    assert client.get(CONSOLE).status_code == 200
    assert client.get(f"{CONSOLE}allocations/").status_code == 403
    assert client.post(f"{CONSOLE}allocations/").status_code == 403
    assert client.post(f"{CONSOLE}slots/{s.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert AllocationRun.objects.count() == 0 and Slot.objects.get(pk=s.pk).status == "open"
    assert client.get(f"{CONSOLE}slots/999999/").status_code == 404


def test_slot_detail_masked_and_attendance(client, clock):
    # a fixed hour of the local day: the console lists today's slots, and a slot "in an hour" after 23:00 local
    # is tomorrow's (this test failed on CI's clock at 23:00 Beijing time)
    clock.freeze(dt.datetime.combine(clock.today(), dt.time(10)))
    person, _, _ = citizen_records(name="王小明", vehicle=False)
    citizen = register(person)
    s = slot(capacity=3, kind="eastern", starts_in=dt.timedelta(hours=1))
    b = book(s, citizen, "k", confirm=True)
    clerk = user("clerk")
    client.force_login(clerk)
    listing = text(client.get(CONSOLE))
    assert "1 / 3" in listing
    filtered = client.get(CONSOLE, {"kind": "exam", "day": clock.today().isoformat()})
    assert filtered.status_code == 200 and "1 / 3" not in text(filtered)
    assert client.get(CONSOLE, {"day": "not-a-date"}).status_code == 400
    access_before = AuditEntry.objects.filter(kind="access").count()
    body = text(client.get(f"{CONSOLE}slots/{s.pk}/"))
    assert "王*明" in body and "王小明" not in body and person.phone not in body
    assert person.phone[:3] + "****" + person.phone[-4:] in body and b.reference in body
    assert AuditEntry.objects.filter(kind="access").count() == access_before  # masked: no access row
    assert "已到场" not in body  # not started yet: no attendance buttons
    r = client.post(f"{CONSOLE}bookings/{b.pk}/attendance/", {"attended": "0"})
    assert r.status_code == 409 and "场次尚未开始" in text(r)
    clock.advance(dt.timedelta(hours=1))
    assert "未到场" in text(client.get(f"{CONSOLE}slots/{s.pk}/"))
    r = client.post(f"{CONSOLE}bookings/{b.pk}/attendance/", {"attended": "0"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == "no_show"
    assert client.post(f"{CONSOLE}bookings/{b.pk}/attendance/", {"attended": "x"}).status_code == 400


def test_console_cancel_booking_and_slot(client):
    s = slot(capacity=2)
    b = book(s, user(), "k", confirm=True)
    client.force_login(user("clerk"))
    r = client.post(f"{CONSOLE}bookings/{b.pk}/cancel/", {"reason": ""})
    assert r.status_code == 400 and "须填写原因" in text(r)
    r = client.post(f"{CONSOLE}bookings/{b.pk}/cancel/", {"reason": "考生申请"})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == "cancelled" and b.cancelled_by == "staff"
    client.force_login(user("approver"))
    r = client.post(f"{CONSOLE}slots/{s.pk}/cancel/", {"reason": "台风停考"})
    assert r.status_code == 302 and Slot.objects.get(pk=s.pk).status == "cancelled"


def test_console_allocation_and_ranked_detail(client, clock):
    clock.freeze(clock.now())
    rs = ranked_slot(capacity=1)
    apply(rs, user(), "a", clock.now() - dt.timedelta(days=1))
    apply(rs, user(), "b", clock.now())
    client.force_login(user("approver"))
    body = text(client.get(f"{CONSOLE}slots/{rs.pk}/"))
    assert "排队申请（按排序）" in body
    clock.advance(dt.timedelta(days=7, seconds=1))
    page = text(client.get(f"{CONSOLE}allocations/"))
    assert "待分配的场次：1 个" in page
    r = client.post(f"{CONSOLE}allocations/")
    assert r.status_code == 302
    run = AllocationRun.objects.get()
    assert (run.slots, run.applications, run.allocated) == (1, 2, 1)
    page = text(client.get(f"{CONSOLE}allocations/"))
    assert "分配完成" in page and "待分配的场次：0 个" in page


def test_console_penalties_lift(client):
    now = clock.now()
    p = Penalty.objects.create(party="粤B3", kind="eastern", reason_zh="3次取消预约", reason_en="3 × cancellation",
                               period_key="2026-nd", starts_at=now, created_at=now)
    client.force_login(user("clerk"))
    body = text(client.get(f"{CONSOLE}penalties/"))
    assert "粤B3" in body and "3次取消预约" in body and "解除限制" not in body
    assert client.post(f"{CONSOLE}penalties/{p.pk}/lift/", {"reason": "x"}).status_code == 403
    client.force_login(user("approver"))
    assert client.post(f"{CONSOLE}penalties/{p.pk}/lift/", {"reason": ""}).status_code == 400
    assert client.post(f"{CONSOLE}penalties/{p.pk}/lift/", {"reason": "复核撤销"}).status_code == 302
    p.refresh_from_db()
    assert p.lifted_at is not None
    assert client.post(f"{CONSOLE}penalties/99999/lift/", {"reason": "x"}).status_code == 404


def test_console_slot_shows_the_ranks_of_the_one_rule(client, clock):
    """What the console's slot page shows as each application's rank is the rank of rules.live_rank (ties by
    submission, withdrawn ones out) and the one selectors.application_rank shows the citizen; after the
    allocation, the published rank of the SQL allocation."""
    clock.freeze(clock.now())
    s = ranked_slot(capacity=2)
    t = clock.now() - dt.timedelta(days=30)
    us = [user() for _ in range(5)]
    apps = [apply(s, us[0], "c0", t + dt.timedelta(days=2)), apply(s, us[1], "c1", t),
            apply(s, us[2], "c2", t), apply(s, us[3], "c3", t + dt.timedelta(days=1)),
            apply(s, us[4], "c4", t - dt.timedelta(days=1))]
    services.application_withdraw(application_id=apps[4].pk, user=us[4], actor=SYS)
    pending = apps[:4]
    items = [rules.Ranked(a.pk, a.sort_time) for a in pending]
    client.force_login(user("clerk"))
    page = client.get(f"{CONSOLE}slots/{s.pk}/")
    assert page.status_code == 200
    shown = {row["a"].pk: row["rank"] for row in page.context["applications"]}
    want = {a.pk: rules.live_rank(rules.Ranked(a.pk, a.sort_time), items) for a in pending}
    assert {pk: shown[pk] for pk in want} == want
    assert [shown[a.pk] for a in pending] == [4, 1, 2, 3] and shown[apps[4].pk] is None
    assert all(shown[a.pk] == selectors.application_rank(application=a) for a in pending)
    listed = [row["a"].pk for row in page.context["applications"] if row["a"].status == "pending"]
    assert listed == [apps[1].pk, apps[2].pk, apps[3].pk, apps[0].pk]  # best first
    clock.advance(dt.timedelta(days=8))
    services.applications_allocate(actor=SYS)
    shown = {row["a"].pk: row["rank"] for row in client.get(f"{CONSOLE}slots/{s.pk}/").context["applications"]}
    assert [shown[a.pk] for a in pending] == [4, 1, 2, 3]


def test_console_slot_list_far_dates_and_huge_ids_are_4xx(client):
    """Review: a day near year 1 or 9999 overflowed the clock arithmetic (500); ids beyond bigint likewise."""
    client.raise_request_exception = False
    client.force_login(staff_user("approver", "appr814"))
    for d in ("9999-12-31", "0001-01-01"):
        r = client.get(f"{CONSOLE}?day={d}")
        assert r.status_code == 400 and "日期超出范围" in r.content.decode()
    big = 2**63
    assert client.get(f"{CONSOLE}slots/{big}/").status_code == 404
    for url in (f"slots/{big}/cancel/", f"bookings/{big}/attendance/", f"bookings/{big}/cancel/",
                f"penalties/{big}/lift/"):
        assert client.post(f"{CONSOLE}{url}", {"reason": "x", "attended": "1"}).status_code == 404, url


def test_quotas_lock_ignores_ids_beyond_the_column(db):
    from django.db import transaction

    from jiaoguan.bookings import services

    s = slot(capacity=1)
    with transaction.atomic():
        assert services.quotas_lock(slot_ids=[s.pk, 2**63, -5]) == [s.quotas.get().pk]
