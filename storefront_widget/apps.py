from django.apps import AppConfig


class StorefrontWidgetConfig(AppConfig):
    name = "storefront_widget"
    label = "storefront_widget"
    default_auto_field = "django.db.models.BigAutoField"
