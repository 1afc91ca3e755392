from decimal import Decimal

from django.db import models

from loyalty.earning.engine import RuleEffect, RuleKind, RuleTarget


class EarnRule(models.Model):
    """A merchant's rule for orders: product/collection/tag/SKU multipliers, bonuses and
    exclusions, campaigns, milestones. See `loyalty.earning.engine` for how they stack."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="earn_rules")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=[(k.value, k.name.title()) for k in RuleKind])
    effect = models.CharField(
        max_length=16,
        choices=[(e.value, e.name.title()) for e in RuleEffect],
        default=RuleEffect.BONUS,
    )
    target = models.CharField(
        max_length=16, choices=[(t.value, t.name.title()) for t in RuleTarget], blank=True
    )
    values = models.JSONField(default=list, blank=True, help_text="Ids, tags or SKUs it matches.")
    multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("1"))
    points = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    tiers = models.JSONField(default=list, blank=True, help_text="Campaigns: only these tiers.")
    every_nth = models.PositiveIntegerField(default=0)
    first_order = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "enabled"], name="earnrule_shop_enabled")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(multiplier__gt=0), name="earnrule_multiplier_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OrderRecord(models.Model):
    """Everything Setia has heard about one order, and what it has credited for it.

    Events only add facts here (the newest order snapshot, refunds by id, paid, fulfilled,
    cancelled); the award is then recomputed from the facts and the ledger moved to match. So
    duplicates and any arrival order end in the same place. `snapshot` freezes the program,
    rules and member facts when the order first earned: refunds and edits are valued with
    them, never with today's rules.
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    order_id = models.CharField(max_length=64)
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    platform_customer_id = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    # The email as one spelling per inbox (lower case, no +tag, Gmail without dots: the
    # referral checks' "same person"), indexed: compared exactly, never by a scan.
    email_key = models.CharField(max_length=254, blank=True)
    facts = models.JSONField(default=dict)
    facts_updated_at = models.DateTimeField(null=True, blank=True)
    refunds = models.JSONField(default=dict, help_text="{refund id: {line id: quantity}}")
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.JSONField(null=True, blank=True)
    award_lines = models.JSONField(default=list, blank=True)
    awarded = models.IntegerField(default=0, help_text="Net points credited for this order.")
    ledger_moves = models.PositiveIntegerField(default=0)
    # What the buyer kept, for tier qualification (`_net_spend`): goods after discounts in shop
    # money less refunds and removed items, and how many items; 0 unless paid, not cancelled,
    # not a test.
    net_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    net_items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "order_id"], name="orderrecord_unique_per_shop")
        ]
        indexes = [
            models.Index(fields=["shop", "email"], name="orderrecord_shop_email"),
            models.Index(fields=["member", "paid_at"], name="orderrecord_member_paid"),
            models.Index(fields=["shop", "email_key"], name="orderrecord_shop_email_key"),
            models.Index(fields=["shop", "platform_customer_id"], name="orderrecord_shop_customer"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} of shop {self.shop_id}"


class ActionKind(models.TextChoices):
    SIGNUP = "signup", "Join the program"
    BIRTHDAY = "birthday", "Birthday"
    ANNIVERSARY = "anniversary", "Membership anniversary"
    NEWSLETTER = "newsletter", "Subscribe to the newsletter"
    REVIEW = "review", "Review a product"
    SOCIAL_FOLLOW = "social_follow", "Follow on social media"
    SOCIAL_SHARE = "social_share", "Share on social media"
    CUSTOM = "custom", "Custom action"


class ActionCap(models.TextChoices):
    ONCE = "once", "Once ever"
    PER_DAY = "per_day", "Once a day"
    PER_YEAR = "per_year", "Once a year"


class ActionRule(models.Model):
    """Points for something a member does other than buying. The cap is enforced by the
    ledger itself: each claim's idempotency key names the rule, the member and the period."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="action_rules")
    action = models.CharField(max_length=32, choices=ActionKind.choices)
    name = models.CharField(max_length=120)
    points = models.PositiveIntegerField()
    cap = models.CharField(max_length=16, choices=ActionCap.choices, default=ActionCap.ONCE)
    # Social actions: once per network; custom actions: the key merchants' code sends.
    key = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points__gt=0), name="actionrule_points_positive"
            )
        ]
        indexes = [models.Index(fields=["shop", "action", "enabled"], name="actionrule_lookup")]

    def __str__(self) -> str:
        return self.name
