"""Load the violation-code table (DOMAIN §4) from fixtures/violation_codes.json. Existing rows are left as
administrators edited them: only missing codes are added."""
import json
from pathlib import Path

from django.db import migrations

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "violation_codes.json"


def load(apps, schema_editor):
    ViolationCode = apps.get_model("violations", "ViolationCode")
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    existing = set(ViolationCode.objects.values_list("code", flat=True))
    ViolationCode.objects.bulk_create([ViolationCode(**row) for row in rows if row["code"] not in existing])


class Migration(migrations.Migration):
    dependencies = [("violations", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
