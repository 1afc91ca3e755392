from django.apps import AppConfig


class EarningConfig(AppConfig):
    name = "loyalty.earning"
    label = "earning"
