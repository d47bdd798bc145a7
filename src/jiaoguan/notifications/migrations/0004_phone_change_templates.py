"""Seed the templates of the account phone change (otp.phone, account.phone_changed); existing rows are left
alone."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_owner_binding_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
