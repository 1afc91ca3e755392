"""Admin pages for this area, mounted by loyalty.merchant_admin.urls at /app/analytics/."""

from django.urls import path

from loyalty.analytics import views

urlpatterns = [
    path("", views.analytics_page, name="admin-analytics"),
]
