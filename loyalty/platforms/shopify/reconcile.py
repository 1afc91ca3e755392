"""Reconciliation: read recently updated orders from the Admin API and hand them to the domain
exactly as their webhooks would have, so an order whose webhook never came still earns.

Shopify's delivery is at-least-once but not guaranteed. The earning services converge an
order's points from facts and are idempotent, so applying an order (and its refunds) that was
already processed changes nothing, and one that was missed is credited, refunded or cancelled
as the webhooks would have done.

Shape of a run: page through ``orders(query: "updated_at:>='…'", sortKey: UPDATED_AT)``; for
each order, fetch the lines (and refund lines) one page did not hold, translate the node into
the domain's events (pure functions below, shop money only, ids as the numeric ids webhooks
carry), give its lines their products' collections and tags when earn rules need them
(``products.py``; one lookup per page), then apply the refunds and the order event in one
transaction. Bounded by a number of
pages and a time budget; a run that stops early says where to resume. ``AdminApiError``
propagates: an order is applied whole or not at all (the orders of earlier pages stay applied,
which is harmless), and the next run tries again.

Query cost: Shopify (and the stand-in) refuse a query whose requested cost is above 1000, and a
nested connection's cost is multiplied by the outer ``first``. So a page holds at most
``MAX_PAGE_SIZE`` orders with their first ``LINES_PER_ORDER`` lines; longer orders get their
remaining lines with follow-up queries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from loyalty.core import events
from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import OrderRecord
from loyalty.earning.services import PAID_STATUSES
from loyalty.platforms.shopify.admin_api import admin_graphql
from loyalty.platforms.shopify.products import order_event_with_product_facts, product_facts_load
from loyalty.platforms.shopify.translate import legacy_id, parse_when
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 10
LINES_PER_ORDER = 5
REFUND_LINES_PER_REFUND = 5
FOLLOW_UP_PAGE_SIZE = 50
MAX_FOLLOW_UP_PAGES = 20  # 1000 more lines for one order (or one refund) at most
SOURCE_ID = "reconcile"

_LINE_FIELDS = """
fragment SetiaReconcileLine on LineItem {
  id
  quantity
  currentQuantity
  sku
  isGiftCard
  product { id }
  variant { id }
  originalUnitPriceSet { shopMoney { amount } }
  discountAllocations { allocatedAmountSet { shopMoney { amount } } }
}
"""

_REFUND_LINE_FIELDS = """
fragment SetiaReconcileRefundLine on RefundLineItem {
  lineItem { id }
  quantity
  subtotalSet { shopMoney { amount } }
}
"""

ORDERS_QUERY = (
    """
query SetiaReconcileOrders(
  $first: Int!, $after: String, $query: String!, $lines: Int!, $refundLines: Int!
) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      legacyResourceId
      name
      email
      test
      createdAt
      updatedAt
      cancelledAt
      displayFinancialStatus
      displayFulfillmentStatus
      sourceName
      currencyCode
      discountCodes
      customer { id legacyResourceId email firstName lastName }
      currentSubtotalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      lineItems(first: $lines) {
        pageInfo { hasNextPage endCursor }
        nodes { ...SetiaReconcileLine }
      }
      refunds {
        id
        createdAt
        refundLineItems(first: $refundLines) {
          pageInfo { hasNextPage endCursor }
          nodes { ...SetiaReconcileRefundLine }
        }
      }
    }
  }
}
"""
    + _LINE_FIELDS
    + _REFUND_LINE_FIELDS
)

ORDER_LINES_QUERY = (
    """
query SetiaReconcileOrderLines($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...SetiaReconcileLine }
    }
  }
}
"""
    + _LINE_FIELDS
)

REFUND_LINES_QUERY = (
    """
