"""Seed the templates of the phone on file changed online (code, accepted, objection code, withdrawn, stopped,
lapsed, in effect)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0014_address_changed_template")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
