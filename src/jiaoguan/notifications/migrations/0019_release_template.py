"""Seed the template telling an applicant that a detained vehicle or licence is released and can be collected."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0018_probation_class_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
