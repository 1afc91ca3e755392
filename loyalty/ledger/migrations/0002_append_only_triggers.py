"""On PostgreSQL, the database itself refuses to rewrite ledger history: an UPDATE may change
only the lot bookkeeping of an entry (state, remaining, reversed_points), and lot movements
never change. (Deleting a whole shop's data for a privacy redact stays possible.)"""

from django.db import migrations

IMMUTABLE_ENTRY_COLUMNS = (
    "shop_id",
    "member_id",
    "kind",
    "points",
    "reverses_id",
    "shortfall",
    "source_type",
    "source_id",
    "idempotency_key",
    "reason",
    "actor",
    "created_at",
    "available_at",
    "expires_at",
)

FORWARD = f"""
CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
  IF ({", ".join("NEW." + c for c in IMMUTABLE_ENTRY_COLUMNS)})
     IS DISTINCT FROM ({", ".join("OLD." + c for c in IMMUTABLE_ENTRY_COLUMNS)}) THEN
    RAISE EXCEPTION 'ledger entries are append-only: only lot bookkeeping may change';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE ON ledger_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();

CREATE OR REPLACE FUNCTION ledger_movement_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'lot movements are append-only';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_movement_immutable BEFORE UPDATE ON ledger_lotmovement
  FOR EACH ROW EXECUTE FUNCTION ledger_movement_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_entry_append_only();
DROP TRIGGER IF EXISTS ledger_movement_immutable ON ledger_lotmovement;
DROP FUNCTION IF EXISTS ledger_movement_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
