"""Every (vehicle kind, use) pair has an explicitly chosen inspection schedule: none falls through to another
schedule by accident (a bus in official use used to get the commercial one while a private bus got the
non-commercial one)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from jiaoguan.registry import rules, selectors
from jiaoguan.registry.models import InspectionRule, Vehicle

KINDS = [k for k, _ in Vehicle.Kind.choices]
USES = [u for u, _ in Vehicle.Use.choices]
PAIRS = list(itertools.product(KINDS, USES))


def months(kind: str, use: str, rule_rows, years: int = 16) -> list[int]:
    out = []
    for p in rules.inspection_points(registration_date=dt.date(2010, 1, 31), kind=kind, use=use, rules=rule_rows):
        if p.months > years * 12:
            break
        out.append(p.months)
    return out


def test_the_table_names_a_schedule_for_exactly_every_pair():
    assert list(rules.VEHICLE_KINDS) == KINDS and list(rules.VEHICLE_USES) == USES
    assert set(rules.INSPECTION_SCHEDULE_FOR) == set(PAIRS)
    assert set(rules.INSPECTION_SCHEDULE_FOR.values()) <= set(rules.INSPECTION_SCHEDULES)


@pytest.mark.parametrize("kind,use", PAIRS)
def test_every_pair_resolves_to_its_own_rows_and_its_named_schedule(kind, use):
    chosen = rules.rules_for(kind, use, rules.DEFAULT_INSPECTION_RULES)
    assert chosen and {r.use for r in chosen} == {use}  # explicit rows, no catch-all
    schedule = rules.INSPECTION_SCHEDULES[rules.INSPECTION_SCHEDULE_FOR[(kind, use)]]
    assert [(r.from_year, r.to_year, r.interval_months, r.on_site) for r in chosen] == [
        (f, t, m, on) for f, t, m, on, _ in schedule]
    point = rules.next_inspection_due(registration_date=dt.date(2010, 1, 31), kind=kind, use=use,
                                      rules=rules.DEFAULT_INSPECTION_RULES, after=dt.date(2030, 6, 1))
    assert point is not None and point.due > dt.date(2030, 6, 1)  # endless: never runs out


def test_official_and_private_use_share_the_non_commercial_schedules():
    rows = rules.DEFAULT_INSPECTION_RULES
    assert months("bus", "official", rows) == months("bus", "private", rows) == [
        *range(12, 121, 12), 126, 132, 138, 144, 150, 156, 162, 168, 174, 180, 186, 192]
    assert months("bus", "official", rows) != months("bus", "passenger_commercial", rows)
    assert months("small_car", "official", rows) == months("small_car", "private", rows)
    for use in ("passenger_commercial", "taxi", "bus_service", "learner"):
        assert months("bus", use, rows) == months("small_car", use, rows)[: len(months("bus", use, rows))]
        assert months("bus", use, rows)[:7] == [12, 24, 36, 48, 60, 66, 72]
    for use in USES:
        assert months("truck", use, rows) == months("trailer", use, rows)
        assert months("motorcycle", use, rows)[:5] == [24, 48, 60, 72, 84]


@pytest.mark.django_db
@pytest.mark.parametrize("kind,use", PAIRS)
def test_the_seeded_table_resolves_every_pair_explicitly(kind, use):
    rows = selectors.inspection_rules()
    assert rows and all(isinstance(r, InspectionRule) for r in rows)  # the migrated table, not the fallback
    chosen = rules.rules_for(kind, use, rows)
    assert chosen and {r.use for r in chosen} == {use}
    assert months(kind, use, rows) == months(kind, use, rules.DEFAULT_INSPECTION_RULES)


def _migration():
    import importlib

    return importlib.import_module("jiaoguan.registry.migrations.0005_inspection_rules_every_kind_and_use")


def _table(rows) -> None:
    InspectionRule.objects.all().delete()
    InspectionRule.objects.bulk_create([
        InspectionRule(kind=k, use=u, from_year=f, to_year=t, interval_months=m, on_site=on, note=n)
        for k, u, f, t, m, on, n in rows])


def _current() -> list[tuple]:
    return sorted(_migration()._fields(r) for r in InspectionRule.objects.all())


@pytest.mark.django_db
def test_the_migration_replaces_the_old_seed_but_not_a_citys_own_table():
    from django.apps import apps

    mig = _migration()
    seed_0002 = mig._seed_0002()
    _table(seed_0002)
    mig.forwards(apps, None)
    assert _current() == sorted(tuple(r) for r in mig.ROWS)
    mig.backwards(apps, None)
    assert _current() == sorted(tuple(r) for r in seed_0002)
    edited = [*seed_0002[:-1], ("motorcycle", "", 5, None, 6, True, "city edit")]
    _table(edited)
    mig.forwards(apps, None)
    assert _current() == sorted(tuple(r) for r in edited)
