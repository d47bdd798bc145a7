"""Seed the booking templates (confirmed, cancelled, allocated, unsuccessful, offer, penalty)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_points_full_score_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
