"""Seed the template telling a holder that the contact address on file was changed online."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0013_application_approved_fee_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
