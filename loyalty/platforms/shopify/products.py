"""Product facts for earn rules: a product's tags and collections, which Shopify's order payloads
do not carry (a line names only its product, variant and SKU), read from the Admin API and kept
per shop for `SHOPIFY_PRODUCT_FACTS_TTL`.

Before an order event reaches the domain (from a webhook or from reconciliation), each line is
given its product's facts, so that rules on a collection or a tag can match. The cost is paid
only when it buys something:

- no lookup at all unless the shop has an enabled earn rule on a collection or a tag;
- no lookup for a product whose facts are fresh in `ProductFacts`: a burst of orders for the
  same products costs one Admin API request per batch of new products, not one per order;
- products read in batches of `PRODUCTS_PER_QUERY` with one `nodes(ids:)` query.

Collections are stored as Shopify's plain numeric ids (`"841564295"`), the spelling merchants'
rule values use (a rule may also name a collection by GID; the earning service reads its last
segment). Tags are stored as Shopify gives them; rules match them without regard to case.

Failures: a transient one (throttled, 5xx, no answer) raises `AdminApiError` so that the
caller tries again later rather than earn without the rules. A permanent one, above all a shop
that has not granted `read_products` (installed before Setia asked for it), earns without
collection and tag matching: the note returned says why, and the shop is logged once a period.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from loyalty.core.events import OrderEvent
from loyalty.earning.engine import RuleKind, RuleTarget
from loyalty.earning.models import EarnRule
from loyalty.platforms.shopify.admin_api import admin_graphql
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.models import ProductFacts
from loyalty.platforms.shopify.translate import legacy_id
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)

# A query's cost must stay under Shopify's 1000 points: per product about 2 + 2 x collections
# (the stand-in counts the connection's pageInfo per item, Shopify less), so 40 x 23 = 920.
PRODUCTS_PER_QUERY = 40
COLLECTIONS_PER_PRODUCT = 10
MORE_COLLECTIONS_PER_PAGE = 100  # one product's further collections: 1 x (3 + 200) points
MAX_COLLECTION_PAGES = 10
# Attempts within one lookup; past them a webhook delivery is retried later with backoff, which
# keeps a worker from sleeping through Shopify's bad minute.
LOOKUP_ATTEMPTS = 2
LOOKUP_BUDGET_SECONDS = 10.0
SCOPES = frozenset({"read_products", "write_products"})
NO_SCOPE_NOTE = "collection and tag rules not applied: read_products not granted"

PRODUCTS_QUERY = """
query SetiaProductFacts($ids: [ID!]!, $collections: Int!, $after: String) {
  nodes(ids: $ids) {
    ... on Product {
      id
      legacyResourceId
      tags
      collections(first: $collections, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id legacyResourceId }
      }
    }
  }
}
"""


@dataclasses.dataclass(frozen=True)
class Facts:
    tags: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()


def product_rules_in_use(*, shop: Shop) -> bool:
    """Whether any enabled rule of the shop needs a product's collections or tags."""
    return EarnRule.objects.filter(
        shop=shop,
        enabled=True,
        kind=RuleKind.PRODUCT,
        target__in=[RuleTarget.COLLECTION, RuleTarget.TAG],
    ).exists()


def can_read_products(shop: Shop) -> bool:
    return bool(SCOPES & shop.granted_scopes)


def product_facts_load(
    *, shop: Shop, product_ids, now: datetime | None = None
) -> tuple[dict[str, Facts], str]:
    """The facts of these products (by product id) that earn rules can use, read from the
    Admin API for those not fresh in the cache; and a note when some could not be had.

    Empty, at no cost, when no rule of the shop needs them. Raises `AdminApiError` only for a
    transient failure."""
    wanted = sorted({str(p) for p in product_ids if p})
    if not wanted or not product_rules_in_use(shop=shop):
        return {}, ""
    if not can_read_products(shop):
        _warn_once(shop, "read_products is not granted: rules on collections and tags never match")
        return {}, NO_SCOPE_NOTE
    now = now or timezone.now()
    fresh_since = now - timedelta(seconds=settings.SHOPIFY_PRODUCT_FACTS_TTL)
    rows = {
        row.product_id: row
        for row in ProductFacts.objects.filter(
            shop=shop, product_id__in=wanted, fetched_at__gte=fresh_since
        )
    }
    note = ""
    stale = [p for p in wanted if p not in rows]
    if stale:
        try:
            fetched = _fetch(shop, stale, now=now)
        except AdminApiError as exc:
            if exc.transient:
                raise
            if "ACCESS_DENIED" in exc.error_codes:
                _warn_once(shop, f"Shopify denied reading products: {exc}")
                note = NO_SCOPE_NOTE
            else:
                logger.warning("product facts of %s could not be read: %s", shop.domain, exc)
                note = f"collection and tag rules not applied: {exc.code}"
        else:
            ProductFacts.objects.bulk_create(
                fetched,  # sorted by product id: concurrent upserts lock rows in one order
                update_conflicts=True,
                unique_fields=["shop", "product_id"],
                update_fields=["tags", "collections", "found", "fetched_at"],
            )
            rows.update({row.product_id: row for row in fetched})
    facts = {
        product_id: Facts(tags=tuple(row.tags), collections=tuple(row.collections))
        for product_id, row in rows.items()
    }
    return facts, note


