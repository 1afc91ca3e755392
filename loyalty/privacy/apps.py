from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "loyalty.privacy"
    label = "privacy"
