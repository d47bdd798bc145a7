"""Seed the template telling an applicant that a document is ready for collection at a counter."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0016_probation_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
