"""The set-based allocation (issue 12 §2) against a straightforward reference computation, on random small rounds:
several slots, quotas of several sizes, seats already taken, withdrawn applications, keys booked elsewhere meanwhile
and ties in sort time. Runs on the suite's database (SQLite, and PostgreSQL when DATABASE_URL is set)."""
import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jiaoguan.bookings import rules, services
from jiaoguan.bookings.models import LIVE_BOOKING, Application, Booking, Slot
from jiaoguan.bookings.services import ranked
from jiaoguan.core import clock as core_clock
from jiaoguan.core.models import AuditEntry, OutboxEvent
from tests.bookings.support import SYS, apply, each_example, ranked_slot, slot, user

pytestmark = pytest.mark.django_db
BASE = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
_refs = itertools.count(1)


def reference(slots: list[Slot]) -> dict[int, tuple[str, int | None]]:
    """What the allocation must decide, computed the plain way: per quota, the free seats (capacity less live
    bookings), the pending applications whose key has no live booking ranked by (sort time, id), allocated
    within the free seats; the others with a live booking elsewhere unsuccessful without a rank."""
    want = {}
    booked_keys = set(Booking.objects.filter(status__in=LIVE_BOOKING).values_list("exclusive_key", flat=True))
    for s in slots:
        for q in s.quotas.order_by("id"):
            free = max(0, q.capacity - Booking.objects.filter(quota=q, status__in=LIVE_BOOKING).count())
            pending = list(Application.objects.filter(quota=q, status="pending"))
            out = [a for a in pending if a.exclusive_key in booked_keys]
            ranked_ = sorted((a for a in pending if a.exclusive_key not in booked_keys),
                             key=lambda a: (a.sort_time, a.pk))
            want.update({a.pk: ("unsuccessful", None) for a in out})
            want.update({a.pk: ("allocated" if i <= free else "unsuccessful", i)
                         for i, a in enumerate(ranked_, start=1)})
    return want


quota_st = st.tuples(st.integers(0, 4), st.integers(0, 2))  # (capacity, seats already taken)
slot_st = st.tuples(st.lists(quota_st, min_size=1, max_size=3),
                    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.sampled_from("pwx")),
                             max_size=9))  # applications: (quota index, minutes, pending/withdrawn/key booked)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rounds=st.lists(slot_st, min_size=1, max_size=3), batch=st.integers(1, 3))
def test_set_based_allocation_matches_the_reference(rounds, batch):
    with each_example():
        core_clock.freeze(BASE)
        try:
            slots, n = [], 0
            elsewhere = slot(capacity=50)  # a first-come slot where keys get booked "meanwhile"
            for quotas, apps in rounds:
                specs = [services.QuotaSpec(f"q{i}", cap) for i, (cap, _taken) in enumerate(quotas)]
                s = ranked_slot(quotas=specs)
                slots.append(s)
                qs = list(s.quotas.order_by("id"))
                for q, (_cap, taken) in zip(qs, quotas):
                    for _ in range(taken):  # seats taken before the allocation (e.g. staff bookings)
                        Booking.objects.create(reference=f"T{next(_refs):09d}", slot=s, quota=q, user=user(),
                                               subject="x", exclusive_key=f"taken{next(_refs)}", party="p",
                                               status="confirmed", created_at=core_clock.now())
                for qi, minutes, kind in apps:
                    n += 1
                    q = qs[qi % len(qs)]
                    u = user()
                    a = apply(s, u, f"k{n}", BASE - dt.timedelta(days=30, minutes=-minutes), quota=q.name)
                    if kind == "w":
                        services.application_withdraw(application_id=a.pk, user=u, actor=SYS)
                    elif kind == "x":  # the key booked elsewhere, bypassing the checks as a race would
                        Booking.objects.create(reference=f"X{next(_refs):09d}", slot=elsewhere,
                                               quota=elsewhere.quotas.get(), user=u, subject="x",
                                               exclusive_key=f"k{n}", party="p", status="confirmed",
                                               created_at=core_clock.now())
            core_clock.advance(dt.timedelta(days=8))
            want = reference(slots)
            withdrawn = set(Application.objects.filter(status="withdrawn").values_list("pk", flat=True))
            run = services.applications_allocate(actor=SYS, batch_slots=batch)
            got = {a.pk: (a.status, a.rank) for a in Application.objects.exclude(status="withdrawn")}
            assert got == want
            assert set(Application.objects.filter(status="withdrawn").values_list("pk", flat=True)) == withdrawn
            allocated = [pk for pk, (status, _r) in want.items() if status == "allocated"]
            assert run.slots == len(slots) and run.allocated == len(allocated)
            assert run.applications == len(want)
            # one confirmed booking per allocated application, with its rank; none for the others
            bookings = {b.application_id: b for b in Booking.objects.filter(application__isnull=False)}
            assert sorted(bookings) == sorted(allocated)
            for pk, b in bookings.items():
                a = Application.objects.get(pk=pk)
                assert (b.status, b.slot_id, b.quota_id, b.user_id, b.exclusive_key, b.subject, b.party) == (
                    "confirmed", a.slot_id, a.quota_id, a.user_id, a.exclusive_key, a.subject, a.party)
                assert b.meta == {"rank": a.rank} and b.confirmed_at == core_clock.now()
                assert len(b.reference) == 12 and set(b.reference[2:]) <= set(rules._REF_ALPHABET)
            for s in slots:  # never oversold: the allocation fills at most the seats left
                for q in s.quotas.all():
                    taken = Booking.objects.filter(quota=q, application__isnull=True).count()
                    assert Booking.objects.filter(quota=q, application__isnull=False).count() <= max(
                        0, q.capacity - taken)
            assert set(Slot.objects.filter(pk__in=[s.pk for s in slots]).values_list("status", flat=True)) == {
                "allocated"}
            # one audit row and one outbox event per slot; a second run does nothing
            for s in slots:
                entries = AuditEntry.objects.filter(object_type="bookings.slot", object_id=str(s.pk),
                                                    action="booking.slot_allocated")
                assert entries.count() == 1
                assert sum(x["allocated"] for x in entries.get().new["quotas"]) == Booking.objects.filter(
                    slot=s, application__isnull=False).count()
                assert OutboxEvent.objects.filter(topic="bookings.slot_allocated", payload__slot_id=s.pk).count() == 1
            again = services.applications_allocate(actor=SYS)
            assert (again.slots, again.allocated) == (0, 0)
        finally:
            core_clock.reset()
            transaction.set_rollback(True)


def test_the_insert_writes_every_booking_column():
    columns = {f.column for f in Booking._meta.concrete_fields if not f.primary_key}
    assert set(ranked.BOOKED_COLUMNS) == columns


@given(n=st.integers(0, 300))
def test_references_drawn_at_once_look_like_one_drawn_alone(n):
    refs = rules.references_new(n)
    one = rules.reference_new()
    assert len(refs) == n
    assert all(len(r) == len(one) and r[:2] == "YY" and set(r[2:]) <= set(rules._REF_ALPHABET) for r in refs)


def test_reference_characters_are_all_used():
    chars = "".join(r[2:] for r in rules.references_new(2000))
    assert set(chars) == set(rules._REF_ALPHABET)  # 20,000 draws over 32 characters
