"""Two fewer index entries per audit append: ``action`` is read only together with its object (the
(object_type, object_id) index serves it) and ``hash`` belongs to the pre-issue-12 chain, whose uniqueness the
chain itself proves. On SQLite the table is rebuilt for the change, which drops its triggers: they are put back.
"""
import importlib

from django.db import migrations, models

_guard = importlib.import_module("jiaoguan.core.migrations.0002_audit_guard")
_sealed = importlib.import_module("jiaoguan.core.migrations.0006_audit_sealed_log")


def triggers_back(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in [*_guard.SQLITE_GUARD, _sealed.SQLITE_QUEUE]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_audit_sealed_log'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(max_length=80),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(triggers_back, migrations.RunPython.noop),
    ]
