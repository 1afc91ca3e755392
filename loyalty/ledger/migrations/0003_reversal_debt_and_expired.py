"""Credit reversals record what became debt and what had already expired.

`debt` is backfilled from the shops' current shortfall policy (the policy in force when older
shortfalls were written is not recorded anywhere). On PostgreSQL the append-only trigger then
covers both new columns."""

from django.db import migrations, models

IMMUTABLE_ENTRY_COLUMNS = (
    "shop_id",
    "member_id",
    "kind",
    "points",
    "reverses_id",
    "shortfall",
    "debt",
    "already_expired",
    "source_type",
    "source_id",
    "idempotency_key",
    "reason",
    "actor",
    "created_at",
    "available_at",
    "expires_at",
)

NEW_COLUMNS = ("debt", "already_expired")


def _append_only_function(columns) -> str:
    return f"""
CREATE OR REPLACE FUNCTION ledger_entry_append_only() RETURNS trigger AS $$
BEGIN
  IF ({", ".join("NEW." + c for c in columns)})
     IS DISTINCT FROM ({", ".join("OLD." + c for c in columns)}) THEN
    RAISE EXCEPTION 'ledger entries are append-only: only lot bookkeeping may change';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def backfill_debt(apps, schema_editor):
    LedgerEntry = apps.get_model("ledger", "LedgerEntry")
    LedgerEntry.objects.filter(
        kind="reverse", shortfall__gt=0, shop__program__shortfall_policy="debt"
    ).update(debt=models.F("shortfall"))


def protect_new_columns(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_append_only_function(IMMUTABLE_ENTRY_COLUMNS))


def unprotect_new_columns(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        old = [c for c in IMMUTABLE_ENTRY_COLUMNS if c not in NEW_COLUMNS]
        schema_editor.execute(_append_only_function(old))


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_append_only_triggers"),
        ("members", "0002_member_points_debt"),
        ("shops", "0003_program_tiers_expiry_rewards"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="already_expired",
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="debt",
            field=models.IntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("debt__gte", 0), ("debt__lte", models.F("shortfall"))),
                name="ledger_debt_within_shortfall",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("already_expired__gte", 0)),
                name="ledger_already_expired_not_negative",
            ),
        ),
        migrations.RunPython(backfill_debt, migrations.RunPython.noop),
        migrations.RunPython(protect_new_columns, unprotect_new_columns),
    ]
