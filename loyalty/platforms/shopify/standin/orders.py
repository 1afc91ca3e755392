"""Orders as the Admin GraphQL API shows them, built from the REST-shaped dicts that
``payloads.order_payload`` makes, so one fixture feeds both the webhooks and the Admin API.

What follows Shopify:

- Ids are GIDs (``gid://shopify/Order/123``); ``legacyResourceId`` is the numeric id as a string.
- Money is a ``MoneyBag`` (``shopMoney`` and ``presentmentMoney``), each a ``MoneyV2`` whose
  ``amount`` is a ``Decimal`` string (``"117.0"``, ``"12.34"``).
- ``displayFinancialStatus`` and ``displayFulfillmentStatus`` are enums (``PAID``,
  ``PARTIALLY_REFUNDED``, ``UNFULFILLED``...). Dates are UTC with a ``Z``.
- ``orders(query:)`` takes Shopify's search syntax (``updated_at:>='2026-11-20T10:00:00Z'``,
  ``test:false``, ``financial_status:paid``, ``status:open``, ``OR``, ``-field:x``). A field the
  stand-in does not know is ignored with a warning in ``extensions.search``, as Shopify does.
- Cursors are opaque (base64 of ``{"last_id", "last_value"}``, the shape Shopify's are) and
  pagination is by key, so an order updated while the app pages moves past the cursor and is
  seen again instead of shifting the pages.
- Without ``read_all_orders`` only orders created in the last 60 days exist.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .graphql import FieldError

READ_ORDERS_WINDOW = timedelta(days=60)
MAX_PAGE_SIZE = 250

FULFILLMENT_STATUSES = {
    None: "UNFULFILLED",
    "": "UNFULFILLED",
    "fulfilled": "FULFILLED",
    "partial": "PARTIALLY_FULFILLED",
    "restocked": "RESTOCKED",
}


# -- scalars ---------------------------------------------------------------------------------
def parse_time(value: Any) -> datetime | None:
    """A REST timestamp (``2026-11-20T17:59:00+08:00``, ``...Z``) as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def gql_time(value: Any) -> str | None:
    """Shopify's ``DateTime``: UTC, second precision, ``Z``."""
    parsed = parse_time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def decimal_string(value: Any) -> str:
    """Shopify's ``Decimal`` scalar: at least one fractional digit (``"5.0"``, ``"12.34"``)."""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{number.quantize(Decimal(1))}.0"
    return format(number.normalize(), "f")


def _money_v2(amount: Any, currency: str) -> dict[str, Any]:
    return {"__typename": "MoneyV2", "amount": decimal_string(amount), "currencyCode": currency}


def money_bag(
    source: dict[str, Any], name: str, currency: str, presentment: str
) -> dict[str, Any] | None:
    """``{name}Set`` from the REST ``{name}_set`` twin, or from the plain string."""
    twin = source.get(f"{name}_set")
    if isinstance(twin, dict) and twin.get("shop_money"):
        shop = twin["shop_money"]
        pres = twin.get("presentment_money") or shop
        return {
            "__typename": "MoneyBag",
            "shopMoney": _money_v2(
                shop.get("amount") or "0", shop.get("currency_code") or currency
            ),
            "presentmentMoney": _money_v2(
                pres.get("amount") or "0", pres.get("currency_code") or presentment
            ),
        }
    plain = source.get(name)
    if plain in (None, ""):
        return None
    return {
        "__typename": "MoneyBag",
        "shopMoney": _money_v2(plain, currency),
        "presentmentMoney": _money_v2(plain, presentment),
    }


def _zero_bag(currency: str, presentment: str) -> dict[str, Any]:
    return {
        "__typename": "MoneyBag",
        "shopMoney": _money_v2(0, currency),
        "presentmentMoney": _money_v2(0, presentment),
    }


def _sum_bag(amounts: list[Decimal], currency: str, presentment: str) -> dict[str, Any]:
    total = sum(amounts, Decimal(0))
    return {
        "__typename": "MoneyBag",
        "shopMoney": _money_v2(total, currency),
        "presentmentMoney": _money_v2(total, presentment),
    }


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def gid(kind: str, value: Any) -> str | None:
    return None if value in (None, "") else f"gid://shopify/{kind}/{value}"


