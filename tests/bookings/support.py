"""Test data for the capacity engine: resources and slots made through the services, fast accounts."""
from __future__ import annotations

import datetime as dt
import itertools
from contextlib import contextmanager

from django.db import transaction

from jiaoguan.bookings import services
from jiaoguan.bookings.models import Resource
from jiaoguan.core import clock
from jiaoguan.core.audit import Actor

SYS = Actor.system("test")
_seq = itertools.count(1)


def user(role: str = "citizen"):
    """A bare account (no registry person): enough for the engine, which only needs a user row."""
    from jiaoguan.identity.models import User

    n = next(_seq)
    return User.objects.create_user(username=f"bk{n:06d}", role=role)


def resource(*, kind: str = "counter", policy: str = Resource.Policy.FIRST_COME, hold: int = 10,
             offer: int = 30) -> Resource:
    n = next(_seq)
    return services.resource_create(kind=kind, code=f"{kind}-{n}", name_zh=f"资源{n}", name_en=f"Resource {n}",
                                    actor=SYS, policy=policy, hold_minutes=hold, waitlist_offer_minutes=offer)


def slot(*, capacity: int = 2, kind: str = "counter", starts_in: dt.timedelta = dt.timedelta(days=2),
         quotas: list | None = None, period_key: str = "", hold: int = 10, offer: int = 30,
         cancel_before: dt.timedelta | None = None, res: Resource | None = None):
    res = res or resource(kind=kind, hold=hold, offer=offer)
    now = clock.now()
    starts = now + starts_in
    return services.slot_create(
        resource=res, starts_at=starts, ends_at=starts + dt.timedelta(hours=1),
        quotas=quotas or [services.QuotaSpec("public", capacity)], actor=SYS, period_key=period_key,
        cancel_until=starts - cancel_before if cancel_before else None)


def ranked_slot(*, capacity: int = 2, kind: str = "exam", starts_in: dt.timedelta = dt.timedelta(days=10),
                closes_before: dt.timedelta = dt.timedelta(days=3), quotas: list | None = None,
                res: Resource | None = None):
    res = res or resource(kind=kind, policy=Resource.Policy.RANKED)
    now = clock.now()
    starts = now + starts_in
    return services.slot_create(
        resource=res, starts_at=starts, ends_at=starts + dt.timedelta(hours=2), closes_at=starts - closes_before,
        cancel_until=starts - dt.timedelta(days=1),
        quotas=quotas or [services.QuotaSpec("public", capacity)], actor=SYS)


def book(slot, u, key: str, *, party: str | None = None, quota: str = "public", confirm: bool = False):
    return services.seat_book(slot_id=slot.pk, user=u, subject=f"s:{key}", exclusive_key=key,
                              party=party or f"party:{u.pk}", actor=SYS, quota=quota, confirm=confirm)


def apply(slot, u, key: str, sort_time, *, party: str | None = None, quota: str = "public"):
    return services.application_submit(slot_id=slot.pk, user=u, subject=f"s:{key}", exclusive_key=key,
                                       party=party or f"party:{u.pk}", sort_time=sort_time, actor=SYS, quota=quota)


def join(slot, u, key: str, *, party: str | None = None, quota: str = "public"):
    return services.waitlist_join(slot_id=slot.pk, user=u, subject=f"s:{key}", exclusive_key=key,
                                  party=party or f"party:{u.pk}", actor=SYS, quota=quota)


def counts() -> dict:
    """Row counts of every table the engine writes (plus the audit log): for "nothing written" checks."""
    from jiaoguan.bookings.models import Application, Booking, Penalty, WaitlistEntry
    from jiaoguan.core.models import AuditEntry, OutboxEvent

    return {m.__name__: m.objects.count() for m in (Booking, Application, WaitlistEntry, Penalty, AuditEntry,
                                                    OutboxEvent)}


def audits(obj, action: str | None = None) -> list:
    from jiaoguan.core.models import AuditEntry

    qs = AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("id"))


@contextmanager
def each_example():
    """A block around one hypothesis example, rolled back at its end by the test. Marked as the test case's own
    (as Django's TestCase marks its blocks), so core.locks treats each service call inside as its own
    transaction, as it is in production, not as one transaction that takes locks after its audit rows."""
    block = transaction.atomic()
    block._from_testcase = True
    with block:
        yield
