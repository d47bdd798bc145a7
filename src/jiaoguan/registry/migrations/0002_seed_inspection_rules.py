"""Seed the inspection schedule (DOMAIN §5) as InspectionRule rows. A city edits them in the admin.

The values are frozen here (a migration must not change when code changes); they equal
``jiaoguan.registry.rules.DEFAULT_INSPECTION_RULES`` at the time of writing, which a test checks.
"""
from django.db import migrations

PRIVATE_SMALL = [
    (1, 4, 24, False, "第2、4年网上申领检验标志 online mark in years 2 and 4"),
    (5, 6, 24, True, "第6年上线检验 on-site test in year 6"),
    (7, 8, 24, False, "第8年网上申领检验标志 online mark in year 8"),
    (9, 10, 24, True, "第10年上线检验 on-site test in year 10"),
    (11, None, 12, True, "10年以上每年检验 yearly after 10 years"),
]
ROWS = [
    *[("small_car", use, f, t, m, on, note) for use in ("private", "official") for f, t, m, on, note in PRIVATE_SMALL],
    ("small_car", "", 1, 5, 12, True, "营运载客5年内每年检验 commercial passenger: yearly for 5 years"),
    ("small_car", "", 6, None, 6, True, "超过5年每6个月 then every 6 months"),
    ("bus", "", 1, 5, 12, True, "营运载客5年内每年检验 commercial passenger: yearly for 5 years"),
    ("bus", "", 6, None, 6, True, "超过5年每6个月 then every 6 months"),
    ("bus", "private", 1, 10, 12, True, "大中型非营运载客10年内每年 yearly for 10 years"),
    ("bus", "private", 11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ("truck", "", 1, 10, 12, True, "载货汽车10年内每年检验 trucks: yearly for 10 years"),
    ("truck", "", 11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ("trailer", "", 1, 10, 12, True, "挂车同载货汽车 trailers as trucks: yearly for 10 years"),
    ("trailer", "", 11, None, 6, True, "超过10年每6个月 then every 6 months"),
    ("motorcycle", "", 1, 4, 24, True, "摩托车4年内每2年 motorcycles: every 2 years for 4 years"),
    ("motorcycle", "", 5, None, 12, True, "超过4年每年 then yearly"),
]


def seed(apps, schema_editor):
    InspectionRule = apps.get_model("registry", "InspectionRule")
    if InspectionRule.objects.exists():
        return
    InspectionRule.objects.bulk_create([
        InspectionRule(kind=k, use=u, from_year=f, to_year=t, interval_months=m, on_site=on, note=note)
        for k, u, f, t, m, on, note in ROWS
    ])


def unseed(apps, schema_editor):
    apps.get_model("registry", "InspectionRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
