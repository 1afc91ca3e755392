from django.contrib import admin

from loyalty.shops.models import Program, Shop


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    # Tokens are editable=False and never listed: they must not appear in the admin.
    list_display = ("domain", "platform", "currency", "installed_at", "uninstalled_at")
    search_fields = ("domain", "name")
    readonly_fields = ("access_token_expires_at", "refresh_token_expires_at", "scopes")
    exclude = ("access_token", "refresh_token")


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("shop", "name", "points_per_currency_unit", "pending_days")
