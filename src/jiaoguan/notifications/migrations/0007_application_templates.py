"""Seed the application workflow templates (submitted, accepted, refused, returned, resubmitted, approved,
rejected, revoked; due soon and overdue for staff)."""
import importlib

from django.db import migrations

_seed = importlib.import_module("jiaoguan.notifications.migrations.0002_seed_templates").seed


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_booking_templates")]

    operations = [migrations.RunPython(_seed, migrations.RunPython.noop)]
