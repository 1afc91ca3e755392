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
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_per_currency_unit__gte=0),
                name="program_points_per_unit_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.shop})"
