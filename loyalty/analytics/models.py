"""Daily roll-ups of a shop's program: what the analytics page reads, so that it never scans
the ledger or the orders.

A `ShopDay` holds one shop's figures for one day of the shop's own calendar (its IANA time
zone); a `CustomerDay` holds one customer's orders and activity on that day, so that figures
over a period that count *distinct* customers (active members, enrolment rate, repeat
purchases) can be read without touching the orders. Both are rebuilt whole by
`loyalty.analytics.services.analytics_rollup_day` (recomputing a day gives the same rows).
"""

from decimal import Decimal

from django.db import models


class ShopDay(models.Model):
    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="A day of the shop's calendar (its time zone).")
    # Members.
    members_enrolled = models.PositiveIntegerField(default=0, help_text="Enrolled that day.")
    members_total = models.PositiveIntegerField(default=0, help_text="Enrolled by day end.")
    members_active = models.PositiveIntegerField(
        default=0, help_text="Members who earned, redeemed or ordered that day."
    )
    # Points moved that day; reversals count against what they undo (a failed redemption's
    # points returned lower `points_redeemed`), so that the day's change of the points held is
    # issued - redeemed - expired - taken back.
    points_issued = models.IntegerField(default=0)
    points_redeemed = models.IntegerField(default=0)
    points_expired = models.IntegerField(default=0)
    points_taken_back = models.IntegerField(
        default=0, help_text="Refunds' reversals and deductions by hand or for debts."
    )
    # Points held at day end.
    points_pending_end = models.IntegerField(default=0, help_text="Earned, not yet spendable.")
    points_balance_end = models.IntegerField(default=0, help_text="Spendable.")
    # Redemptions made that day (not failed).
    redemptions = models.PositiveIntegerField(default=0)
    redemptions_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text="Known money value."
    )
    # Orders paid that day and kept (not cancelled, not tests, not wholly refunded).
    member_orders = models.PositiveIntegerField(default=0)
    member_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    nonmember_orders = models.PositiveIntegerField(default=0)
    nonmember_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    reward_orders = models.PositiveIntegerField(default=0, help_text="Used a Setia reward code.")
    reward_revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    # Members per tier at day end: [{"tier_id": id or None, "name": str, "members": n}].
    tiers = models.JSONField(default=list, blank=True)
    # Distinct customers over the 7, 30 and 90 days ending with this day (the page's presets),
    # which the period's day rows cannot add up to: {"7": {"buyers": n, ...}, ...}.
    windows = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "day"], name="shopday_unique_per_shop"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.day}"


class CustomerDay(models.Model):
    """One customer's day: orders paid (and kept) and their revenue, whether they were a
    member then, whether they earned or redeemed points. A row exists only for a customer who
    did one of these."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # "m<member id>" for members, "c<customer id>" or "e<email>" for others, "o<order id>" for a
    # guest order naming nobody.
    customer_key = models.CharField(max_length=320)
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    points_activity = models.BooleanField(default=False, help_text="Earned or redeemed points.")
    # The customer's neighbouring days (`link_customer_days` keeps them true), so that distinct
    # customers over any period are counted in one pass over its rows, without grouping: a
    # customer is counted on the first day of the period they ordered on (no order day since
    # the period began), a one-order customer where that day is also their last in the period.
    prev_order_day = models.DateField(null=True, blank=True, help_text="Last earlier order day.")
    next_order_day = models.DateField(null=True, blank=True, help_text="Next later order day.")
    prev_active_day = models.DateField(
        null=True, blank=True, help_text="Last earlier day with orders or points activity."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "customer_key"], name="customerday_unique_per_shop_day"
            ),
        ]
        indexes = [
            # A customer's days in order: relinking the customers of a day rolled up again.
            models.Index(fields=["shop", "customer_key", "day"], name="customerday_by_customer"),
            # A period's days with all that counting its distinct customers reads: an index-only
            # scan on PostgreSQL (the table itself is read only for rows changed since the last
            # vacuum). Other databases skip covering indexes.
            models.Index(
                fields=["shop", "day"],
                include=[
                    "orders",
                    "member",
                    "points_activity",
                    "prev_order_day",
                    "next_order_day",
                    "prev_active_day",
                ],
                name="customerday_period_counts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_key} on {self.day}"