def order_event_with_product_facts(
    *, shop: Shop, event: OrderEvent, now: datetime | None = None
) -> tuple[OrderEvent, str]:
    """The event with each line's collections and tags filled in where a rule needs them; and
    a note for the delivery's outcome when they could not be read. Raises `AdminApiError` only
    for a transient failure."""
    [(enriched, note)] = order_events_with_product_facts(shop=shop, events=[event], now=now)
    return enriched, note


def order_events_with_product_facts(
    *, shop: Shop, events: list[OrderEvent], now: datetime | None = None
) -> list[tuple[OrderEvent, str]]:
    """The same for several events of one shop, with one lookup for all their products."""
    product_ids = [line.product_id for event in events for line in event.order.lines]
    facts, note = product_facts_load(shop=shop, product_ids=product_ids, now=now)
    if not facts:
        return [(event, note) for event in events]
    out = []
    for event in events:
        enriched = tuple(
            dataclasses.replace(line, collections=known.collections, tags=known.tags)
            if (known := facts.get(line.product_id))
            else line
            for line in event.order.lines
        )
        order = dataclasses.replace(event.order, lines=enriched)
        out.append((dataclasses.replace(event, order=order), note))
    return out


# --- internals ------------------------------------------------------------------------------


def _query(shop: Shop, variables: dict) -> dict:
    return admin_graphql(
        shop=shop,
        query=PRODUCTS_QUERY,
        variables=variables,
        max_attempts=LOOKUP_ATTEMPTS,
        budget_seconds=LOOKUP_BUDGET_SECONDS,
    )


def _fetch(shop: Shop, product_ids: list[str], *, now: datetime) -> list[ProductFacts]:
    """One row per product id asked for; a product Shopify does not know is `found=False`."""
    read: dict[str, ProductFacts] = {}
    for start in range(0, len(product_ids), PRODUCTS_PER_QUERY):
        batch = product_ids[start : start + PRODUCTS_PER_QUERY]
        data = _query(
            shop,
            {
                "ids": [f"gid://shopify/Product/{p}" for p in batch],
                "collections": COLLECTIONS_PER_PRODUCT,
            },
        )
        for node in data.get("nodes") or []:
            if not node or not node.get("id"):
                continue  # deleted, or not a product
            product_id = str(node.get("legacyResourceId") or legacy_id(node["id"]))
            read[product_id] = ProductFacts(
                shop=shop,
                product_id=product_id,
                tags=[str(t) for t in node.get("tags") or []],
                collections=_collection_ids(shop, node),
                found=True,
                fetched_at=now,
            )
    return [
        read.get(p) or ProductFacts(shop=shop, product_id=p, found=False, fetched_at=now)
        for p in product_ids
    ]


def _collection_ids(shop: Shop, node: dict) -> list[str]:
    connection = node.get("collections") or {}
    ids = _ids(connection)
    for _ in range(MAX_COLLECTION_PAGES):
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return ids
        data = _query(
            shop,
            {
                "ids": [node["id"]],
                "collections": MORE_COLLECTIONS_PER_PAGE,
                "after": page_info.get("endCursor"),
            },
        )
        connection = ((data.get("nodes") or [None])[0] or {}).get("collections") or {}
        ids.extend(_ids(connection))
    logger.warning(
        "product %s of %s is in more collections than Setia reads; using the first %d",
        node["id"],
        shop.domain,
        len(ids),
    )
    return ids


def _ids(connection: dict) -> list[str]:
    return [
        str(c.get("legacyResourceId") or legacy_id(c.get("id")))
        for c in connection.get("nodes") or []
        if c and (c.get("legacyResourceId") or c.get("id"))
    ]


def _warn_once(shop: Shop, message: str) -> None:
    """Once per shop per product-facts period, not on every order."""
    key = f"setia:shopify:product-facts-unreadable:{shop.pk}"
    if cache.add(key, 1, timeout=settings.SHOPIFY_PRODUCT_FACTS_TTL):
        logger.warning("%s: %s", shop.domain, message)
