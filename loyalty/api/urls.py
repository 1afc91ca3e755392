from django.urls import path

from loyalty.api import views

urlpatterns = [
    path("members/<str:customer_id>", views.member_detail, name="api-member"),
    path("members/<str:customer_id>/ledger", views.member_ledger, name="api-member-ledger"),
    path("members/<str:customer_id>/actions", views.member_actions, name="api-member-actions"),
    path(
        "members/<str:customer_id>/adjustments",
        views.member_adjustments,
        name="api-member-adjustments",
    ),
    path(
        "members/<str:customer_id>/redemptions",
        views.member_redemptions,
        name="api-member-redemptions",
    ),
    path("rewards", views.reward_list, name="api-rewards"),
]
