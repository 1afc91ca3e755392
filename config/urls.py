from django.contrib import admin
from django.urls import path

from loyalty.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("django-admin/", admin.site.urls),
]
