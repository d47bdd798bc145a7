"""Points never lost (issue 9 §3): points that come with the registry (CSV import, the demo city, figures on file
before the ledger) are the ledger's opening balance, and points handled on the platform add to them."""
from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps

from jiaoguan.core.audit import Actor, audit_verify
from jiaoguan.core.identifiers import make_id_number
from jiaoguan.core.models import AuditEntry
from jiaoguan.core.outbox import event_deliver, events_due
from jiaoguan.registry.imports import registry_import
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.selectors import licence_summary
from jiaoguan.violations import services
from jiaoguan.violations.models import PointsAccount, PointsEntry
from tests.factories import make_licence, make_person, make_vehicle
from tests.violations.conftest import APPROVER, STAFF, record

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("import:test")
ID1 = make_id_number("440304", dt.date(1980, 3, 14), 371)
LICENCES = "身份证号码,档案编号,准驾车型,初次领证日期,有效期起始日期,有效期至,累积记分,记分周期起始日期\n"
CYCLE = dt.date(2026, 3, 20)  # first issue 2018-03-20: the cycle containing 2026-06-01


@pytest.fixture(autouse=True)
def _today(clock):
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0))


def deliver() -> None:
    """What the outbox does after commit (the test's transaction never commits)."""
    for pk in events_due():
        event_deliver(pk)


def import_licence(points: int | str, cycle: str = "") -> DrivingLicence:
    report = registry_import(kind="licences", actor=ACTOR, data=(
        LICENCES + f"{ID1},440300008001,C1,2018-03-20,2024-03-20,2034-03-20,{points},{cycle}\n").encode())
    assert not report.errors, report.errors
    deliver()
    return DrivingLicence.objects.get(file_number="440300008001")


@pytest.fixture
def holder():
    registry_import(kind="persons", data=f"身份证号码,姓名,手机号码\n{ID1},王建国,13812345678\n".encode(), actor=ACTOR)
    lic = import_licence(2)
    car = make_vehicle(owner=lic.person, registered=dt.date(2025, 1, 1))
    return lic, car


def card(licence) -> int:
    licence.refresh_from_db()
    return licence_summary(licence=licence).points


def test_two_imported_points_and_a_handled_three_point_violation_show_five(holder, payments):
    lic, car = holder
    assert card(lic) == 2
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lic, actor=STAFF)  # 3 points
    assert card(lic) == 5  # was 3: the ledger overwrote the imported 2
    assert services.points_in_cycle(licence=lic) == 5
    acc = PointsAccount.objects.get(licence=lic)
    assert acc.total == acc.carried_in + sum(acc.entries.values_list("points", flat=True)) == 5
    opening = acc.entries.get(kind=PointsEntry.Kind.OPENING)
    assert (opening.points, opening.violation_id, opening.source) == (2, None, "registry.import")
    assert audit_verify().ok


def test_reimporting_the_same_file_changes_nothing_and_a_new_figure_adds_the_difference(holder, payments):
    lic, car = holder
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lic, actor=STAFF)
    deliver()  # the handling's own notices
    again = registry_import(kind="licences", actor=ACTOR, data=(
        LICENCES + f"{ID1},440300008001,C1,2018-03-20,2024-03-20,2034-03-20,2,\n").encode())
    assert again.unchanged == 1 and not events_due()
    assert card(lic) == 5
    import_licence(4)  # the city's system now reports 4 outside points for this cycle
    assert card(lic) == 7
    assert list(PointsEntry.objects.filter(kind="opening").values_list("points", flat=True)) == [2, 2]
    [row] = AuditEntry.objects.filter(action="licence.import_update")
    assert row.old == {"imported_points": 2} and row.new == {"imported_points": 4}
    import_licence(0)
    assert card(lic) == 3  # the handled violation's points stay


def test_imported_points_reaching_twelve_with_a_handled_violation_suspend_the_licence(holder, payments):
    lic, car = holder
    import_licence(9)
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lic, actor=STAFF)
    lic.refresh_from_db()
    assert (lic.cycle_points, lic.status) == (12, "suspended")


def test_revoking_takes_off_only_the_violations_points(holder, payments):
    lic, car = holder
    v = record(car, code="1352")
    services.violation_handle_counter(violation=v, licence=lic, actor=STAFF)
    services.violation_revoke(violation=v, actor=APPROVER, reason="核实有误 wrong record")
    assert card(lic) == 2


def test_points_on_a_card_the_ledger_never_saw_are_its_opening_balance(payments):
    person = make_person()
    lic = make_licence(person=person, first_issue=dt.date(2018, 3, 20), valid_until=None, cycle_points=2)
    car = make_vehicle(owner=person, registered=dt.date(2025, 1, 1))
    assert services.points_in_cycle(licence=lic) == 2  # before any account (e.g. the online limits' check)
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lic, actor=STAFF)
    assert card(lic) == 5
    assert PointsEntry.objects.get(kind="opening").source == "registry.card"


