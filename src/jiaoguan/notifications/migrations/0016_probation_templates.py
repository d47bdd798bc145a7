"""Seed the templates of the probation rules (full score in probation cancels; A/B probation extended)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0015_phone_file_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
