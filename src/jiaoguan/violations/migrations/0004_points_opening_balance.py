"""The points ledger gets an opening balance (PointsEntry kind "opening", no violation) for points that arrive
from outside it, and the points a licence already had on file go into the ledger, so the licence card (a mirror of
the ledger) stops losing them (issue 9 §3).

The data step, for every licence:

- no points account yet, points on file: the registry's figure was never seen by the ledger; it becomes the
  opening balance of the cycle it belongs to (``points_cycle_start``), in a new account of that cycle.
- points accounts already: the ledger overwrote the registry's figure the first time it mirrored its own (the
  first ``licence.points_set`` audit row holds the figure it replaced). When that figure belonged to the same
  cycle and that cycle's account is still the licence's latest, it is added back as the opening balance and the
  card is mirrored again. (Other cases, a figure of an earlier cycle than the ledger's first, are left: what it
  would have carried is not known.)

Cycle arithmetic is frozen here, as in registry 0003.
"""
import calendar
import datetime as dt

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

SOURCE = "migration"


def add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def backfill(apps, schema_editor):
    DrivingLicence = apps.get_model("registry", "DrivingLicence")
    PointsAccount = apps.get_model("violations", "PointsAccount")
    PointsEntry = apps.get_model("violations", "PointsEntry")
    AuditEntry = apps.get_model("core", "AuditEntry")
    now = timezone.now()
    with_accounts = set(PointsAccount.objects.values_list("licence_id", flat=True).distinct())
    for licence in DrivingLicence.objects.filter(cycle_points__gt=0).exclude(pk__in=with_accounts).iterator(
            chunk_size=2000):
        start = licence.points_cycle_start
        account = PointsAccount.objects.create(
            licence_id=licence.pk, cycle_start=start, cycle_end=add_years(start, 1) - dt.timedelta(days=1),
            total=licence.cycle_points, carried_in=0,
            full_score_at=now if licence.cycle_points >= 12 else None)
        PointsEntry.objects.create(account=account, violation=None, kind="opening", points=licence.cycle_points,
                                   source=SOURCE, created_at=now)
    for licence_id in sorted(with_accounts):
        first = (AuditEntry.objects.filter(object_type="registry.drivinglicence", object_id=str(licence_id),
                                           action="licence.points_set").order_by("id").first())
        old, new = (first.old or {}, first.new or {}) if first is not None else ({}, {})
        points = int(old.get("points") or 0)
        if points <= 0 or not old.get("cycle_start") or old.get("cycle_start") != new.get("cycle_start"):
            continue
        start = dt.date.fromisoformat(old["cycle_start"])
        account = PointsAccount.objects.filter(licence_id=licence_id).order_by("-cycle_start").first()
        if account.cycle_start != start or PointsEntry.objects.filter(account=account, kind="opening").exists():
            continue
        PointsEntry.objects.create(account=account, violation=None, kind="opening", points=points, source=SOURCE,
                                   created_at=now)
        before, account.total = account.total, account.total + points
        if before < 12 <= account.total and account.full_score_at is None:
            account.full_score_at = now
        account.save(update_fields=["total", "full_score_at"])
        DrivingLicence.objects.filter(pk=licence_id, points_cycle_start=start).update(
            cycle_points=max(account.total, 0), updated_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ('violations', '0003_eastern_code'),
        ('registry', '0007_licence_imported_points'),
        ('core', '0002_audit_guard'),
    ]

    operations = [
        migrations.AddField(
            model_name='pointsentry',
            name='source',
            field=models.CharField(blank=True, default='', help_text='where an opening balance came from (registry.import, registry.demo, migration)', max_length=40),
        ),
        migrations.AlterField(
            model_name='pointsaccount',
            name='total',
            field=models.IntegerField(default=0, help_text='carried_in plus the sum of the entries of this cycle'),
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='kind',
            field=models.CharField(choices=[('assign', '记分 Points assigned'), ('reverse', '撤销记分 Points removed'), ('opening', '期初记分 Opening balance')], max_length=8),
        ),
        migrations.AlterField(
            model_name='pointsentry',
            name='violation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='points_entries', to='violations.violation'),
        ),
        migrations.AddConstraint(
            model_name='pointsentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'opening'), ('violation__isnull', True)), models.Q(models.Q(('kind', 'opening'), _negated=True), ('violation__isnull', False)), _connector='OR'), name='points_entry_opening_has_no_violation'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
