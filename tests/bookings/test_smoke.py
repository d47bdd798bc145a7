import datetime as dt

import pytest

from jiaoguan.bookings import selectors, services
from jiaoguan.bookings.models import Booking, Resource
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.errors import Conflict
from tests.portal.support import citizen_records, register

pytestmark = pytest.mark.django_db
SYS = Actor.system("test")


def _user():
    person, _, _ = citizen_records(vehicle=False)
    return register(person)


def test_first_come_and_ranked_smoke():
    now = clock.now()
    r = services.resource_create(kind="counter", code="c1", name_zh="窗口", name_en="Counter", actor=SYS)
    slot = services.slot_create(resource=r, starts_at=now + dt.timedelta(days=2), ends_at=now + dt.timedelta(days=2, hours=1),
                                quotas=[services.QuotaSpec("public", 1)], actor=SYS)
    u1, u2 = _user(), _user()
    b = services.seat_book(slot_id=slot.pk, user=u1, subject="s1", exclusive_key="k1", party="p1", actor=SYS)
    assert b.status == Booking.Status.HELD
    with pytest.raises(Conflict):
        services.seat_book(slot_id=slot.pk, user=u2, subject="s2", exclusive_key="k2", party="p2", actor=SYS)
    w = services.waitlist_join(slot_id=slot.pk, user=u2, subject="s2", exclusive_key="k2", party="p2", actor=SYS)
    services.booking_confirm(booking_id=b.pk, user=u1, actor=SYS)
    services.booking_cancel(booking_id=b.pk, user=u1, actor=SYS)
    w.refresh_from_db()
    assert w.status == "offered" and w.booking.status == "held"
    rr = services.resource_create(kind="exam", code="e1", name_zh="科目一", name_en="Theory test", actor=SYS,
                                  policy=Resource.Policy.RANKED)
    s2 = services.slot_create(resource=rr, starts_at=now + dt.timedelta(days=10), ends_at=now + dt.timedelta(days=10, hours=1),
                              closes_at=now + dt.timedelta(days=5), quotas=[services.QuotaSpec("public", 1)], actor=SYS)
    a1 = services.application_submit(slot_id=s2.pk, user=u1, subject="p:1", exclusive_key="e:1", party="u1",
                                     sort_time=now - dt.timedelta(days=3), actor=SYS)
    a2 = services.application_submit(slot_id=s2.pk, user=u2, subject="p:2", exclusive_key="e:2", party="u2",
                                     sort_time=now - dt.timedelta(days=5), actor=SYS)
    assert selectors.application_rank(application=a1) == 2 and selectors.application_rank(application=a2) == 1
    run = services.applications_allocate(actor=SYS, now=now + dt.timedelta(days=6))
    assert run.allocated == 1
    a2.refresh_from_db()
    a1.refresh_from_db()
    assert a2.status == "allocated" and a2.booking.status == "confirmed" and a1.status == "unsuccessful"
    assert services.slot_allocation_notify(slot_id=s2.pk) == 2
    a1.refresh_from_db()
    assert a1.meta.get("notified") and services.slot_allocation_notify(slot_id=s2.pk) == 0


def test_the_life_cycles_cover_the_models_statuses():
    """rules' state machines (what services move along and pages offer from) name exactly the models' statuses."""
    from jiaoguan.bookings import rules
    from jiaoguan.bookings.models import LIVE_BOOKING, Application, Booking, Slot, WaitlistEntry

    assert rules.BOOKING.states == set(Booking.Status.values)
    assert rules.APPLICATION.states == set(Application.Status.values)
    assert rules.WAITLIST.states == set(WaitlistEntry.Status.values)
    assert rules.SLOT.states == set(Slot.Status.values)
    assert rules.BOOKING_RUNNING == {"held", "confirmed"} and rules.BOOKING_RUNNING < set(LIVE_BOOKING)
    assert rules.BOOKING.sources("cancelled") == {"held", "confirmed"}
    assert rules.SLOT.sources("allocated") == {"open", "closed"}
    assert not rules.BOOKING.allows("expired", "confirmed") and rules.BOOKING.allows("held", "expired")


def test_bookable_is_one_rule_in_python_and_sql(db):
    """rules.slot_bookable (pages) and selectors.bookable (queries) agree on every slot of the day."""
    import datetime as dt

    from jiaoguan.bookings import selectors
    from jiaoguan.bookings.models import Slot
    from jiaoguan.core import clock
    from tests.bookings.support import slot

    slot(capacity=1)  # open now
    slot(capacity=1, starts_in=dt.timedelta(days=3))
    Slot.objects.filter(pk=slot(capacity=1).pk).update(status="cancelled")
    now = clock.now()
    Slot.objects.filter(pk=slot(capacity=1).pk).update(opens_at=now + dt.timedelta(hours=1))
    in_sql = set(Slot.objects.filter(selectors.bookable(now=now)).values_list("pk", flat=True))
    in_python = {s.pk for s in Slot.objects.all() if selectors.slot_bookable(slot=s, now=now)}
    assert in_sql == in_python and len(in_sql) == 2
