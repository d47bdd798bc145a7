"""The inspection schedule written out for every (kind, use) pair.

0002 seeded catch-all rows (empty use) beside a few exact-use ones, so a bus in official use fell through to the
commercial schedule while a private bus had the non-commercial one. This migration replaces the seed with rows for
every pair of vehicle kind and use. A city that has edited its rows keeps them untouched (its table is its
decision): the replacement happens only when the table still holds exactly 0002's rows.

The values are frozen here; they equal ``jiaoguan.registry.rules.DEFAULT_INSPECTION_RULES`` at the time of
writing, which a test checks.
"""
import importlib

from django.db import migrations

SCHEDULES = {
    "private_small": [
        (1, 4, 24, False, "第2、4年网上申领检验标志 online mark in years 2 and 4"),
        (5, 6, 24, True, "第6年上线检验 on-site test in year 6"),
        (7, 8, 24, False, "第8年网上申领检验标志 online mark in year 8"),
        (9, 10, 24, True, "第10年上线检验 on-site test in year 10"),
        (11, None, 12, True, "10年以上每年检验 yearly after 10 years"),
    ],
    "commercial_passenger": [
        (1, 5, 12, True, "营运载客5年内每年检验 commercial passenger: yearly for 5 years"),
        (6, None, 6, True, "超过5年每6个月 then every 6 months"),
    ],
    "non_commercial_large_passenger": [
        (1, 10, 12, True, "大中型非营运载客10年内每年 yearly for 10 years"),
        (11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ],
    "goods": [
        (1, 10, 12, True, "载货汽车、挂车10年内每年检验 trucks and trailers: yearly for 10 years"),
        (11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ],
    "motorcycle": [
        (1, 4, 24, True, "摩托车4年内每2年 motorcycles: every 2 years for 4 years"),
        (5, None, 12, True, "超过4年每年 then yearly"),
    ],
}
USES = ("private", "passenger_commercial", "taxi", "freight", "bus_service", "learner", "official")
NON_COMMERCIAL = ("private", "official")
SCHEDULE_FOR = {
    **{("small_car", u): "private_small" if u in NON_COMMERCIAL else "commercial_passenger" for u in USES},
    **{("bus", u): "non_commercial_large_passenger" if u in NON_COMMERCIAL else "commercial_passenger" for u in USES},
    **{("truck", u): "goods" for u in USES},
    **{("trailer", u): "goods" for u in USES},
    **{("motorcycle", u): "motorcycle" for u in USES},
}
ROWS = [(kind, use, f, t, m, on, note) for (kind, use), name in SCHEDULE_FOR.items()
        for f, t, m, on, note in SCHEDULES[name]]


def _fields(rule) -> tuple:
    return (rule.kind, rule.use, rule.from_year, rule.to_year, rule.interval_months, rule.on_site, rule.note)


def _replace(apps, old_rows, new_rows) -> None:
    InspectionRule = apps.get_model("registry", "InspectionRule")
    current = sorted(_fields(r) for r in InspectionRule.objects.all())
    if current != sorted(tuple(r) for r in old_rows):
        return  # edited by the city (or emptied: the built-in defaults apply then): leave it alone
    InspectionRule.objects.all().delete()
    InspectionRule.objects.bulk_create([
        InspectionRule(kind=k, use=u, from_year=f, to_year=t, interval_months=m, on_site=on, note=note)
        for k, u, f, t, m, on, note in new_rows
    ])


def _seed_0002():
    return importlib.import_module("jiaoguan.registry.migrations.0002_seed_inspection_rules").ROWS


def forwards(apps, schema_editor):
    _replace(apps, _seed_0002(), ROWS)


def backwards(apps, schema_editor):
    _replace(apps, ROWS, _seed_0002())


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_points_cycle_start_required")]
    operations = [migrations.RunPython(forwards, backwards)]
