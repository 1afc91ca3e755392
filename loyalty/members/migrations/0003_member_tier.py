import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0002_member_points_debt"),
        ("tiers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="tier",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="members",
                to="tiers.tier",
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="tier_since",
            field=models.DateTimeField(
                blank=True, help_text="When the member reached the tier.", null=True
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="tier_by_hand",
            field=models.BooleanField(
                default=False,
                help_text="Assigned by the merchant: kept until a higher one is earned.",
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="tier_below_since",
            field=models.DateTimeField(
                blank=True,
                help_text="Grace policy: since when the member is below the tier.",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="member",
            index=models.Index(fields=["shop", "tier", "id"], name="member_shop_tier"),
        ),
    ]
