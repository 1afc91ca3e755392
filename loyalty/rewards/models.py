"""The rewards catalogue and the redemptions made from it.

A `Reward` is what a member can spend points on; a `Redemption` is one spend: the points
debited, the single-use code created at the store (or the pledge, for a donation), and every
step of getting there, so that a failure is a row someone can see and settle again.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member
from loyalty.shops.models import Shop


def default_combines_with() -> dict[str, bool]:
    return {"orderDiscounts": False, "productDiscounts": True, "shippingDiscounts": True}


class RewardKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", "Fixed amount off"
    PERCENT_OFF = "percent_off", "Percentage off"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    FREE_PRODUCT = "free_product", "Free product"
    POINTS_TO_MONEY = "points_to_money", "Points to money (variable)"
    CHARITY = "charity", "Charity donation"


CODE_KINDS = frozenset(
    {
        RewardKind.AMOUNT_OFF,
        RewardKind.PERCENT_OFF,
        RewardKind.FREE_SHIPPING,
        RewardKind.FREE_PRODUCT,
        RewardKind.POINTS_TO_MONEY,
    }
)


class Reward(models.Model):
    """One item of a shop's catalogue.

    `points_cost` and `value` read by kind:
    - amount off: `value` money off the order for `points_cost` points;
    - percent off: `value` percent (0-100] off the order;
    - free shipping: no value;
    - free product: the variant `product_variant_id` free; `value`, when set, is one unit's price
      (the code then takes that amount off the variant: one unit free), otherwise 100 % off it;
    - points to money: every `points_cost` points are worth `value` money off, between
      `min_points` and `max_points` per redemption (the member chooses how many);
    - charity: `points_cost` points pledge `value` money to `cause`; no code.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="rewards")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=RewardKind.choices)
    enabled = models.BooleanField(default=True)
    points_cost = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    min_points = models.PositiveIntegerField(null=True, blank=True)
    max_points = models.PositiveIntegerField(null=True, blank=True)
    product_variant_id = models.CharField(max_length=64, blank=True)
    cause = models.CharField(max_length=255, blank=True)
    minimum_subtotal = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Order subtotal needed."
    )
    code_expiry_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a code stays usable; empty: no expiry."
    )
    tiers = models.JSONField(
        default=list, blank=True, help_text="Tier keys or ids that may claim it; empty: everyone."
    )
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Redemptions per member, ever; empty: no limit."
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    combines_with = models.JSONField(default=default_combines_with)
    # The contract's reward from the start; one per shop, restored on reinstall if missing.
    is_default = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_cost_positive"),
            models.CheckConstraint(condition=Q(value__gte=0), name="reward_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percent_off") | Q(value__gt=0, value__lte=100),
                name="reward_percent_within_range",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["amount_off", "points_to_money", "charity"])
                | Q(value__gt=0),
                name="reward_money_value_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="free_product") | ~Q(product_variant_id=""),
                name="reward_free_product_has_variant",
            ),
            models.CheckConstraint(
                condition=~Q(kind="charity") | ~Q(cause=""), name="reward_charity_has_cause"
            ),
            models.CheckConstraint(
                condition=Q(min_points__isnull=True)
                | Q(max_points__isnull=True)
                | Q(min_points__lte=models.F("max_points")),
                name="reward_min_points_within_max",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(starts_at__lt=models.F("ends_at")),
                name="reward_starts_before_it_ends",
            ),
            models.UniqueConstraint(
                fields=["shop"], condition=Q(is_default=True), name="reward_one_default_per_shop"
            ),
        ]
        indexes = [models.Index(fields=["shop", "enabled"], name="reward_shop_enabled")]

    def __str__(self) -> str:
        return f"{self.name} ({self.points_cost} points)"

    @property
    def is_variable(self) -> bool:
        return self.kind == RewardKind.POINTS_TO_MONEY

    @property
    def needs_code(self) -> bool:
        return self.kind in CODE_KINDS

    def is_active(self, now) -> bool:
        return (
            self.enabled
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or now < self.ends_at)
        )


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", "Pending: points held, code not confirmed yet"
    ISSUED = "issued", "Issued: the code exists at the store"
    FAILED = "failed", "Failed: no code, points returned"
    USED = "used", "Used in an order"
    EXPIRED = "expired", "Expired unused"
    DONATED = "donated", "Donated"


class Redemption(models.Model):
    """One spend of points. Points and code move together: a redemption ends issued (or
    used, expired, donated) with its points spent, or failed with its points returned."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.RESTRICT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    idempotency_key = models.CharField(max_length=255)
    status = models.CharField(
        max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.PENDING
    )
    points = models.PositiveIntegerField()
    money_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Fixed before the store is called, so that a retry after an unknown outcome is safe.
    code = models.CharField(max_length=64, blank=True, help_text="Empty for a donation.")
    platform_discount_id = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    debit_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    refund_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    # Calls to the store: how many, the last one, and the start of the latest call whose
    # outcome may still be unknown (it may yet be applied): no refund until that is settled.
    platform_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    in_doubt_since = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    order_id = models.CharField(max_length=64, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "idempotency_key"], name="redemption_key_unique_per_member"
            ),
            models.UniqueConstraint(
                fields=["shop", "code"],
                condition=~Q(code=""),
                name="redemption_code_unique_per_shop",
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_points_positive"),
        ]
        indexes = [
            models.Index(fields=["member", "created_at"], name="redemption_member_recent"),
            models.Index(
                fields=["updated_at"],
                condition=Q(status="pending"),
                name="redemption_pending",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="issued", expires_at__isnull=False),
                name="redemption_issued_expiring",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption {self.pk} {self.status} ({self.code or self.reward_id})"
