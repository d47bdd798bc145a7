"""Seed the template of the automatically issued (and posted) inspection mark."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0011_application_fee_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
