"""Seed the templates added since 0002 (owner-facing binding notices); existing rows are left alone."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_seed_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