query SetiaReconcileRefundLines($id: ID!, $first: Int!, $after: String) {
  refund(id: $id) {
    refundLineItems(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...SetiaReconcileRefundLine }
    }
  }
}
"""
    + _REFUND_LINE_FIELDS
)


class NodeError(ValueError):
    """An order node lacks something the domain needs: skipped, never half applied."""


# --- translation: GraphQL order node → domain events (pure) ---------------------------------

FULFILLMENT_STATUSES = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


def _shop_money(money_bag: dict | None) -> Decimal:
    amount = ((money_bag or {}).get("shopMoney") or {}).get("amount")
    if amount in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(amount))
    except InvalidOperation as exc:
        raise NodeError(f"not an amount: {amount!r}") from exc


def _nodes(connection: dict | None) -> list[dict]:
    return list((connection or {}).get("nodes") or [])


def customer_from_node(node: dict | None) -> events.CustomerData | None:
    if not node or not (node.get("legacyResourceId") or node.get("id")):
        return None
    return events.CustomerData(
        platform_customer_id=str(node.get("legacyResourceId") or legacy_id(node.get("id"))),
        email=node.get("email") or "",
        first_name=node.get("firstName") or "",
        last_name=node.get("lastName") or "",
    )


def line_from_node(node: dict) -> events.OrderLine:
    quantity = int(node.get("quantity") or 0)
    current = node.get("currentQuantity")
    return events.OrderLine(
        line_id=legacy_id(node.get("id")),
        product_id=legacy_id((node.get("product") or {}).get("id")),
        variant_id=legacy_id((node.get("variant") or {}).get("id")),
        sku=node.get("sku") or "",
        quantity=quantity,
        current_quantity=quantity if current is None else int(current),
        unit_price=_shop_money(node.get("originalUnitPriceSet")),
        total_discount=sum(
            (
                _shop_money(a.get("allocatedAmountSet"))
                for a in node.get("discountAllocations") or []
            ),
            Decimal("0"),
        ),
        gift_card=bool(node.get("isGiftCard")),
    )


def order_from_node(node: dict) -> events.OrderData:
    """The domain's view of an order from its Admin GraphQL node (all lines fetched)."""
    order_id = node.get("legacyResourceId") or legacy_id(node.get("id"))
    if not order_id:
        raise NodeError("the order node has no id")
    subtotal = node.get("subtotalPriceSet")
    currency = node.get("currencyCode") or ((subtotal or {}).get("shopMoney") or {}).get(
        "currencyCode", ""
    )
    return events.OrderData(
        order_id=str(order_id),
        name=node.get("name") or "",
        customer=customer_from_node(node.get("customer")),
        email=node.get("email") or "",
        currency=currency or "",
        subtotal=_shop_money(subtotal),
        current_subtotal=_shop_money(node.get("currentSubtotalPriceSet")),
        total_discounts=_shop_money(node.get("totalDiscountsSet")),
        shipping=_shop_money(node.get("totalShippingPriceSet")),
        tax=_shop_money(node.get("totalTaxSet")),
        lines=tuple(line_from_node(line) for line in _nodes(node.get("lineItems"))),
        discount_codes=tuple(str(code) for code in node.get("discountCodes") or []),
        financial_status=(node.get("displayFinancialStatus") or "").lower(),
        source_name=node.get("sourceName") or "",
        test=bool(node.get("test")),
        created_at=parse_when(node.get("createdAt")),
        cancelled_at=parse_when(node.get("cancelledAt")),
        updated_at=parse_when(node.get("updatedAt")),
        fulfillment_status=FULFILLMENT_STATUSES.get(node.get("displayFulfillmentStatus") or "", ""),
    )


def event_kind(order: events.OrderData) -> events.OrderEventKind:
    """The webhook topic this state would have come with (the services also read the facts)."""
    if order.cancelled_at:
        return events.OrderEventKind.CANCELLED
    if order.financial_status in PAID_STATUSES:
        return events.OrderEventKind.PAID
    if order.fulfillment_status == "fulfilled":
        return events.OrderEventKind.FULFILLED
    return events.OrderEventKind.UPDATED


def refund_events_from_node(
    node: dict, *, shop_id: int, source_id: str = SOURCE_ID
) -> tuple[events.RefundEvent, ...]:
    order_id = node.get("legacyResourceId") or legacy_id(node.get("id"))
    refunds = []
    for refund in node.get("refunds") or []:
        refund_id = legacy_id(refund.get("id"))
        if not refund_id:
            raise NodeError(f"a refund of order {order_id} has no id")
        refunds.append(
            events.RefundEvent(
                shop_id=shop_id,
                refund_id=refund_id,
                order_id=str(order_id),
                lines=tuple(
                    events.RefundLine(
                        line_id=legacy_id((item.get("lineItem") or {}).get("id")),
                        quantity=int(item.get("quantity") or 0),
                        subtotal=_shop_money(item.get("subtotalSet")),
                    )
                    for item in _nodes(refund.get("refundLineItems"))
                ),
                occurred_at=parse_when(refund.get("createdAt")),
                source_id=source_id,
            )
        )
    return tuple(refunds)


def events_from_node(
    node: dict, *, shop_id: int, source_id: str = SOURCE_ID
) -> tuple[events.OrderEvent, tuple[events.RefundEvent, ...]]:
    """The order event and the refund events an order node stands for.

    ``occurred_at`` of the order event is the order's ``updatedAt``: every change the node shows
    happened at or before it, so a payment found late never starts its pending window early.
    """
    order = order_from_node(node)
    return (
        events.OrderEvent(
            kind=event_kind(order),
            shop_id=shop_id,
            order=order,
            occurred_at=order.updated_at,
            source_id=source_id,
        ),
        refund_events_from_node(node, shop_id=shop_id, source_id=source_id),
    )


