from django.contrib import admin

from loyalty.members.models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = (
        "platform_customer_id",
        "email",
        "shop",
        "tier",
        "points_balance",
        "points_pending",
    )
    list_filter = ("status", "tier")
    search_fields = ("email", "platform_customer_id")
    # Tiers change through `loyalty.tiers.services` only, which keeps their history.
    readonly_fields = (
        "points_balance",
        "points_pending",
        "lifetime_earned",
        "lifetime_spent",
        "tier",
        "tier_since",
        "tier_by_hand",
        "tier_below_since",
    )
    list_select_related = ("shop", "tier")
