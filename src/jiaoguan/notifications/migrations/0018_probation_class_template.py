"""Seed the template telling a holder that the class in probation is cancelled (增驾: probation is per class)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0017_pickup_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
