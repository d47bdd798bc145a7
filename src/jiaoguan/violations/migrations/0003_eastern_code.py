"""Add the eastern scenic areas' code (9301: entering an area that requires booking without one, ¥300 and 1
point, DOMAIN §6) by re-running 0002's loader: only codes missing from the table are added."""
import importlib

from django.db import migrations

_load = importlib.import_module("jiaoguan.violations.migrations.0002_load_codes").load


class Migration(migrations.Migration):
    dependencies = [("violations", "0002_load_codes")]

    operations = [migrations.RunPython(_load, migrations.RunPython.noop)]
