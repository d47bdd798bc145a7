"""The audit log becomes a sealed log (issue 12): entries are appended without a shared lock and queued by a
trigger; a sealer gives them positions, a hash chain, a Merkle tree and signed heads.

Today's rows keep their old chain (prev_hash/hash, checked by audit_verify as before) and get digest = hash; they
are all queued, so the first run of the sealer seals them in id order, which is their old chain's order. The new
tables (seals, subtree roots, signed heads) are append-only in the database like the entries.
"""
from django.db import migrations, models

GUARDED = ("core_auditseal", "core_auditnode", "core_audittreehead")

PG_FORWARD = """
CREATE OR REPLACE FUNCTION core_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_change;
UPDATE core_auditentry SET digest = hash WHERE hash IS NOT NULL;
ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_change;
INSERT INTO core_auditpending (entry_id) SELECT id FROM core_auditentry;
-- the old appends chose their ids themselves (the head's last id + 1), so the id sequence never moved
SELECT setval(pg_get_serial_sequence('core_auditentry', 'id'),
              COALESCE((SELECT max(id) FROM core_auditentry), 0) + 1, false);
CREATE OR REPLACE FUNCTION core_auditentry_queue() RETURNS trigger AS $$
BEGIN
  INSERT INTO core_auditpending (entry_id) SELECT id FROM new_rows;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditentry_queue AFTER INSERT ON core_auditentry
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_queue();
""" + "".join(f"""
CREATE TRIGGER {t}_no_change BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION core_append_only();
""" for t in GUARDED)

SQLITE_QUEUE = """CREATE TRIGGER IF NOT EXISTS core_auditentry_queue AFTER INSERT ON core_auditentry
  BEGIN INSERT INTO core_auditpending (entry_id) VALUES (NEW.id); END;"""


def sqlite_guard(table):
    return [f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;""",
            f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"""]


SQLITE_GUARDS = [sql for t in GUARDED for sql in sqlite_guard(t)]
SQLITE_TRIGGERS = tuple(f"{t}_no_{op}" for t in GUARDED for op in ("update", "delete"))


def forwards(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif conn.vendor == "sqlite":
        # rebuilding the table for the altered columns dropped its triggers: lift, fill, then put them back
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
        schema_editor.execute("UPDATE core_auditentry SET digest = hash WHERE hash IS NOT NULL")
        schema_editor.execute("INSERT INTO core_auditpending (entry_id) SELECT id FROM core_auditentry")
        for sql in [*sqlite_guard("core_auditentry"), SQLITE_QUEUE, *SQLITE_GUARDS]:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    conn = schema_editor.connection
    if conn.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_queue ON core_auditentry")
    elif conn.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditentry_queue")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_cache_entry'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditNode',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('level', models.PositiveSmallIntegerField()),
                ('index', models.BigIntegerField()),
                ('hash', models.CharField(max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name='AuditPending',
            fields=[
                ('entry_id', models.BigIntegerField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('seq', models.BigIntegerField(primary_key=True, serialize=False)),
                ('entry_id', models.BigIntegerField(unique=True)),
                ('leaf_hash', models.CharField(max_length=64)),
                ('chain_hash', models.CharField(max_length=64)),
                ('sealed_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='AuditSealer',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('tree_size', models.BigIntegerField(default=0)),
                ('chain_hash', models.CharField(default='0000000000000000000000000000000000000000000000000000000000000000', max_length=64)),
                ('frontier', models.JSONField(default=list)),
                ('last_sealed_at', models.DateTimeField(blank=True, null=True)),
                ('last_head_size', models.BigIntegerField(default=0)),
                ('last_head_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='AuditTreeHead',
            fields=[
                ('tree_size', models.BigIntegerField(primary_key=True, serialize=False)),
                ('timestamp', models.DateTimeField()),
                ('root_hash', models.CharField(max_length=64)),
                ('chain_hash', models.CharField(max_length=64)),
                ('algorithm', models.CharField(max_length=20)),
                ('key_id', models.CharField(max_length=40)),
                ('signature', models.CharField(max_length=200)),
            ],
        ),
        migrations.DeleteModel(
            name='AuditHead',
        ),
        migrations.AddField(
            model_name='auditentry',
            name='digest',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
        migrations.AddConstraint(
            model_name='auditnode',
            constraint=models.UniqueConstraint(fields=('level', 'index'), name='core_auditnode_level_index'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
