from decimal import Decimal

from django.db import models

from loyalty.core.fields import EncryptedTextField


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"


class Shop(models.Model):
    """A store that installed Setia: the tenant every other row belongs to."""

    platform = models.CharField(max_length=32, choices=Platform.choices, default=Platform.SHOPIFY)
    domain = models.CharField(max_length=255, help_text="The platform's permanent shop domain.")
    name = models.CharField(max_length=255, blank=True)
    # Secrets: encrypted at rest, never rendered by __repr__/__str__, logs or the Django admin.
    access_token = EncryptedTextField(blank=True, default="", editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True, default="", editable=False)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=1024, blank=True, help_text="Granted, comma-separated.")
    currency = models.CharField(max_length=3, default="USD")
    iana_timezone = models.CharField(max_length=64, default="UTC")
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    storefront_seen_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the widget last answered the shop's storefront (the theme's app embed "
        "or the script tag), to the hour: the dashboard's checklist ends once it has.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "domain"], name="shop_domain_unique_per_platform"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.domain}"

    def __repr__(self) -> str:
        return f"<Shop {self.pk} {self.platform}:{self.domain}>"

    @property
    def is_installed(self) -> bool:
        return self.installed_at is not None and self.uninstalled_at is None

    @property
    def granted_scopes(self) -> set[str]:
        return {s.strip() for s in self.scopes.split(",") if s.strip()}


class EarnTrigger(models.TextChoices):
    ORDER_PAID = "order_paid", "Order paid"
    ORDER_FULFILLED = "order_fulfilled", "Order fulfilled"


class Rounding(models.TextChoices):
    DOWN = "down", "Round down"
    NEAREST = "nearest", "Round to nearest"
    UP = "up", "Round up"


class ShortfallPolicy(models.TextChoices):
    DEBT = "debt", "Future earnings repay it first"
    FORGIVE = "forgive", "Forgive it"


class ExpiryMode(models.TextChoices):
    NEVER = "never", "Points never expire"
    PER_LOT = "per_lot", "Each earn expires N days after it was earned"
    INACTIVITY = "inactivity", "The whole balance expires after N days without activity"


class TierBasis(models.TextChoices):
    POINTS_EARNED = "points_earned", "Points earned"
    AMOUNT_SPENT = "amount_spent", "Amount spent"
    ORDERS_COUNT = "orders_count", "Number of orders"


class TierPeriod(models.TextChoices):
    LIFETIME = "lifetime", "Lifetime"
    CALENDAR_YEAR = "calendar_year", "Calendar year"
    ROLLING_12_MONTHS = "rolling_12_months", "Rolling 12 months"


class TierDowngrade(models.TextChoices):
    NEVER = "never", "Never downgrade"
    END_OF_PERIOD = "end_of_period", "At the end of the qualifying period"
    GRACE = "grace", "After a grace period below the threshold"


class OnboardingStep(models.TextChoices):
    """Where a shop is in the admin's three onboarding steps, in order; the last two end it."""

    RATE = "rate", "Earn rate"
    REWARDS = "rewards", "Starter rewards"
    WIDGET = "widget", "Widget"
    FINISHED = "finished", "Finished"
    SKIPPED = "skipped", "Skipped"


class Program(models.Model):
    """A shop's loyalty program settings. Defaults are the contract's default program."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="program")
    name = models.CharField(max_length=100, default="Rewards")
    points_name = models.CharField(max_length=40, default="points")
    points_per_currency_unit = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal("1")
    )
    earn_trigger = models.CharField(
        max_length=32, choices=EarnTrigger.choices, default=EarnTrigger.ORDER_PAID
    )
    pending_days = models.PositiveIntegerField(
        default=0, help_text="Days before earned points become spendable (the return window)."
    )
    rounding = models.CharField(max_length=16, choices=Rounding.choices, default=Rounding.DOWN)
    include_shipping = models.BooleanField(default=False)
    include_tax = models.BooleanField(default=False)
    include_gift_cards = models.BooleanField(default=False)
    minimum_order = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    earn_on_pos = models.BooleanField(default=True)
    earn_on_draft = models.BooleanField(default=True)
    guest_orders_earn = models.BooleanField(
        default=True,
        help_text="Guest orders earn, credited when the shopper opens an account with that email.",
    )
    shortfall_policy = models.CharField(
        max_length=16,
        choices=ShortfallPolicy.choices,
        default=ShortfallPolicy.DEBT,
        help_text="When a refund takes back points already spent.",
    )
    # Tiers: how members qualify, over which period, and when they may drop a tier.
    tier_basis = models.CharField(
        max_length=32, choices=TierBasis.choices, default=TierBasis.POINTS_EARNED
    )
    tier_period = models.CharField(
        max_length=32, choices=TierPeriod.choices, default=TierPeriod.LIFETIME
    )
    tier_downgrade = models.CharField(
        max_length=32, choices=TierDowngrade.choices, default=TierDowngrade.END_OF_PERIOD
    )
    tier_grace_days = models.PositiveIntegerField(
        default=30, help_text="With the grace policy: days below a threshold before dropping."
    )
    # Points expiry.
    expiry_mode = models.CharField(
        max_length=16, choices=ExpiryMode.choices, default=ExpiryMode.NEVER
    )
    expiry_days = models.PositiveIntegerField(
        default=365, help_text="Days after earning (per lot) or after the last activity."
    )
    expiry_reminder_days = models.PositiveIntegerField(
        default=30, help_text="Days before expiry to email a reminder; 0 sends none."
    )
    # Rewards.
    return_points_for_expired_codes = models.BooleanField(
        default=False, help_text="A reward code that expires unused gives its points back."
    )
    is_active = models.BooleanField(default=True)
    onboarding = models.CharField(
        max_length=16,
        choices=OnboardingStep.choices,
        default=OnboardingStep.RATE,
        help_text="The onboarding step the admin continues with (finished or skipped: none).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_per_currency_unit__gte=0),
                name="program_points_per_unit_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(expiry_mode="never") | models.Q(expiry_days__gt=0),
                name="program_expiry_days_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.shop})"
