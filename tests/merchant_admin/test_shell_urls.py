"""A root urlconf with only the core admin pages (no program, widget, imports, analytics)."""

from django.urls import include, path

from loyalty.merchant_admin import views

admin_patterns = [
    path("", views.home, name="admin-home"),
    path("members/", views.members, name="admin-members"),
]
urlpatterns = [path("app/", include(admin_patterns))]
