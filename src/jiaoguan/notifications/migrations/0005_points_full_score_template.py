"""Seed the full-score (满分) notice template; existing rows are left alone."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_phone_change_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
