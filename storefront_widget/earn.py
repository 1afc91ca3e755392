"""What a product earns, for the theme's product-page block ("earn N points with this
purchase"): the earning engine run on a one-line order of that product at that price, with the
program's live terms and rules and the shopper's tier; milestone bonuses (first order, every
Nth) are left out, as they belong to the order, not the product."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from loyalty.core.memo import ProcessMemo
from loyalty.earning import engine
from loyalty.earning.models import EarnRule
from loyalty.earning.services import _load_snapshot as load_earning_snapshot
from loyalty.earning.services import _rule as engine_rule
from loyalty.earning.services import order_snapshot
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Program, Shop
from storefront_widget.state import storefront_catalogue

_snapshots = ProcessMemo()


def earning_terms(*, shop: Shop) -> dict:
    """The program's terms and enabled rules as the earning service freezes them for an order
    (`order_snapshot`), kept per process as the storefront catalogue is."""
    snapshot = _snapshots.get(shop.pk)
    if snapshot is None:
        snapshot = order_snapshot(
            program=Program.objects.get(shop=shop),
            rules=[
                engine_rule(rule)
                for rule in EarnRule.objects.filter(shop=shop, enabled=True).order_by("pk")
            ],
            tier=None,
            paid_orders_before=0,
        )
        if settings.STOREFRONT_CACHE_SECONDS > 0:
            _snapshots.put(shop.pk, snapshot, seconds=settings.STOREFRONT_CACHE_SECONDS)
    return snapshot


def product_points(
    *,
    shop: Shop,
    price: Decimal,
    quantity: int = 1,
    product_id: str = "",
    sku: str = "",
    collections: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    platform_customer_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Points `quantity` of a product at `price` (shop currency, per unit) would earn now."""
    now = now or timezone.now()
    catalogue = storefront_catalogue(shop=shop)
    snapshot = dict(earning_terms(shop=shop))
    tier_id = (
        Member.objects.filter(
            shop=shop, platform_customer_id=platform_customer_id, status=MemberStatus.ACTIVE
        )
        .values_list("tier_id", flat=True)
        .first()
        if platform_customer_id
        else None
    )
    tier = catalogue.tiers_by_id.get(tier_id) if tier_id else None
    if tier is not None:
        snapshot["member"] = {
            **snapshot["member"],
            "tier": tier.name,
            "tier_multiplier": str(tier.multiplier),
        }
    terms, rules, member = load_earning_snapshot(snapshot)
    # A product page is not an order: the order minimum is for the cart, not this product.
    terms = engine.Terms(**{**terms.__dict__, "minimum_order": engine.ZERO})
    order = engine.Order(
        lines=(
            engine.Line(
                line_id="product",
                quantity=quantity,
                unit_price=price,
                product_id=product_id,
                sku=sku,
                collections=frozenset(collections),
                tags=frozenset(tag.strip().casefold() for tag in tags),
            ),
        ),
        placed_at=now,
    )
    lines = engine.award(terms=terms, rules=rules, member=member, order=order)
    return engine.total([line for line in lines if line.code != "milestone"])
