"""Why a licence has its status (``status_reason``) and which scoring cycle its points belong to
(``points_cycle_start``).

Existing rows are filled as well as the data allows:

- ``points_cycle_start``: the points on file were shown as "this cycle's", so they are taken to belong to the cycle
  that contains the day of the migration.
- ``status_reason`` of a cancelled licence: "expiry_over_1_year" when its last cancellation in the audit log was the
  expiry sweep's, or, for a row that was never cancelled by a service (loaded already cancelled by the demo city or
  the CSV import, whose status was computed from the dates), when its dates are more than a year past expiry;
  otherwise "other". Only the first reason allows restoration after 科目一.

The date arithmetic is frozen here (a migration must not change when code changes); it equals
``jiaoguan.registry.rules`` at the time of writing.
"""
import calendar
import datetime as dt

from django.db import migrations, models
from django.utils import timezone

EXPIRY_SWEEP_LABEL = "registry.licence_expiry"


def add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def cycle_start(first_issue: dt.date, on: dt.date) -> dt.date:
    on = max(on, first_issue)
    k = on.year - first_issue.year
    if add_years(first_issue, k) > on:
        k -= 1
    return add_years(first_issue, k)


def fill(apps, schema_editor):
    DrivingLicence = apps.get_model("registry", "DrivingLicence")
    AuditEntry = apps.get_model("core", "AuditEntry")
    today = timezone.localdate()
    for licence in DrivingLicence.objects.all().iterator(chunk_size=2000):
        licence.points_cycle_start = cycle_start(licence.first_issue_date, today)
        fields = ["points_cycle_start"]
        if licence.status == "cancelled":
            last = (AuditEntry.objects.filter(object_type="registry.drivinglicence", object_id=str(licence.pk),
                                              action="licence.cancel").order_by("-id").first())
            if last is not None:
                by_sweep = last.actor_role == "system" and last.actor_label == EXPIRY_SWEEP_LABEL
            else:
                by_sweep = (licence.valid_until is not None
                            and today > add_years(licence.valid_until, 1))
            licence.status_reason = "expiry_over_1_year" if by_sweep else "other"
            fields.append("status_reason")
        licence.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_seed_inspection_rules"),
        ("core", "0002_audit_guard"),
    ]

    operations = [
        migrations.AddField(
            model_name="drivinglicence",
            name="status_reason",
            field=models.CharField(
                blank=True, default="", max_length=32, verbose_name="状态原因",
                help_text="why the licence has its status, a code of rules.CANCEL_REASONS for a cancelled one "
                          "(e.g. expiry_over_1_year); empty when there is nothing to say"),
        ),
        migrations.AddField(
            model_name="drivinglicence",
            name="points_cycle_start",
            field=models.DateField(null=True, verbose_name="记分所属周期起始日期"),
        ),
        migrations.AlterField(
            model_name="drivinglicence",
            name="cycle_points",
            field=models.PositiveSmallIntegerField(
                default=0, verbose_name="累积记分",
                help_text="the points of the scoring cycle that starts on points_cycle_start"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
