from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("earning", "0002_actionrule"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderrecord",
            name="net_amount",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
        ),
        migrations.AddField(
            model_name="orderrecord",
            name="net_items",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
