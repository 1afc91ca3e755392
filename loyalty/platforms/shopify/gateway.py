"""Shopify's side of `loyalty.core.platform.StoreGateway`: what the domain asks of the store,
done through Admin GraphQL (`admin_api.admin_graphql`)."""

from __future__ import annotations

from loyalty.core.platform import CustomerTierSync, DiscountCodeSpec, IssuedCode
from loyalty.shops.models import Shop


class ShopifyGateway:
    def discount_code_create(self, *, shop: Shop, spec: DiscountCodeSpec) -> IssuedCode:
        raise NotImplementedError  # rewards: discountCodeBasicCreate / FreeShippingCreate

    def discount_code_find(self, *, shop: Shop, code: str) -> IssuedCode | None:
        raise NotImplementedError  # rewards: codeDiscountNodeByCode

    def discount_code_delete(self, *, shop: Shop, platform_discount_id: str) -> None:
        raise NotImplementedError  # rewards: discountCodeDelete

    def customer_tier_sync(self, *, shop: Shop, sync: CustomerTierSync) -> None:
        raise NotImplementedError  # tiers: tagsAdd / tagsRemove / metafieldsSet
