"""The analytics page's top members (a shop's 10 highest lifetime earners) read this index
instead of sorting every member. It lives on the members table but is created here, by the
area that needs it, without touching the members app's models."""

from django.db import migrations

INDEX = "member_shop_top_earners"


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("members", "0004_member_tier_metric"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE INDEX IF NOT EXISTS {INDEX} "
                "ON members_member (shop_id, lifetime_earned DESC, id)"
            ),
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