def test_the_migration_puts_points_on_file_into_the_ledger(payments):
    """0004: a licence with points and no account gets them as its opening balance; a licence whose figure the
    ledger already overwrote gets it back from the first mirror's audit row."""
    backfill = importlib.import_module("jiaoguan.violations.migrations.0004_points_opening_balance").backfill
    untouched = make_licence(person=make_person(), first_issue=dt.date(2018, 3, 20), valid_until=None,
                             cycle_points=4)
    person = make_person()
    lost = make_licence(person=person, first_issue=dt.date(2018, 3, 20), valid_until=None, cycle_points=2)
    car = make_vehicle(owner=person, registered=dt.date(2025, 1, 1))
    # what the ledger did before this fix: opened the account with 0 and mirrored that over the card's 2
    acc = PointsAccount.objects.create(licence=lost, cycle_start=CYCLE, cycle_end=dt.date(2027, 3, 19))
    services._mirror_points(licence=lost, account=acc, actor=Actor.system("violations.points"), reason="new")
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lost, actor=STAFF)
    assert card(lost) == 3
    backfill(django_apps, None)
    assert card(untouched) == 4 and services.points_in_cycle(licence=untouched) == 4
    assert card(lost) == 5 and services.points_in_cycle(licence=lost) == 5
    backfill(django_apps, None)  # twice changes nothing
    assert (card(untouched), card(lost)) == (4, 5)
    assert PointsEntry.objects.filter(kind="opening", source="migration").count() == 2


def test_a_full_score_imported_for_an_ended_cycle_carries_into_the_open_one(holder, payments, clock):
    lic, car = holder
    clock.freeze(dt.datetime(2027, 3, 21, 10, 0))
    services.points_cycles_open()
    assert card(lic) == 0  # 2 imported points (fines unknown) clear at the cycle's end
    import_licence(12, "2026-03-20")  # the city's file, late: a full score in the ended cycle
    assert card(lic) == 12 and services.points_in_cycle(licence=lic) == 12
    new = PointsAccount.objects.get(licence=lic, cycle_start=dt.date(2027, 3, 20))
    assert new.carried_in == 12


def test_the_demo_citizen_keeps_the_demo_points(payments):
    from jiaoguan.registry.demo import SHOWCASE, generate_city

    city = generate_city(persons=0, seed=7)
    deliver()
    citizen = city.showcase["citizen"]
    lic = citizen.licence
    assert card(lic) == 2 and services.points_in_cycle(licence=lic) == 2
    car = make_vehicle(owner=citizen, registered=dt.date(2025, 1, 1))
    services.violation_handle_counter(violation=record(car, code="1352"), licence=lic, actor=STAFF)
    assert card(lic) == 5
    assert {s.key for s in SHOWCASE} >= {"citizen"}


def _ledger(licences) -> list[tuple]:
    """Everything the ledger holds of these licences, and their audit rows, in a comparable form."""
    out = []
    for lic in licences:
        lic.refresh_from_db()
        accounts = [(a.cycle_start, a.cycle_end, a.total, a.carried_in, a.full_score_at is not None)
                    for a in PointsAccount.objects.filter(licence=lic).order_by("cycle_start")]
        entries = sorted((e.kind, e.points, e.source) for e in PointsEntry.objects.filter(account__licence=lic))
        audits = sorted((a.action, str(a.old), str(a.new), a.reason, a.subject_person_id == lic.person_id)
                        for a in AuditEntry.objects.filter(object_type="registry.drivinglicence",
                                                           object_id=str(lic.pk)))
        out.append((lic.cycle_points, lic.status, accounts, entries, audits))
    return out


def test_a_batch_of_openings_equals_them_one_by_one(payments, clock):
    """points_openings_record enters licences new to the ledger together (_openings_first) and the rest one by
    one; the ledger, the cards and the audit trail come out as points_opening_set one by one would leave them."""
    def licences(points_list):
        made = []
        for points in points_list:
            status = DrivingLicence.Status.SUSPENDED if points >= 12 else DrivingLicence.Status.VALID
            made.append(make_licence(person=make_person(), first_issue=dt.date(2018, 3, 20), valid_until=None,
                                     cycle_points=points, status=status))
        return made

    figures = [2, 6, 12, 3, 1]
    batch, single = licences(figures), licences(figures)
    # one batch licence is already known to the ledger, one figure is reported twice, one for an ended cycle
    PointsAccount.objects.create(licence=batch[3], cycle_start=CYCLE, cycle_end=dt.date(2027, 3, 19))
    PointsAccount.objects.create(licence=single[3], cycle_start=CYCLE, cycle_end=dt.date(2027, 3, 19))
    reports = lambda lics: ([services.Opening(lic.pk, p, CYCLE) for lic, p in zip(lics, figures)]  # noqa: E731
                            + [services.Opening(lics[0].pk, 4, CYCLE), services.Opening(lics[1].pk, 1, CYCLE)])
    written = services.points_openings_record(openings=reports(batch), source="registry.demo", actor=ACTOR)
    one_by_one = 0
    for o in reports(single):
        lic = DrivingLicence.objects.get(pk=o.licence_id)
        one_by_one += services.points_opening_set(licence=lic, points=o.points, cycle_start=o.cycle_start,
                                                  source="registry.demo", actor=ACTOR) is not None
    assert written == one_by_one == 7
    assert _ledger(batch) == _ledger(single)
    assert [card(lic) for lic in batch] == [4, 1, 12, 3, 1]  # a second report replaces the first
    assert audit_verify().ok
