from django.contrib import admin, messages

from loyalty.rewards.models import Redemption, RedemptionStatus, Reward
from loyalty.rewards.services import redemption_settle


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "kind", "points_cost", "value", "enabled", "is_default")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "shop__domain")


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    """Every redemption, failures included; a pending one can be settled again by hand (the
    same look-up the sweeper does: it never refunds while a store call may still land)."""

    list_display = ("created_at", "member", "reward", "status", "points", "code", "error")
    list_filter = ("status",)
    search_fields = ("code", "idempotency_key", "order_id", "member__platform_customer_id")
    list_select_related = ("member", "reward")
    readonly_fields = [f.name for f in Redemption._meta.fields]
    actions = ["settle_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Settle pending redemptions now")
    def settle_now(self, request, queryset):
        for redemption in queryset.filter(status=RedemptionStatus.PENDING):
            settled = redemption_settle(redemption=redemption, create=False)
            self.message_user(
                request, f"Redemption {settled.pk}: {settled.status}", level=messages.INFO
            )
