from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "loyalty.shops"
    label = "shops"
