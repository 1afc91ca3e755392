"""Admin pages for this area, mounted by loyalty.merchant_admin.urls."""

from django.urls import path

from loyalty.merchant_admin.widget import views

urlpatterns = [
    path("", views.widget_settings, name="admin-widget"),
    path("secret/", views.widget_secret_new, name="admin-widget-secret"),
]
