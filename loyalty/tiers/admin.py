from django.contrib import admin

from loyalty.tiers.models import Tier, TierHistory


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "shop", "threshold", "multiplier", "entry_points", "hidden", "tag")
    list_filter = ("hidden",)
    search_fields = ("name", "tag", "shop__domain")
    list_select_related = ("shop",)


@admin.register(TierHistory)
class TierHistoryAdmin(admin.ModelAdmin):
    """Read-only: tier changes go through `loyalty.tiers.services`."""

    list_display = ("at", "member", "from_name", "to_name", "reason", "synced_at", "sync_error")
    list_filter = ("reason", ("synced_at", admin.EmptyFieldListFilter))
    search_fields = ("member__email", "member__platform_customer_id")
    list_select_related = ("member",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
