"""Webhook bodies (orders: about 7 KB of JSON each) are compressed by PostgreSQL when stored:
with lz4 rather than the default pglz, which costs several times the CPU on every delivery
written and read. PostgreSQL only; rows stored before keep their compression."""

from django.db import migrations


def use_lz4(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE shopify_webhookdelivery ALTER COLUMN body SET COMPRESSION lz4"
        )


def use_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE shopify_webhookdelivery ALTER COLUMN body SET COMPRESSION default"
        )


class Migration(migrations.Migration):
    dependencies = [("shopify", "0005_webhookdelivery_webhook_received_queue")]

    operations = [migrations.RunPython(use_lz4, use_default)]
