from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "loyalty.analytics"
    label = "analytics"
