"""Indexes for the merchant admin's member list (issue 7), kept fast with a million members:

- sorting by enrolment or last activity, paged by keyset (value, id) within a shop;
- on PostgreSQL, search by the start of the email or a name, case-insensitively, as Django's
  `istartswith` asks for it: `UPPER(col::text) LIKE UPPER('abc%')` (text_pattern_ops lets a
  LIKE prefix use the index whatever the database collation).

Balance sorting uses `member_shop_balance`; the customer id search uses the unique constraint.
Written as SQL with no model state (the members app's models are not the admin's to change):
`makemigrations` sees nothing to do, and the indexes are dropped on the way back."""

from django.db import migrations

PORTABLE = {
    "member_shop_enrolled": "(shop_id, enrolled_at, id)",
    "member_shop_activity": "(shop_id, last_activity_at, id)",
}
POSTGRES_ONLY = {
    "member_shop_email_prefix": "(shop_id, (UPPER(email::text)) text_pattern_ops)",
    "member_shop_first_name_prefix": "(shop_id, (UPPER(first_name::text)) text_pattern_ops)",
    "member_shop_last_name_prefix": "(shop_id, (UPPER(last_name::text)) text_pattern_ops)",
}


def _indexes(schema_editor):
    indexes = dict(PORTABLE)
    if schema_editor.connection.vendor == "postgresql":
        indexes.update(POSTGRES_ONLY)
    return indexes


def create(apps, schema_editor):
    table = schema_editor.quote_name("members_member")
    for name, columns in _indexes(schema_editor).items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} ON {table} {columns}"
        )


def drop(apps, schema_editor):
    for name in _indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("members", "0004_member_tier_metric")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
