from django.apps import AppConfig


class MerchantAdminConfig(AppConfig):
    name = "loyalty.merchant_admin"
    label = "merchant_admin"
    default_auto_field = "django.db.models.BigAutoField"
