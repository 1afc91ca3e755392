"""The embedded merchant admin under /app/. Each area owns its url module; every view is
wrapped in `embedded_admin` (session token verified, `request.shop` set)."""

from django.urls import include, path

from loyalty.merchant_admin import views

urlpatterns = [
    path("", views.home, name="admin-home"),
    path("members/", views.members, name="admin-members"),
    path("members/<int:member_id>/", views.member_detail, name="admin-members-detail"),
    path("members/<int:member_id>/adjust/", views.member_adjust, name="admin-members-adjust"),
    path("operations/", views.operations, name="admin-operations"),
    path("operations/replay/", views.operations_replay, name="admin-operations-replay"),
    path(
        "operations/privacy/<int:request_id>/export/",
        views.privacy_export,
        name="admin-operations-privacy-export",
    ),
    path("program/", include("loyalty.merchant_admin.program.urls")),
    path("widget/", include("loyalty.merchant_admin.widget.urls")),
    path("imports/", include("loyalty.imports.urls")),
    path("analytics/", include("loyalty.analytics.urls")),
]
