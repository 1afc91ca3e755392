"""Admin pages for this area, mounted by loyalty.merchant_admin.urls."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
