from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "loyalty.platforms.shopify"
    label = "shopify"
    verbose_name = "Shopify"

    def ready(self) -> None:
        from loyalty.core.platform import register_gateway
        from loyalty.platforms.shopify.gateway import ShopifyGateway
        from loyalty.shops.models import Platform

        register_gateway(Platform.SHOPIFY, ShopifyGateway)
