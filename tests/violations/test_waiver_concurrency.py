"""Racing uploads and waiver requests of one vehicle (PostgreSQL, real parallel connections): the vehicle's waiver
key serialises them, so the first violation by occurrence time ends up the only one waived, whichever commits
first — never two "first" violations because each transaction missed the other's uncommitted row."""
import datetime as dt

import pytest

from jiaoguan.core import clock
from jiaoguan.core.errors import Conflict
from jiaoguan.violations import services
from jiaoguan.violations.models import Violation
from tests.factories import make_person, make_vehicle
from tests.violations.conftest import APPROVER, STAFF, record
from tests.violations.test_concurrency import run_parallel
from tests.violations.test_handling import citizen_with_car

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def at(hours_ago: float) -> dt.datetime:
    return clock.now() - dt.timedelta(hours=hours_ago)


def test_two_uploads_of_one_car_race_one_waiver():
    car = make_vehicle(owner=make_person(), registered=clock.today() - dt.timedelta(days=900))
    times = [at(3), at(2), at(1)]  # 3 h, 2 h and 1 h ago, uploaded at the same moment
    results = run_parallel(3, lambda i: record(car, code="1039", when=times[i]).pk)
    assert all(kind == "ok" for kind, _ in results), results
    rows = list(Violation.objects.filter(vehicle=car).order_by("occurred_at"))
    assert [(v.status, v.fine_fen) for v in rows] == [("waived", 0), ("recorded", 20000), ("recorded", 20000)]


def test_a_waiver_request_racing_a_late_earlier_upload_ends_unwaived():
    user, car = citizen_with_car()
    misread = record(car, code="1352", when=at(5))
    target = record(car, code="1039", when=at(4))  # not first while the misread record stands
    services.violation_revoke(violation=misread, actor=APPROVER, reason="号牌识别有误 misread")
    assert target.status == "recorded" and services.waiver_offer(violation=target).allowed
    earlier_at = at(6)

    def step(i):
        if i == 0:
            try:
                return services.violation_request_waiver(user=user, violation_id=target.pk).status
            except Conflict as exc:
                return exc.code
        return record(car, code="1039", when=earlier_at, actor=STAFF).status  # the earlier one, uploaded late

    results = run_parallel(2, step)
    assert all(kind == "ok" for kind, _ in results), results
    target.refresh_from_db()
    earliest = Violation.objects.get(vehicle=car, occurred_at=earlier_at)
    assert (earliest.status, target.status, target.fine_fen) == ("waived", "recorded", 20000)
