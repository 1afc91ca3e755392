"""Referrals: a link per member, a welcome code for the friend, points for the referrer.

The member's link needs no table: its code is derived from (shop, member) with an HMAC
(`codes.py`). A friend who leaves an email on the landing page gets one `ReferralClaim`, with
a single-use discount code; the referrer is credited when the friend's first paid order uses
that code (`services.referral_order_seen`).
"""

from decimal import Decimal

from django.db import models


class FriendDiscountKind(models.TextChoices):
    AMOUNT = "amount", "Amount off the order"
    PERCENT = "percent", "Percent off the order"


class ReferralProgram(models.Model):
    """A shop's referral terms; off until the merchant turns it on."""

    shop = models.OneToOneField(
        "shops.Shop", on_delete=models.CASCADE, related_name="referral_program"
    )
    enabled = models.BooleanField(default=False)
    friend_discount_kind = models.CharField(
        max_length=16, choices=FriendDiscountKind.choices, default=FriendDiscountKind.AMOUNT
    )
    friend_discount_value = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("10")
    )
    friend_minimum_subtotal = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    referrer_points = models.PositiveIntegerField(default=500)
    code_lifetime_days = models.PositiveIntegerField(default=30)
    monthly_cap = models.PositiveIntegerField(
        default=10, help_text="Rewarded referrals per referrer per calendar month."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"referral program of shop {self.shop_id}"


class ClaimStatus(models.TextChoices):
    PENDING = "pending", "Asked of the store"  # the store has not confirmed the code yet
    ISSUED = "issued", "Issued"
    USED = "used", "Used in an order"  # seen on an order not paid yet
    REWARDED = "rewarded", "Referrer rewarded"
    REFUSED = "refused", "Refused"
    REVERSED = "reversed", "Reversed"  # the rewarded order was cancelled or refunded


class ReferralClaim(models.Model):
    """One friend's welcome code, and what came of it."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    referrer = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="referral_claims"
    )
    friend_email = models.CharField(max_length=254, help_text="Normalised (see codes.py).")
    code = models.CharField(max_length=64, help_text="The friend's discount code, upper case.")
    platform_discount_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    reason = models.CharField(max_length=255, blank=True)
    order_id = models.CharField(max_length=64, blank=True)
    friend_customer_id = models.CharField(max_length=64, blank=True)
    points = models.PositiveIntegerField(default=0, help_text="Credited to the referrer.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    rewarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="referralclaim_code_per_shop"),
            # One welcome code per friend per shop, whichever link they came through.
            models.UniqueConstraint(
                fields=["shop", "friend_email"], name="referralclaim_friend_per_shop"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "order_id"], name="referralclaim_order"),
            models.Index(fields=["referrer", "rewarded_at"], name="referralclaim_cap"),
            models.Index(fields=["shop", "-created_at"], name="referralclaim_recent"),
        ]

    def __str__(self) -> str:
        return f"referral claim {self.pk} ({self.status})"
