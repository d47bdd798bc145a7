"""``points_cycle_start`` is required once 0003 has filled it (a separate migration: on PostgreSQL the
ALTER must not share a transaction with 0003's row updates)."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0003_licence_status_reason_points_cycle")]

    operations = [
        migrations.AlterField(
            model_name="drivinglicence",
            name="points_cycle_start",
            field=models.DateField(
                db_index=True, verbose_name="记分所属周期起始日期",
                help_text="first day of the scoring cycle cycle_points belong to; when it is not the current "
                          "cycle's, the points are from a previous cycle not yet rolled over"),
        ),
    ]
