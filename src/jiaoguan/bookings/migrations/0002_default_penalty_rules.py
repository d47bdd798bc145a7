"""DOMAIN §6's penalties for the eastern scenic areas as data: 3 cancellations lose that holiday (period);
3 no-shows blacklist for the calendar year. Cities edit them in the admin."""
from django.db import migrations

DEFAULTS = [
    {"kind": "eastern", "event": "cancel", "threshold": 3, "window": "period", "ban": "period"},
    {"kind": "eastern", "event": "no_show", "threshold": 3, "window": "year", "ban": "year"},
]


def seed(apps, schema_editor):
    PenaltyRule = apps.get_model("bookings", "PenaltyRule")
    for rule in DEFAULTS:
        PenaltyRule.objects.get_or_create(**rule)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
