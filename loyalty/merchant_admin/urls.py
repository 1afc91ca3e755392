"""The embedded merchant admin under /app/. Each area owns its url module; every view is
wrapped in `embedded_admin` (session token verified, `request.shop` set)."""

from django.urls import include, path

from loyalty.merchant_admin import views

urlpatterns = [
    path("", views.home, name="admin-home"),
    path("program/", include("loyalty.merchant_admin.program.urls")),
    path("widget/", include("loyalty.merchant_admin.widget.urls")),
    path("imports/", include("loyalty.imports.urls")),
    path("analytics/", include("loyalty.analytics.urls")),
]