# --- the run ----------------------------------------------------------------------------------


@dataclass
class ReconcileResult:
    pages: int = 0
    orders: int = 0  # orders applied
    refunds: int = 0  # refunds applied (already known ones included)
    changed: int = 0  # orders whose points moved: their webhooks were missed (or late)
    points: int = 0  # net points moved by this run
    skipped: int = 0  # nodes that could not be translated
    complete: bool = False  # False: stopped at max_pages or the budget; resume from end_cursor
    end_cursor: str | None = None  # the last page's cursor: pass as `after` with the same since
    last_updated_at: datetime | None = None  # updatedAt of the last order applied


def search_query(since: datetime) -> str:
    stamp = since.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"updated_at:>='{stamp}'"


def page_variables(*, page_size: int, after: str | None, since: datetime) -> dict:
    return {
        "first": page_size,
        "after": after,
        "query": search_query(since),
        "lines": LINES_PER_ORDER,
        "refundLines": REFUND_LINES_PER_REFUND,
    }


def reconcile_orders(
    *,
    shop: Shop,
    since: datetime,
    page_size: int = MAX_PAGE_SIZE,
    max_pages: int = 20,
    budget_seconds: float = 120.0,
    after: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReconcileResult:
    """Apply every order of `shop` updated at or after `since`, oldest update first.

    Stops after `max_pages` pages or once `budget_seconds` have passed (checked between pages,
    so a run reads at least one page); `complete` then is False and `end_cursor` is where to go
    on with the same `since`. Raises AdminApiError when Shopify fails past the client's retries.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(
            f"page_size must be between 1 and {MAX_PAGE_SIZE}: a larger page of orders with "
            "their lines costs more than the 1000 points Shopify allows one query"
        )
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    started = clock()
    result = ReconcileResult(end_cursor=after)
    cursor = after
    while True:
        data = admin_graphql(
            shop=shop,
            query=ORDERS_QUERY,
            variables=page_variables(page_size=page_size, after=cursor, since=since),
            sleep=sleep,
        )
        connection = data.get("orders") or {}
        result.pages += 1
        # The page's products in one lookup (when rules need them), not one per order.
        product_facts_load(shop=shop, product_ids=_product_ids(_nodes(connection)))
        for node in _nodes(connection):
            _apply(shop, node, result, sleep=sleep)
        page_info = connection.get("pageInfo") or {}
        cursor = page_info.get("endCursor") or cursor
        result.end_cursor = cursor
        if not page_info.get("hasNextPage"):
            result.complete = True
            break
        if result.pages >= max_pages or clock() - started >= budget_seconds:
            break
    logger.info(
        "reconciled %s orders of %s since %s: %s changed, %+d points, %s skipped, %s pages%s",
        result.orders,
        shop.domain,
        since.isoformat(),
        result.changed,
        result.points,
        result.skipped,
        result.pages,
        "" if result.complete else " (stopped early)",
    )
    return result


def _apply(shop: Shop, node: dict, result: ReconcileResult, *, sleep) -> None:
    try:
        node = _complete_node(shop, node, sleep=sleep)
        if node is None:
            result.skipped += 1
            return
        order_event, refund_events = events_from_node(node, shop_id=shop.pk)
    except (NodeError, ValueError, TypeError, KeyError) as exc:
        logger.warning("order %s of %s skipped: %s", node.get("id"), shop.domain, exc)
        result.skipped += 1
        return
    # Collections and tags, as a webhook delivery gets them (a failure that earns without
    # them is logged there); a transient one raises: the run stops, the next one tries again.
    order_event, _ = order_event_with_product_facts(shop=shop, event=order_event)
    order_id = order_event.order.order_id
    records = PlatformRecords()
    with transaction.atomic():
        before = _awarded(shop, order_id)
        # Refunds first: an order missed together with its refunds is credited net, in one
        # ledger entry, rather than credited and then taken back.
        for refund in refund_events:
            handle_event(refund, shop=shop, records=records)
        handle_event(order_event, shop=shop, records=records)
        moved = _awarded(shop, order_id) - before
    result.orders += 1
    result.refunds += len(refund_events)
    result.changed += 1 if moved else 0
    result.points += moved
    result.last_updated_at = order_event.order.updated_at or result.last_updated_at
    if moved:
        logger.info(
            "order %s of %s was behind: %+d points (a webhook was missed or is late)",
            order_id,
            shop.domain,
            moved,
        )


def _product_ids(nodes: list[dict]) -> list[str]:
    return [
        legacy_id((line.get("product") or {}).get("id"))
        for node in nodes
        for line in _nodes(node.get("lineItems"))
    ]


def _awarded(shop: Shop, order_id: str) -> int:
    value = (
        OrderRecord.objects.filter(shop=shop, order_id=order_id)
        .values_list("awarded", flat=True)
        .first()
    )
    return value or 0


def _complete_node(shop: Shop, node: dict, *, sleep) -> dict | None:
    """The node with every line and every refund line, fetching the pages it did not hold.
    None when the order is gone by the time its lines are read."""
    lines = node.get("lineItems") or {}
    if (lines.get("pageInfo") or {}).get("hasNextPage"):
        more = _follow(
            shop,
            ORDER_LINES_QUERY,
            node["id"],
            "order",
            "lineItems",
            lines["pageInfo"].get("endCursor"),
            sleep=sleep,
        )
        if more is None:
            return None
        node = {**node, "lineItems": {"nodes": _nodes(lines) + more}}
    refunds = []
    for refund in node.get("refunds") or []:
        items = refund.get("refundLineItems") or {}
        if (items.get("pageInfo") or {}).get("hasNextPage"):
            more = _follow(
                shop,
                REFUND_LINES_QUERY,
                refund["id"],
                "refund",
                "refundLineItems",
                items["pageInfo"].get("endCursor"),
                sleep=sleep,
            )
            if more is None:
                return None
            refund = {**refund, "refundLineItems": {"nodes": _nodes(items) + more}}
        refunds.append(refund)
    return {**node, "refunds": refunds}


def _follow(
    shop: Shop, query: str, gid: str, root: str, field: str, after: str | None, *, sleep
) -> list[dict] | None:
    found: list[dict] = []
    for _ in range(MAX_FOLLOW_UP_PAGES):
        data = admin_graphql(
            shop=shop,
            query=query,
            variables={"id": gid, "first": FOLLOW_UP_PAGE_SIZE, "after": after},
            sleep=sleep,
        )
        owner = data.get(root)
        if owner is None:
            logger.warning("%s %s of %s vanished while reading its lines", root, gid, shop.domain)
            return None
        connection = owner.get(field) or {}
        found.extend(_nodes(connection))
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return found
        after = page_info.get("endCursor")
    raise NodeError(f"{root} {gid} has more than {MAX_FOLLOW_UP_PAGES} pages of lines")


# --- recent orders, from a watermark ----------------------------------------------------------

LOOKBACK = timedelta(days=2)  # never further back than this, whatever the watermark says
OVERLAP = timedelta(minutes=15)  # re-read this much before the last run began: search lags
WATERMARK_TTL = 7 * 24 * 3600
LOCK_TTL = 300  # the task's hard time limit: a crashed run frees the shop by then


def watermark_key(shop: Shop) -> str:
    return f"setia:shopify:reconcile:{shop.pk}:watermark"


def can_read_orders(shop: Shop) -> bool:
    return bool({"read_orders", "write_orders", "read_all_orders"} & shop.granted_scopes)


def reconcile_recent(
    *, shop: Shop, now: datetime | None = None, **options
) -> ReconcileResult | None:
    """Reconcile what changed since this shop's watermark (the last `LOOKBACK` without one).

    The watermark lives in Django's cache: `{"since", "after"}`. A complete run moves it to
    its own start less `OVERLAP`; a run that stopped early keeps `since` and remembers the
    cursor, so the next run goes on from there; a failed run (AdminApiError, raised) leaves
    it alone. Losing the cache only costs a re-read of the last `LOOKBACK`. Returns None when
    the shop cannot be read or another run holds it.
    """
    if not can_read_orders(shop):
        logger.warning("cannot reconcile %s: read_orders is not granted", shop.domain)
        return None
    lock = f"setia:shopify:reconcile:{shop.pk}:lock"
    if not cache.add(lock, 1, timeout=LOCK_TTL):
        return None
    try:
        now = now or timezone.now()
        floor = now - LOOKBACK
        mark = cache.get(watermark_key(shop)) or {}
        since = parse_when(mark.get("since"))
        after = mark.get("after") or None
        if since is None or since < floor:
            since, after = floor, None
        result = reconcile_orders(shop=shop, since=since, after=after, **options)
        if result.complete:
            mark = {"since": (now - OVERLAP).isoformat(), "after": None}
        else:
            mark = {"since": since.isoformat(), "after": result.end_cursor}
        cache.set(watermark_key(shop), mark, timeout=WATERMARK_TTL)
        return result
    finally:
        cache.delete(lock)
