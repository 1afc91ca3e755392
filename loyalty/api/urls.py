from django.urls import path

from loyalty.api import views

urlpatterns = [
    path("members/<str:customer_id>", views.member_detail, name="api-member"),
    path("members/<str:customer_id>/ledger", views.member_ledger, name="api-member-ledger"),
    path("members/<str:customer_id>/actions", views.member_actions, name="api-member-actions"),
    path("rewards", views.reward_list, name="api-rewards"),
]
