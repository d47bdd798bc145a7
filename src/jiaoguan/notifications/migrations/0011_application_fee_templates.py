"""Seed the application fee templates (fee due after submission; closed because the fee was not paid)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0010_bilingual_choice_labels")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
