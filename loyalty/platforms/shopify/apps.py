from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "loyalty.platforms.shopify"
    label = "shopify"
    verbose_name = "Shopify"
