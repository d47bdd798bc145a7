"""PostgreSQL, real parallel connections: opening balances (the registry import's outbox handler), handlings and
revocations of one licence racing each other lose no point and never deadlock (lock order: violation, points
accounts in cycle order, licence row, audit head)."""
from __future__ import annotations

import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.audit import Actor
from jiaoguan.registry.rules import scoring_cycle
from jiaoguan.violations import services
from jiaoguan.violations.models import PointsAccount
from tests.concurrency import in_threads
from tests.factories import make_licence, make_person, make_vehicle
from tests.violations.conftest import APPROVER, STAFF, record

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_openings_handlings_and_revocations_racing_lose_no_point(payments):
    person = make_person()
    licence = make_licence(person=person, first_issue=dt.date(2018, 3, 20), valid_until=None)
    car = make_vehicle(owner=person, registered=clock.today() - dt.timedelta(days=300))
    start = scoring_cycle(licence.first_issue_date, clock.today())[0]
    to_revoke = record(car, code="1352")
    services.violation_handle_counter(violation=to_revoke, licence=licence, actor=STAFF)  # 3
    fresh = [record(car, code="1352", when=clock.now() - dt.timedelta(hours=3 + i)) for i in range(3)]

    def act(i: int):
        if i < 3:
            return services.violation_handle_counter(violation=fresh[i], licence=licence, actor=STAFF)
        if i == 3:
            return services.violation_revoke(violation=to_revoke, actor=APPROVER, reason="核实有误 wrong record")
        return services.points_opening_set(licence=licence, points=2, cycle_start=start, source="registry.import",
                                           actor=Actor.system("registry.import"))

    results = in_threads(6, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    licence.refresh_from_db()
    acc = PointsAccount.objects.get(licence=licence, cycle_start=start)
    assert acc.total == acc.carried_in + sum(acc.entries.values_list("points", flat=True)) == 2 + 9
    assert licence.cycle_points == 11
