"""Seed the audit chain's head row and, on PostgreSQL, make the audit table append-only in the database too."""
from django.db import migrations

PG_GUARD = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'core_auditentry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_auditentry_no_change ON core_auditentry;
CREATE TRIGGER core_auditentry_no_change BEFORE UPDATE OR DELETE ON core_auditentry
  FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();
"""
SQLITE_GUARD = [
    """CREATE TRIGGER IF NOT EXISTS core_auditentry_no_update BEFORE UPDATE ON core_auditentry
       BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS core_auditentry_no_delete BEFORE DELETE ON core_auditentry
       BEGIN SELECT RAISE(ABORT, 'core_auditentry is append-only'); END;""",
]


def forwards(apps, schema_editor):
    apps.get_model("core", "AuditHead").objects.get_or_create(id=1)
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_GUARD, params=None)
    elif conn.vendor == "sqlite":
        for sql in SQLITE_GUARD:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_change ON core_auditentry;")
    elif conn.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update;")
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete;")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
