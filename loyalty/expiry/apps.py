from django.apps import AppConfig


class ExpiryConfig(AppConfig):
    name = "loyalty.expiry"
    label = "expiry"
