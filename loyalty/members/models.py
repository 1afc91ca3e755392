from django.db import models
from django.db.models import Q
from django.utils import timezone

from loyalty.shops.models import Shop


class MemberStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXCLUDED = "excluded", "Excluded"
    REDACTED = "redacted", "Redacted"


class Member(models.Model):
    """A shopper enrolled in a shop's program.

    The four counters are a cache of the ledger, updated only by `loyalty.ledger.services` in the
    same transaction as the entries; `manage.py ledger_audit` recomputes and checks them.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="members")
    platform_customer_id = models.CharField(max_length=64)
    email = models.EmailField(max_length=254, blank=True)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    # A birthday may come without a year (imports from other apps): kept as month and day.
    birthday_month = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_day = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    enrolled_at = models.DateTimeField(default=timezone.now)

    points_balance = models.IntegerField(default=0, help_text="Spendable now.")
    points_pending = models.IntegerField(default=0, help_text="Earned, not yet spendable.")
    lifetime_earned = models.IntegerField(default=0)
    lifetime_spent = models.IntegerField(default=0)
    # Points taken back by refunds after they were spent, owed from future earnings.
    points_debt = models.IntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    # VIP tier, changed only by `loyalty.tiers.services`.
    tier = models.ForeignKey(
        "tiers.Tier", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    tier_since = models.DateTimeField(
        null=True, blank=True, help_text="When the member reached the tier."
    )
    tier_by_hand = models.BooleanField(
        default=False, help_text="Assigned by the merchant: kept until a higher one is earned."
    )
    tier_below_since = models.DateTimeField(
        null=True, blank=True, help_text="Grace policy: since when the member is below the tier."
    )
    # What counts toward tiers in the current period, as of the last evaluation: what the widget
    # shows as progress without summing the member's ledger on every page view.
    tier_metric = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tier_metric_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "platform_customer_id"], name="member_customer_unique_per_shop"
            ),
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="member_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(points_pending__gte=0), name="member_pending_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(lifetime_spent__gte=0), name="member_spent_not_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(birthday_month__isnull=True)
                    | Q(birthday_month__gte=1, birthday_month__lte=12)
                )
                & (Q(birthday_day__isnull=True) | Q(birthday_day__gte=1, birthday_day__lte=31)),
                name="member_birthday_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "email"], name="member_shop_email"),
            models.Index(fields=["shop", "-points_balance", "id"], name="member_shop_balance"),
            models.Index(fields=["shop", "tier", "id"], name="member_shop_tier"),
        ]

    def __str__(self) -> str:
        return f"member {self.platform_customer_id} of {self.shop}"
