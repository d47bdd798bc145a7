"""Stateful property (issue 9 §3): whatever order imports (opening balances), handlings, payments, revocations and
cycle ends come in, the licence card equals the sum of the ledger for the current cycle, and no point that came
in is lost within a cycle."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from jiaoguan.core import clock as core_clock
from jiaoguan.core.audit import Actor
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.outbox import event_deliver, events_due
from jiaoguan.registry.imports import registry_import
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.rules import scoring_cycle
from jiaoguan.registry.selectors import licence_summary
from jiaoguan.violations import services
from jiaoguan.violations.models import PointsAccount, Violation
from tests.factories import make_vehicle
from tests.violations.conftest import APPROVER, STAFF, record

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("import:test")
FIRST = dt.date(2018, 3, 20)
START = dt.datetime(2026, 6, 1, 10, 0)
CODES = {"1352": 3, "1625": 6, "1116": 1, "1357": 3}  # code → points (fines > 0)
_serial = itertools.count(1)


class PointsLedger(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        core_clock.freeze(START)
        n = next(_serial)
        self.id_number = make_id_number("440304", dt.date(1980, 1, 1) + dt.timedelta(days=n), 371 + n % 500)
        self.file_number = f"44039{n:07d}"
        registry_import(kind="persons", data=f"身份证号码,姓名\n{self.id_number},王建国\n".encode(), actor=ACTOR)
        self.licence = self._import(0, "")
        self.car = make_vehicle(owner=self.licence.person, registered=dt.date(2025, 1, 1))
        self.reported: dict[dt.date, int] = {}  # the figure last reported per cycle
        self.handled: dict[int, tuple[dt.date, int]] = {}  # violation → (cycle it went to, points)
        self.revoked: set[int] = set()

    def _import(self, points: int | str, cycle: str) -> DrivingLicence:
        report = registry_import(kind="licences", actor=ACTOR, data=(
            "身份证号码,档案编号,准驾车型,初次领证日期,有效期起始日期,有效期至,累积记分,记分周期起始日期\n"
            f"{self.id_number},{self.file_number},C1,2018-03-20,2024-03-20,2034-03-20,{points},{cycle}\n").encode())
        assert not report.errors, report.errors
        for pk in events_due():  # the outbox, as after commit
            event_deliver(pk)
        return DrivingLicence.objects.get(file_number=self.file_number)

    def cycle(self, on: dt.date | None = None) -> dt.date:
        return scoring_cycle(FIRST, on or core_clock.today())[0]

    def teardown(self):
        core_clock.reset()

    # --- what happens, in any order ---------------------------------------------------------------------------

    @rule(points=st.integers(min_value=0, max_value=13), previous=st.booleans())
    def import_points(self, points, previous):
        start = self.cycle()
        if previous and start > FIRST:
            start = self.cycle(start - dt.timedelta(days=1))
        self._import(points, start.isoformat())
        self.reported[start] = points

    @rule(code=st.sampled_from(sorted(CODES)))
    def handle(self, code):
        self.licence.refresh_from_db()
        v = record(self.car, code=code, when=core_clock.now() - dt.timedelta(hours=2))
        if v.status != Violation.Status.RECORDED:  # a first-violation warning carries no points
            return
        services.violation_handle_counter(violation=v, licence=self.licence, actor=STAFF)
        self.handled[v.pk] = (self.cycle(), CODES[code])

    @precondition(lambda self: any(v not in self.revoked for v in self.handled))
    @rule(data=st.data())
    def pay(self, data):
        pk = data.draw(st.sampled_from(sorted(v for v in self.handled if v not in self.revoked)))
        v = Violation.objects.get(pk=pk)
        if v.status == Violation.Status.HANDLED:
            services.violation_mark_paid(violation=v, actor=STAFF)

    @precondition(lambda self: any(v not in self.revoked for v in self.handled))
    @rule(data=st.data())
    def revoke(self, data):
        pk = data.draw(st.sampled_from(sorted(v for v in self.handled if v not in self.revoked)))
        services.violation_revoke(violation=Violation.objects.get(pk=pk), actor=APPROVER, reason="核实有误 wrong")
        self.revoked.add(pk)

    @rule(days=st.integers(min_value=1, max_value=400))
    def time_passes(self, days):
        """Time moves on (across a cycle end or not) and the hourly job opens the cycles that began."""
        core_clock.advance(dt.timedelta(days=days))
        services.points_cycles_open()

    # --- what always holds ------------------------------------------------------------------------------------

    @invariant()
    def card_is_the_ledger(self):
        lic = DrivingLicence.objects.get(pk=self.licence.pk)
        start = self.cycle()
        card = licence_summary(licence=lic).points
        acc = PointsAccount.objects.filter(licence=lic, cycle_start=start).first()
        if acc is None:  # the ledger has not opened this cycle: nothing came into it, the card shows nothing
            assert card == 0 == services.points_in_cycle(licence=lic)
            return
        ledger = acc.carried_in + sum(acc.entries.values_list("points", flat=True))
        assert acc.total == ledger
        assert card == max(ledger, 0) == services.points_in_cycle(licence=lic)
        assert (lic.cycle_points, lic.points_cycle_start) == (max(ledger, 0), start)

    @invariant()
    def nothing_that_came_into_a_cycle_is_lost(self):
        for acc in PointsAccount.objects.filter(licence_id=self.licence.pk):
            opening = sum(acc.entries.filter(kind="opening").values_list("points", flat=True))
            assert opening == self.reported.get(acc.cycle_start, 0)
            live = sum(p for pk, (start, p) in self.handled.items() if start == acc.cycle_start
                       and pk not in self.revoked)
            assert acc.total == acc.carried_in + opening + live
            assert acc.carried_in >= 0


def test_the_card_always_equals_the_ledger(payments):
    run_state_machine_as_test(PointsLedger, settings=settings(
        max_examples=20, stateful_step_count=10, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
