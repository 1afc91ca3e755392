"""Admin pages for imports and exports, mounted at /app/imports/ by loyalty.merchant_admin.urls."""

from django.urls import path

from loyalty.imports import views

urlpatterns = [
    path("", views.landing, name="admin-imports"),
    path("<int:pk>/mapping/", views.mapping, name="admin-imports-mapping"),
    path("<int:pk>/", views.job_detail, name="admin-imports-job"),
    path("<int:pk>/apply/", views.apply, name="admin-imports-apply"),
    path("<int:pk>/dry-run/", views.replan, name="admin-imports-replan"),
    path("<int:pk>/progress/", views.progress, name="admin-imports-progress"),
    path(
        "export/members.csv",
        views.export,
        {"name": "members"},
        name="admin-imports-export-members",
    ),
    path("export/ledger.csv", views.export, {"name": "ledger"}, name="admin-imports-export-ledger"),
]
