from django.contrib import admin

from loyalty.ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only; corrections are new entries through the services."""

    list_display = (
        "created_at",
        "member",
        "kind",
        "state",
        "points",
        "remaining",
        "source_type",
        "source_id",
    )
    list_filter = ("kind", "state")
    search_fields = ("idempotency_key", "source_id", "member__email")
    list_select_related = ("member", "member__shop")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
