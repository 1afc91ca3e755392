from django.contrib import admin

from loyalty.members.models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("platform_customer_id", "email", "shop", "points_balance", "points_pending")
    list_filter = ("status",)
    search_fields = ("email", "platform_customer_id")
    readonly_fields = ("points_balance", "points_pending", "lifetime_earned", "lifetime_spent")
    list_select_related = ("shop",)
