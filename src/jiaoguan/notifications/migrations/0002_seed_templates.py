"""Seed the default message templates (notifications/defaults.py). Existing rows are left alone, so staff edits
survive; reversing removes nothing (the rows may have been edited)."""
from django.db import migrations


def seed(apps, schema_editor):
    from jiaoguan.notifications.defaults import TEMPLATES

    MessageTemplate = apps.get_model("notifications", "MessageTemplate")
    for t in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            code=t.code,
            defaults={
                "description": t.description,
                "params": ",".join(t.params),
                "secret_params": ",".join(t.secret),
                "subject_zh": t.subject_zh,
                "subject_en": t.subject_en,
                "body_zh": t.body_zh,
                "body_en": t.body_en,
                "active": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
