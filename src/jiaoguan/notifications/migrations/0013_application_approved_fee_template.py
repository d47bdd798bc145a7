"""Seed the template of an application approved with a fee due before its result is issued."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0012_inspection_mark_issued_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