# -- cursors and connections -------------------------------------------------------------------
def encode_cursor(last_id: Any, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: Any) -> tuple[Any, Any]:
    try:
        data = json.loads(base64.b64decode(str(cursor), validate=True))
        return data["last_id"], data["last_value"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise FieldError(
            "Invalid cursor for current pagination sort.", code="argumentLiteralsIncompatible"
        ) from None


def keyset_connection(
    items: list[Any],
    key: Callable[[Any], tuple[Any, Any]],
    node: Callable[[Any], dict[str, Any]],
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    descending: bool = False,
) -> dict[str, Any]:
    """A Relay connection over ``items`` (already in their final order).

    ``key(item)`` is ``(last_value, last_id)``; the list is sorted by it, ascending unless
    ``descending``. ``after`` and ``before`` select by key, not by position, so the pages do not
    shift when items are added or move while the app pages.
    """
    if first is None and last is None:
        raise FieldError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= int(size) <= MAX_PAGE_SIZE:
            raise FieldError(f"{name} must be between 0 and {MAX_PAGE_SIZE}")
    keys = [key(i) for i in items]

    def past(k: tuple[Any, Any], cursor: tuple[Any, Any]) -> bool:
        try:
            return k < cursor if descending else k > cursor
        except TypeError:  # a cursor from another sort key
            raise FieldError(
                "Invalid cursor for current pagination sort.", code="argumentLiteralsIncompatible"
            ) from None

    start, stop = 0, len(items)
    if after is not None:
        last_id, last_value = decode_cursor(after)
        start = next((i for i, k in enumerate(keys) if past(k, (last_value, last_id))), stop)
    if before is not None:
        last_id, last_value = decode_cursor(before)
        stop = next(
            (i for i, k in enumerate(keys) if i >= start and not past((last_value, last_id), k)),
            stop,
        )
    lo, hi = start, max(start, stop)
    if first is not None:
        hi = min(hi, lo + int(first))
    if last is not None:
        lo = max(lo, hi - int(last))
    chosen = list(range(lo, hi))
    cursors = [encode_cursor(keys[i][1], keys[i][0]) for i in chosen]
    nodes = [node(items[i]) for i in chosen]
    return {
        "__typename": "Connection",
        "nodes": nodes,
        "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": hi < len(items),
            "hasPreviousPage": lo > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


# -- object builders ---------------------------------------------------------------------------
def line_item_node(line: dict[str, Any], currency: str, presentment: str) -> dict[str, Any]:
    quantity = int(line.get("quantity") or 0)
    current = line.get("current_quantity")
    current = quantity if current is None else int(current)
    raw_allocations = line.get("discount_allocations") or []
    allocations = [
        {
            "__typename": "DiscountAllocation",
            "allocatedAmountSet": money_bag(a, "amount", currency, presentment)
            or _zero_bag(currency, presentment),
        }
        for a in raw_allocations
    ]
    discount = sum((_dec(a.get("amount")) for a in raw_allocations), Decimal(0))
    if not allocations:
        discount = _dec(line.get("total_discount"))
    price = _dec(line.get("price"))
    product_id, variant_id = line.get("product_id"), line.get("variant_id")
    return {
        "__typename": "LineItem",
        "id": gid("LineItem", line.get("id")),
        "name": line.get("name") or line.get("title"),
        "title": line.get("title"),
        "variantTitle": line.get("variant_title"),
        "vendor": line.get("vendor"),
        "sku": line.get("sku") or None,
        "quantity": quantity,
        "currentQuantity": current,
        "refundableQuantity": current,
        "isGiftCard": bool(line.get("gift_card")),
        "requiresShipping": bool(line.get("requires_shipping")),
        "taxable": bool(line.get("taxable")),
        "product": (
            {
                "__typename": "Product",
                "id": gid("Product", product_id),
                "legacyResourceId": str(product_id),
            }
            if product_id
            else None
        ),
        "variant": (
            {
                "__typename": "ProductVariant",
                "id": gid("ProductVariant", variant_id),
                "legacyResourceId": str(variant_id),
                "sku": line.get("sku") or None,
            }
            if variant_id
            else None
        ),
        "originalUnitPriceSet": money_bag(line, "price", currency, presentment),
        "originalTotalSet": _sum_bag([price * quantity], currency, presentment),
        "discountedTotalSet": _sum_bag([price * quantity - discount], currency, presentment),
        "totalDiscountSet": _sum_bag([discount], currency, presentment),
        "discountAllocations": allocations,
    }


def _lines_connection(
    lines: list[dict[str, Any]], currency: str, presentment: str
) -> Callable[..., dict[str, Any]]:
    def resolve(**kwargs: Any) -> dict[str, Any]:
        return keyset_connection(
            lines,
            key=lambda li: (lines.index(li), li.get("id")),
            node=lambda li: line_item_node(li, currency, presentment),
            **_paging(kwargs),
        )

    return resolve


def _paging(args: dict[str, Any]) -> dict[str, Any]:
    return {k: args.get(k) for k in ("first", "last", "after", "before")}


def refund_node(
    refund: dict[str, Any], order: dict[str, Any], currency: str, presentment: str
) -> dict[str, Any]:
    by_id = {li.get("id"): li for li in order.get("line_items") or []}
    items = list(refund.get("refund_line_items") or [])

    def item_node(item: dict[str, Any]) -> dict[str, Any]:
        line = by_id.get(item.get("line_item_id")) or item.get("line_item") or {}
        restock = item.get("restock_type") or "no_restock"
        return {
            "__typename": "RefundLineItem",
            "id": gid("RefundLineItem", item.get("id")),
            "lineItem": line_item_node(line, currency, presentment),
            "quantity": int(item.get("quantity") or 0),
            "restockType": str(restock).upper(),
            "restocked": restock != "no_restock",
            "subtotalSet": money_bag(item, "subtotal", currency, presentment)
            or _zero_bag(currency, presentment),
            "totalTaxSet": money_bag(item, "total_tax", currency, presentment)
            or _zero_bag(currency, presentment),
            "priceSet": money_bag(line, "price", currency, presentment)
            or _zero_bag(currency, presentment),
        }

    refunded = [
        _dec(t.get("amount"))
        for t in refund.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status") == "success"
    ]

    def lines(**kwargs: Any) -> dict[str, Any]:
        return keyset_connection(
            items,
            key=lambda it: (items.index(it), it.get("id")),
            node=item_node,
            **_paging(kwargs),
        )

    return {
        "__typename": "Refund",
        "id": gid("Refund", refund.get("id")),
        "legacyResourceId": str(refund.get("id")),
        "createdAt": gql_time(refund.get("created_at")),
        "updatedAt": gql_time(refund.get("processed_at") or refund.get("created_at")),
        "note": refund.get("note"),
        "totalRefundedSet": _sum_bag(refunded, currency, presentment),
        "refundLineItems": lines,
    }


def _split_tags(tags: Any) -> list[str]:
    if isinstance(tags, list):
        return [str(t) for t in tags]
    return [t.strip() for t in str(tags or "").split(",") if t.strip()]


def order_node(
    order: dict[str, Any], customer: Callable[..., Any] | dict[str, Any] | None
) -> dict[str, Any]:
    """The ``Order`` object for a stored REST-shaped order. ``customer`` is the resolved
    ``Customer`` object (or a callable resolving it, for scope checks), None for guests."""
    currency = order.get("currency") or "USD"
    presentment = order.get("presentment_currency") or currency
    lines = list(order.get("line_items") or [])
    refunds = list(order.get("refunds") or [])

    def bag(name: str) -> dict[str, Any]:
        return money_bag(order, name, currency, presentment) or _zero_bag(currency, presentment)

    financial = order.get("financial_status")
    closed_at = order.get("closed_at")
    return {
        "__typename": "Order",
        "id": gid("Order", order["id"]),
        "legacyResourceId": str(order["id"]),
        "name": order.get("name") or f"#{order.get('order_number') or order['id']}",
        "number": order.get("number"),
        "email": order.get("email") or None,
        "phone": order.get("phone"),
        "note": order.get("note"),
        "tags": _split_tags(order.get("tags")),
        "test": bool(order.get("test")),
        "confirmed": bool(order.get("confirmed", True)),
        "closed": bool(closed_at),
        "closedAt": gql_time(closed_at),
        "createdAt": gql_time(order.get("created_at")),
        "updatedAt": gql_time(order.get("updated_at") or order.get("created_at")),
        "processedAt": gql_time(order.get("processed_at") or order.get("created_at")),
        "cancelledAt": gql_time(order.get("cancelled_at")),
        "cancelReason": str(order["cancel_reason"]).upper() if order.get("cancel_reason") else None,
        "displayFinancialStatus": str(financial).upper() if financial else None,
        "displayFulfillmentStatus": FULFILLMENT_STATUSES.get(
            order.get("fulfillment_status"), "UNFULFILLED"
        ),
        "fullyPaid": financial in ("paid", "partially_refunded", "refunded"),
        "sourceName": order.get("source_name"),
        "currencyCode": currency,
        "presentmentCurrencyCode": presentment,
        "discountCodes": [str(d.get("code", "")) for d in order.get("discount_codes") or []],
        "customer": customer,
        "subtotalPriceSet": bag("subtotal_price"),
        "currentSubtotalPriceSet": bag("current_subtotal_price"),
        "totalDiscountsSet": bag("total_discounts"),
        "currentTotalDiscountsSet": bag("current_total_discounts"),
        "totalShippingPriceSet": bag("total_shipping_price"),
        "currentShippingPriceSet": bag("current_shipping_price"),
        "totalTaxSet": bag("total_tax"),
        "currentTotalTaxSet": bag("current_total_tax"),
        "totalPriceSet": bag("total_price"),
        "currentTotalPriceSet": bag("current_total_price"),
        "totalRefundedSet": _sum_bag(
            [
                _dec(t.get("amount"))
                for r in refunds
                for t in r.get("transactions") or []
                if t.get("kind") == "refund" and t.get("status") == "success"
            ],
            currency,
            presentment,
        ),
        "lineItems": _lines_connection(lines, currency, presentment),
        "refunds": lambda first=None, **_: [
            refund_node(r, order, currency, presentment)
            for r in (refunds if first is None else refunds[: max(0, int(first))])
        ],
    }


# -- search and sorting ------------------------------------------------------------------------
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "ID": lambda o: int(o["id"]),
    "CREATED_AT": lambda o: _sortable_time(o.get("created_at")),
    "UPDATED_AT": lambda o: _sortable_time(o.get("updated_at") or o.get("created_at")),
    "PROCESSED_AT": lambda o: _sortable_time(o.get("processed_at") or o.get("created_at")),
    "ORDER_NUMBER": lambda o: int(o.get("order_number") or 0),
    "TOTAL_PRICE": lambda o: float(_dec(o.get("total_price"))),
    "CURRENT_TOTAL_PRICE": lambda o: float(_dec(o.get("current_total_price"))),
    "FINANCIAL_STATUS": lambda o: str(o.get("financial_status") or ""),
    "FULFILLMENT_STATUS": lambda o: str(o.get("fulfillment_status") or ""),
    "CUSTOMER_NAME": lambda o: " ".join(
        str((o.get("customer") or {}).get(k) or "") for k in ("first_name", "last_name")
    ).strip(),
    "RELEVANCE": lambda o: int(o["id"]),
}


def _sortable_time(value: Any) -> str:
    """Shopify's cursor value for a time: ``2026-11-20 10:00:00.000000`` (UTC, sorts as text)."""
    parsed = parse_time(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if parsed else ""


_TERM_RE = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[A-Za-z_]+):(?P<op>>=|<=|>|<|=)?)?"""
    r"""(?P<value>'[^']*'|"[^"]*"|[^\s()]+)"""
)
_TIME_FIELDS = {"created_at", "updated_at", "processed_at"}
_KNOWN_FIELDS = _TIME_FIELDS | {
    "id",
    "test",
    "financial_status",
    "fulfillment_status",
    "status",
    "name",
    "email",
    "customer_id",
    "source_name",
}


