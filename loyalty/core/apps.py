from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loyalty.core"
    label = "core"
