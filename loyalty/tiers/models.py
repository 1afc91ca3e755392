"""VIP tiers: what a member can reach, and the record of every move between tiers.

How members qualify (the basis, the period, the downgrade policy) is the program's setting
(`loyalty.shops.models.Program.tier_*`); the rules that apply it live in
`loyalty.tiers.services`.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Tier(models.Model):
    """A level members reach by qualification, or a hidden one the merchant assigns by hand.

    `threshold` is in the unit of the program's tier basis: points, shop currency or orders.
    Tiers rank by threshold; a hidden tier's threshold is not used.
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=60)
    threshold = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1"), help_text="Earn multiplier."
    )
    entry_points = models.PositiveIntegerField(
        default=0, help_text="Credited once ever, when the member first reaches the tier."
    )
    perks = models.JSONField(default=list, blank=True, help_text="Short texts for the widget.")
    hidden = models.BooleanField(
        default=False, help_text="Assigned by hand only, never reached by qualification."
    )
    tag = models.CharField(max_length=255, help_text="The customer tag synced to the store.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["threshold", "pk"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "shop", name="tier_name_unique_per_shop"),
            # Store tags are case-insensitive.
            models.UniqueConstraint(Lower("tag"), "shop", name="tier_tag_unique_per_shop"),
            # Tiers members qualify for rank by threshold: no two at the same one.
            models.UniqueConstraint(
                fields=["shop", "threshold"],
                condition=Q(hidden=False),
                name="tier_threshold_unique_per_shop",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=0), name="tier_threshold_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gte=1), name="tier_multiplier_at_least_1"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="tier_name_not_blank"),
            models.CheckConstraint(condition=~Q(tag=""), name="tier_tag_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class TierChange(models.TextChoices):
    UPGRADE = "upgrade", "Upgrade: a threshold was crossed"
    DOWNGRADE = "downgrade", "Downgrade, per the program's policy"
    REFUND = "refund", "Refunds undid the qualification"
    MANUAL = "manual", "Assigned by hand"


class TierHistory(models.Model):
    """One move of a member between tiers. Append-only: only the store-sync bookkeeping
    (`synced_at`, `sync_error`, `sync_attempts`) changes after the row is written."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="tier_history"
    )
    from_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The names as they were: the history stays readable if a tier is renamed or deleted.
    from_name = models.CharField(max_length=60, blank=True)
    to_name = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=16, choices=TierChange.choices)
    basis = models.CharField(max_length=32, blank=True)
    metric = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, help_text="In the basis' unit."
    )
    note = models.TextField(blank=True)
    actor = models.CharField(max_length=255, default="system")
    at = models.DateTimeField(default=timezone.now)
    # Store sync: the tier as tag and metafields on the customer.
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)
    sync_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "tier history"
        indexes = [
            models.Index(fields=["member", "at", "id"], name="tierhistory_member"),
            models.Index(
                fields=["at"], condition=Q(synced_at__isnull=True), name="tierhistory_unsynced"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_name or '-'} -> {self.to_name or '-'} ({self.reason})"