class OrderSearch:
    """A parsed ``query`` argument: OR-groups of AND-ed terms; unknown fields become warnings."""

    def __init__(self, text: str, tz: str) -> None:
        self.text = text
        self.tz = tz
        self.warnings: list[dict[str, str]] = []
        self.groups: list[list[tuple[bool, str | None, str, str]]] = [[]]
        for match in _TERM_RE.finditer(text or ""):
            value = match["value"]
            if match["field"] is None and value in ("AND",):
                continue
            if match["field"] is None and value == "OR":
                self.groups.append([])
                continue
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            field = match["field"].lower() if match["field"] else None
            if field is not None and field not in _KNOWN_FIELDS:
                self.warnings.append(
                    {"field": field, "message": "Invalid search field for this query."}
                )
                continue
            self.groups[-1].append((bool(match["neg"]), field, match["op"] or "=", value))

    def matches(self, order: dict[str, Any]) -> bool:
        return any(all(self._term(order, *term) for term in group) for group in self.groups)

    def _term(self, order: dict[str, Any], negate: bool, field: str | None, op: str, value: str):
        result = self._positive(order, field, op, value)
        return not result if negate else result

    def _positive(self, order: dict[str, Any], field: str | None, op: str, value: str) -> bool:
        lowered = value.lower()
        customer = order.get("customer") or {}
        if field is None:  # free text
            haystack = " ".join(
                str(x or "")
                for x in (
                    order.get("name"),
                    order.get("email"),
                    customer.get("first_name"),
                    customer.get("last_name"),
                )
            ).lower()
            return lowered in haystack
        if field in _TIME_FIELDS:
            stored = parse_time(order.get(field) or order.get("created_at"))
            bound, whole_day = self._time_value(value)
            if stored is None or bound is None:
                return False
            if whole_day and op == "=":
                return bound <= stored < bound + timedelta(days=1)
            return _compare(stored, op, bound)
        if field == "id":
            try:
                return _compare(int(order["id"]), op, int(value))
            except ValueError:
                return False
        if field == "test":
            return bool(order.get("test")) == (lowered == "true")
        if field == "financial_status":
            return str(order.get("financial_status") or "").lower() == lowered
        if field == "fulfillment_status":
            status = order.get("fulfillment_status")
            aliases = {
                "shipped": "fulfilled",
                "fulfilled": "fulfilled",
                "partial": "partial",
                "unshipped": None,
                "unfulfilled": None,
            }
            return lowered == "any" or aliases.get(lowered, lowered) == status
        if field == "status":
            cancelled, closed = bool(order.get("cancelled_at")), bool(order.get("closed_at"))
            return {
                "any": True,
                "open": not cancelled and not closed,
                "closed": closed,
                "cancelled": cancelled,
                "not_closed": not closed,
            }.get(lowered, False)
        if field == "name":
            return str(order.get("name") or "").lstrip("#").lower() == lowered.lstrip("#")
        if field == "email":
            return str(order.get("email") or "").lower() == lowered
        if field == "customer_id":
            return str(customer.get("id") or "") == value
        if field == "source_name":
            return str(order.get("source_name") or "").lower() == lowered
        return True

    def _time_value(self, value: str) -> tuple[datetime | None, bool]:
        """A search time; a date alone or a time without an offset is in the shop's zone."""
        try:
            zone = ZoneInfo(self.tz)
        except Exception:
            zone = UTC
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None, False
        whole_day = len(text) == 10
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)), whole_day


def _compare(left: Any, op: str, right: Any) -> bool:
    return {
        "=": left == right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


def visible(order: dict[str, Any], *, now: float, all_orders: bool) -> bool:
    """``read_orders`` alone sees the last 60 days of orders (by creation)."""
    if all_orders:
        return True
    created = parse_time(order.get("created_at"))
    return created is None or created.timestamp() >= now - READ_ORDERS_WINDOW.total_seconds()


def list_orders(
    orders: list[dict[str, Any]],
    *,
    search: OrderSearch | None,
    sort_key: str,
    reverse: bool,
) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], tuple[Any, Any]]]:
    """The matching orders in their final order, and the cursor key for each."""
    if sort_key not in SORT_KEYS:
        raise FieldError(
            f"Argument 'sortKey' on Field 'orders' has an invalid value ({sort_key}). "
            "Expected type 'OrderSortKeys'.",
            code="argumentLiteralsIncompatible",
            typeName="Field",
            argumentName="sortKey",
        )
    value = SORT_KEYS[sort_key]

    def key(order: dict[str, Any]) -> tuple[Any, Any]:
        return (value(order), int(order["id"]))

    found = [o for o in orders if search is None or search.matches(o)]
    found.sort(key=key, reverse=reverse)
    return found, key
