"""Shopify Admin GraphQL as the stand-in answers it: schema, object shapes and resolvers.

Only the operations Setia uses exist (shop, customer, customers by search, orders and refunds,
products and their collections through ``nodes``/``product``, webhook subscriptions, code
discounts, tags, metafields); anything else is ``Field 'x' doesn't exist on type 'QueryRoot'``.
Shapes, ``userErrors`` and messages follow Shopify's Admin API; where Shopify's exact wording was
not known the message says what is wrong in the same style. Access scopes are enforced
(``ACCESS_DENIED``), and every answer carries ``extensions.cost`` from a per-shop leaky bucket.
Orders are built in ``orders.py``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from . import orders
from .graphql import FieldError, Prepared, Resolver, Schema, connection, prepare
from .state import (
    AccessToken,
    Collection,
    Customer,
    Discount,
    Metafield,
    Product,
    Shop,
    Store,
    WebhookSubscription,
    has_scope,
    iso,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000  # Shopify refuses a single query above this, whatever the bucket
MAX_METAFIELDS = 25
# metafieldsSet costs MUTATION_COST plus, for each distinct owner among its inputs, its type's
# weight (Shopify's changelog of 2026-09-15, "Dynamic complexity cost for metafieldsSet"): 25
# customers cost 35, 25 orders 260. Other owner types weigh nothing.
METAFIELD_OWNER_WEIGHTS = {"Order": 10, "Product": 4, "Collection": 1, "Customer": 1, "Shop": 1}
MAX_NODES = 250  # ids one ``nodes`` query may ask for
ACCESS_DOCS = "https://shopify.dev/api/usage/access-scopes"
THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"

# -- schema ----------------------------------------------------------------------------------
_S = "String"
_ID = "ID"
_B = "Boolean"
_DT = "DateTime"

OBJECTS: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "shop": "Shop",
        "customer": "Customer",
        "customers": "CustomerConnection",
        "webhookSubscription": "WebhookSubscription",
        "webhookSubscriptions": "WebhookSubscriptionConnection",
        "codeDiscountNode": "DiscountCodeNode",
        "codeDiscountNodeByCode": "DiscountCodeNode",
        "orders": "OrderConnection",
        "order": "Order",
        "refund": "Refund",
        "nodes": "Node",
        "product": "Product",
    },
    "Mutation": {
        "webhookSubscriptionCreate": "WebhookSubscriptionCreatePayload",
        "webhookSubscriptionDelete": "WebhookSubscriptionDeletePayload",
        "discountCodeBasicCreate": "DiscountCodeBasicCreatePayload",
        "discountCodeFreeShippingCreate": "DiscountCodeFreeShippingCreatePayload",
        "discountCodeDelete": "DiscountCodeDeletePayload",
        "tagsAdd": "TagsAddPayload",
        "tagsRemove": "TagsRemovePayload",
        "metafieldsSet": "MetafieldsSetPayload",
    },
    "Shop": {
        "id": _ID,
        "name": _S,
        "email": _S,
        "contactEmail": _S,
        "currencyCode": "CurrencyCode",
        "enabledPresentmentCurrencies": "CurrencyCode",
        "ianaTimezone": _S,
        "timezoneAbbreviation": _S,
        "myshopifyDomain": _S,
        "url": "URL",
        "primaryDomain": "Domain",
        "plan": "ShopPlan",
        "currencyFormats": "CurrencyFormats",
        "createdAt": _DT,
        "updatedAt": _DT,
        "metafield": "Metafield",
        "metafields": "MetafieldConnection",
    },
    "ShopPlan": {"displayName": _S, "partnerDevelopment": _B, "shopifyPlus": _B},
    "Domain": {"id": _ID, "host": _S, "url": "URL"},
    "CurrencyFormats": {"moneyFormat": _S, "moneyWithCurrencyFormat": _S},
    "Customer": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "email": _S,
        "firstName": _S,
        "lastName": _S,
        "displayName": _S,
        "phone": _S,
        "note": _S,
        "state": "CustomerState",
        "verifiedEmail": _B,
        "tags": _S,
        "numberOfOrders": "UnsignedInt64",
        "amountSpent": "MoneyV2",
        "locale": _S,
        "createdAt": _DT,
        "updatedAt": _DT,
        "defaultEmailAddress": "CustomerEmailAddress",
        "metafield": "Metafield",
        "metafields": "MetafieldConnection",
    },
    "CustomerEmailAddress": {"emailAddress": _S, "marketingState": _S},
    "MoneyV2": {"amount": "Decimal", "currencyCode": "CurrencyCode"},
    "MoneyBag": {"shopMoney": "MoneyV2", "presentmentMoney": "MoneyV2"},
    "Order": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "name": _S,
        "number": "Int",
        "email": _S,
        "phone": _S,
        "note": _S,
        "tags": _S,
        "test": _B,
        "confirmed": _B,
        "closed": _B,
        "closedAt": _DT,
        "createdAt": _DT,
        "updatedAt": _DT,
        "processedAt": _DT,
        "cancelledAt": _DT,
        "cancelReason": "OrderCancelReason",
        "displayFinancialStatus": "OrderDisplayFinancialStatus",
        "displayFulfillmentStatus": "OrderDisplayFulfillmentStatus",
        "fullyPaid": _B,
        "sourceName": _S,
        "currencyCode": "CurrencyCode",
        "presentmentCurrencyCode": "CurrencyCode",
        "discountCodes": _S,
        "customer": "Customer",
        "subtotalPriceSet": "MoneyBag",
        "currentSubtotalPriceSet": "MoneyBag",
        "totalDiscountsSet": "MoneyBag",
        "currentTotalDiscountsSet": "MoneyBag",
        "totalShippingPriceSet": "MoneyBag",
        "currentShippingPriceSet": "MoneyBag",
        "totalTaxSet": "MoneyBag",
        "currentTotalTaxSet": "MoneyBag",
        "totalPriceSet": "MoneyBag",
        "currentTotalPriceSet": "MoneyBag",
        "totalRefundedSet": "MoneyBag",
        "lineItems": "LineItemConnection",
        "refunds": "Refund",
    },
    "LineItem": {
        "id": _ID,
        "name": _S,
        "title": _S,
        "variantTitle": _S,
        "vendor": _S,
        "sku": _S,
        "quantity": "Int",
        "currentQuantity": "Int",
        "refundableQuantity": "Int",
        "isGiftCard": _B,
        "requiresShipping": _B,
        "taxable": _B,
        "product": "Product",
        "variant": "ProductVariant",
        "originalUnitPriceSet": "MoneyBag",
        "originalTotalSet": "MoneyBag",
        "discountedTotalSet": "MoneyBag",
        "totalDiscountSet": "MoneyBag",
        "discountAllocations": "DiscountAllocation",
    },
    "Product": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "title": _S,
        "handle": _S,
        "tags": _S,
        "collections": "CollectionConnection",
    },
    "Collection": {"id": _ID, "legacyResourceId": "UnsignedInt64", "handle": _S, "title": _S},
    "ProductVariant": {"id": _ID, "legacyResourceId": "UnsignedInt64", "sku": _S},
    "DiscountAllocation": {"allocatedAmountSet": "MoneyBag"},
    "Refund": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "createdAt": _DT,
        "updatedAt": _DT,
        "note": _S,
        "totalRefundedSet": "MoneyBag",
        "refundLineItems": "RefundLineItemConnection",
    },
    "RefundLineItem": {
        "id": _ID,
        "lineItem": "LineItem",
        "quantity": "Int",
        "restockType": "RefundLineItemRestockType",
        "restocked": _B,
        "subtotalSet": "MoneyBag",
        "totalTaxSet": "MoneyBag",
        "priceSet": "MoneyBag",
    },
    "Metafield": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "namespace": _S,
        "key": _S,
        "value": _S,
        "type": _S,
        "jsonValue": "JSON",
        "ownerType": "MetafieldOwnerType",
        "compareDigest": _S,
        "description": _S,
        "createdAt": _DT,
        "updatedAt": _DT,
    },
    "WebhookSubscription": {
        "id": _ID,
        "legacyResourceId": "UnsignedInt64",
        "topic": "WebhookSubscriptionTopic",
        "format": "WebhookSubscriptionFormat",
        "uri": _S,
        "callbackUrl": "URL",
        "endpoint": "WebhookSubscriptionEndpoint",
        "includeFields": _S,
        "metafieldNamespaces": _S,
        "filter": _S,
        "apiVersion": "ApiVersion",
        "createdAt": _DT,
        "updatedAt": _DT,
    },
    "WebhookHttpEndpoint": {"callbackUrl": "URL"},
    "WebhookPubSubEndpoint": {"pubSubProject": _S, "pubSubTopic": _S},
    "WebhookEventBridgeEndpoint": {"arn": _S},
    "ApiVersion": {"handle": _S, "displayName": _S, "supported": _B},
    "DiscountCodeNode": {"id": _ID, "codeDiscount": "DiscountCode"},
    "DiscountRedeemCode": {"id": _ID, "code": _S, "asyncUsageCount": "Int"},
    "Count": {"count": "Int", "precision": _S},
    "DiscountCombinesWith": {"orderDiscounts": _B, "productDiscounts": _B, "shippingDiscounts": _B},
    "DiscountMinimumSubtotal": {"greaterThanOrEqualToSubtotal": "MoneyV2"},
    "DiscountMinimumQuantity": {"greaterThanOrEqualToQuantity": "UnsignedInt64"},
    "DiscountCustomerGets": {
        "value": "DiscountCustomerGetsValue",
        "items": "DiscountItems",
        "appliesOnOneTimePurchase": _B,
        "appliesOnSubscription": _B,
    },
    "DiscountPercentage": {"percentage": "Float"},
    "DiscountAmount": {"amount": "MoneyV2", "appliesOnEachItem": _B},
    "AllDiscountItems": {"allItems": _B},
    "DiscountProducts": {
        "products": "ProductConnection",
        "productVariants": "ProductVariantConnection",
    },
    "DiscountCustomers": {"customers": "Customer"},
    "DiscountBuyerSelectionAll": {"all": _S},
    "DiscountCountryAll": {"allCountries": _B},
    "UserError": {"field": _S, "message": _S},
    "DiscountUserError": {"field": _S, "message": _S, "code": "DiscountErrorCode", "extraInfo": _S},
    "MetafieldsSetUserError": {
        "field": _S,
        "message": _S,
        "code": "MetafieldsSetUserErrorCode",
        "elementIndex": "Int",
    },
    "WebhookSubscriptionCreatePayload": {
        "webhookSubscription": "WebhookSubscription",
        "userErrors": "UserError",
    },
    "WebhookSubscriptionDeletePayload": {
        "deletedWebhookSubscriptionId": _ID,
        "userErrors": "UserError",
    },
    "DiscountCodeBasicCreatePayload": {
        "codeDiscountNode": "DiscountCodeNode",
        "userErrors": "DiscountUserError",
    },
    "DiscountCodeFreeShippingCreatePayload": {
        "codeDiscountNode": "DiscountCodeNode",
        "userErrors": "DiscountUserError",
    },
    "DiscountCodeDeletePayload": {
        "deletedCodeDiscountId": _ID,
        "userErrors": "DiscountUserError",
    },
    "TagsAddPayload": {"node": "Node", "userErrors": "UserError"},
    "TagsRemovePayload": {"node": "Node", "userErrors": "UserError"},
    "MetafieldsSetPayload": {"metafields": "Metafield", "userErrors": "MetafieldsSetUserError"},
    "PageInfo": {
        "hasNextPage": _B,
        "hasPreviousPage": _B,
        "startCursor": _S,
        "endCursor": _S,
    },
}

_DISCOUNT_COMMON = {
    "title": _S,
    "status": "DiscountStatus",
    "summary": _S,
    "startsAt": _DT,
    "endsAt": _DT,
    "createdAt": _DT,
    "updatedAt": _DT,
    "usageLimit": "Int",
    "appliesOncePerCustomer": _B,
    "asyncUsageCount": "Int",
    "discountClass": "DiscountClass",
    "codesCount": "Count",
    "codes": "DiscountRedeemCodeConnection",
    "combinesWith": "DiscountCombinesWith",
    "minimumRequirement": "DiscountMinimumRequirement",
    "context": "DiscountContext",
}
OBJECTS["DiscountCodeBasic"] = {**_DISCOUNT_COMMON, "customerGets": "DiscountCustomerGets"}
OBJECTS["DiscountCodeFreeShipping"] = {
    **_DISCOUNT_COMMON,
    "maximumShippingPrice": "MoneyV2",
    "destinationSelection": "DiscountShippingDestinationSelection",
    "appliesOnOneTimePurchase": _B,
    "appliesOnSubscription": _B,
}
for _node in (
    "WebhookSubscription",
    "DiscountRedeemCode",
    "Metafield",
    "Customer",
    "Order",
    "LineItem",
    "RefundLineItem",
    "Product",
    "ProductVariant",
    "Collection",
):
    OBJECTS[f"{_node}Connection"] = {
        "nodes": _node,
        "edges": f"{_node}Edge",
        "pageInfo": "PageInfo",
    }
    OBJECTS[f"{_node}Edge"] = {"node": _node, "cursor": _S}

UNIONS: dict[str, frozenset[str]] = {
    "DiscountCode": frozenset({"DiscountCodeBasic", "DiscountCodeFreeShipping"}),
    "DiscountMinimumRequirement": frozenset({"DiscountMinimumSubtotal", "DiscountMinimumQuantity"}),
    "DiscountCustomerGetsValue": frozenset({"DiscountPercentage", "DiscountAmount"}),
    "DiscountItems": frozenset({"AllDiscountItems", "DiscountProducts"}),
    "DiscountContext": frozenset({"DiscountCustomers", "DiscountBuyerSelectionAll"}),
    "DiscountShippingDestinationSelection": frozenset({"DiscountCountryAll"}),
    "WebhookSubscriptionEndpoint": frozenset(
        {"WebhookHttpEndpoint", "WebhookPubSubEndpoint", "WebhookEventBridgeEndpoint"}
    ),
}
INTERFACES: dict[str, tuple[dict[str, str], frozenset[str]]] = {
    "Node": (
        {"id": _ID},
        frozenset(
            {
                "Customer",
                "Shop",
                "Metafield",
                "WebhookSubscription",
                "DiscountCodeNode",
                "Domain",
                "Order",
                "LineItem",
                "Refund",
                "Product",
                "ProductVariant",
                "Collection",
            }
        ),
    ),
    "HasMetafields": (
        {"metafield": "Metafield", "metafields": "MetafieldConnection"},
        frozenset({"Customer", "Shop"}),
    ),
}

# (type, field) -> (accepted arguments, required arguments); other fields take none
FIELD_ARGS: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {
    ("QueryRoot", "shop"): (frozenset(), frozenset()),
    ("QueryRoot", "customer"): (frozenset({"id"}), frozenset({"id"})),
    ("QueryRoot", "webhookSubscription"): (frozenset({"id"}), frozenset({"id"})),
    ("QueryRoot", "webhookSubscriptions"): (
        frozenset(
            {
                "first",
                "last",
                "after",
                "before",
                "reverse",
                "topics",
                "uri",
                "callbackUrl",
                "format",
                "query",
                "sortKey",
            }
        ),
        frozenset(),
    ),
    ("QueryRoot", "codeDiscountNode"): (frozenset({"id"}), frozenset({"id"})),
    ("QueryRoot", "codeDiscountNodeByCode"): (frozenset({"code"}), frozenset({"code"})),
    ("Mutation", "webhookSubscriptionCreate"): (
        frozenset({"topic", "webhookSubscription"}),
        frozenset({"topic", "webhookSubscription"}),
    ),
    ("Mutation", "webhookSubscriptionDelete"): (frozenset({"id"}), frozenset({"id"})),
    ("Mutation", "discountCodeBasicCreate"): (
        frozenset({"basicCodeDiscount"}),
        frozenset({"basicCodeDiscount"}),
    ),
    ("Mutation", "discountCodeFreeShippingCreate"): (
        frozenset({"freeShippingCodeDiscount"}),
        frozenset({"freeShippingCodeDiscount"}),
    ),
    ("Mutation", "discountCodeDelete"): (frozenset({"id"}), frozenset({"id"})),
    ("Mutation", "tagsAdd"): (frozenset({"id", "tags"}), frozenset({"id", "tags"})),
    ("Mutation", "tagsRemove"): (frozenset({"id", "tags"}), frozenset({"id", "tags"})),
    ("Mutation", "metafieldsSet"): (frozenset({"metafields"}), frozenset({"metafields"})),
}
_PAGING = frozenset({"first", "last", "after", "before", "reverse"})
for _owner in ("Customer", "Shop", "HasMetafields"):
    FIELD_ARGS[(_owner, "metafield")] = (frozenset({"namespace", "key"}), frozenset({"key"}))
    FIELD_ARGS[(_owner, "metafields")] = (_PAGING | {"namespace", "keys"}, frozenset())
for _discount in ("DiscountCodeBasic", "DiscountCodeFreeShipping"):
    FIELD_ARGS[(_discount, "codes")] = (_PAGING | {"query", "sortKey"}, frozenset())
FIELD_ARGS[("QueryRoot", "orders")] = (
    _PAGING | {"query", "sortKey", "savedSearchId"},
    frozenset(),
)
FIELD_ARGS[("QueryRoot", "customers")] = (_PAGING | {"query", "sortKey"}, frozenset())
FIELD_ARGS[("QueryRoot", "order")] = (frozenset({"id"}), frozenset({"id"}))
FIELD_ARGS[("QueryRoot", "refund")] = (frozenset({"id"}), frozenset({"id"}))
FIELD_ARGS[("Order", "lineItems")] = (_PAGING, frozenset())
FIELD_ARGS[("DiscountProducts", "products")] = (_PAGING, frozenset())
FIELD_ARGS[("DiscountProducts", "productVariants")] = (_PAGING, frozenset())
FIELD_ARGS[("Order", "refunds")] = (frozenset({"first"}), frozenset())
FIELD_ARGS[("Refund", "refundLineItems")] = (_PAGING, frozenset())
FIELD_ARGS[("QueryRoot", "nodes")] = (frozenset({"ids"}), frozenset({"ids"}))
FIELD_ARGS[("QueryRoot", "product")] = (frozenset({"id"}), frozenset({"id"}))
FIELD_ARGS[("Product", "collections")] = (_PAGING | {"query", "sortKey"}, frozenset())

WEBHOOK_TOPIC_SCOPES: dict[str, str | None] = {
    "APP_UNINSTALLED": None,
    "APP_SCOPES_UPDATE": None,
    "APP_SUBSCRIPTIONS_UPDATE": None,
    "SHOP_UPDATE": None,
    "ORDERS_CREATE": "read_orders",
    "ORDERS_PAID": "read_orders",
    "ORDERS_UPDATED": "read_orders",
    "ORDERS_EDITED": "read_orders",
    "ORDERS_CANCELLED": "read_orders",
    "ORDERS_FULFILLED": "read_orders",
    "ORDERS_PARTIALLY_FULFILLED": "read_orders",
    "ORDERS_DELETE": "read_orders",
    "REFUNDS_CREATE": "read_orders",
    "CUSTOMERS_CREATE": "read_customers",
    "CUSTOMERS_UPDATE": "read_customers",
    "CUSTOMERS_DELETE": "read_customers",
    "CUSTOMERS_MERGE": "read_customers",
    "CUSTOMERS_ENABLE": "read_customers",
    "CUSTOMERS_DISABLE": "read_customers",
    "PRODUCTS_CREATE": "read_products",
    "PRODUCTS_UPDATE": "read_products",
    "PRODUCTS_DELETE": "read_products",
}

METAFIELD_TYPES = {
    "single_line_text_field",
    "multi_line_text_field",
    "number_integer",
    "number_decimal",
    "boolean",
    "json",
    "date",
    "date_time",
    "url",
    "money",
}


def fmt_decimal(value: Any) -> str:
    """Shopify's ``Decimal`` scalar: a string, at least one fractional digit ("5.0", "12.34")."""
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return f"{number.quantize(Decimal(1))}.0"
    return format(number.normalize(), "f")


def money(amount: Any, currency: str) -> dict[str, Any]:
    return {"__typename": "MoneyV2", "amount": fmt_decimal(amount), "currencyCode": currency}


def user_error(path: Iterable[Any], message: str, typename: str = "UserError", **extra: Any):
    return {"__typename": typename, "field": [str(p) for p in path], "message": message, **extra}


def parse_gid(value: Any, expected: str | None = None) -> tuple[str, int]:
    """``gid://shopify/Type/123`` -> ("Type", 123); Shopify rejects anything else as an ID."""
    text = str(value)
    parts = text.split("/")
    if len(parts) != 5 or parts[:3] != ["gid:", "", "shopify"] or not parts[4].isdigit():
        raise FieldError(
            f"Invalid global id '{text}'",
            code="argumentLiteralsIncompatible",
            typeName="CoercionError",
        )
    if expected is not None and parts[3] != expected:
        raise FieldError(
            f"Invalid global id '{text}'",
            code="argumentLiteralsIncompatible",
            typeName="CoercionError",
        )
    return parts[3], int(parts[4])


# -- execution context -----------------------------------------------------------------------
@dataclass
class Context:
    store: Store
    shop: Shop
    token: AccessToken
    api_version: str
    root_field: str = ""
    search: list[dict[str, Any]] = field(default_factory=list)  # extensions.search

    def require(self, scope: str, field_name: str | None = None) -> None:
        if not has_scope(self.token.scopes, scope):
            raise FieldError(
                f"Access denied for {field_name or self.root_field} field. "
                f"Required access: `{scope}` access scope.",
                code="ACCESS_DENIED",
                documentation=ACCESS_DOCS,
                requiredAccess=f"`{scope}` access scope.",
            )

    def namespace(self, namespace: str | None) -> str:
        """Resolve ``$app`` / ``$app:sub`` to the app-reserved namespace, as Shopify does."""
        if namespace is None or namespace == "$app":
            return f"app--{self.store.app_id}"
        if namespace.startswith("$app:"):
            return f"app--{self.store.app_id}--{namespace[5:]}"
        return namespace


def throttled_body(throttle_status: dict[str, float], requested: int) -> dict[str, Any]:
    """The HTTP 200 body Shopify sends when the bucket cannot cover the query."""
    status = dict(throttle_status)
    status["currentlyAvailable"] = min(status["currentlyAvailable"], max(0, requested - 1))
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS},
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": None,
                "throttleStatus": status,
            }
        },
    }


# -- object builders ---------------------------------------------------------------------------
def _metafield_obj(m: Metafield) -> dict[str, Any]:
    json_value: Any = m.value
    try:
        if m.type == "json":
            json_value = json.loads(m.value)
        elif m.type == "number_integer":
            json_value = int(m.value)
        elif m.type == "boolean":
            json_value = m.value == "true"
    except ValueError:
        json_value = m.value
    owner_type = m.owner_gid.split("/")[3].upper()
    return {
        "__typename": "Metafield",
        "id": m.gid,
        "legacyResourceId": str(m.id),
        "namespace": m.namespace,
        "key": m.key,
        "value": m.value,
        "type": m.type,
        "jsonValue": json_value,
        "ownerType": owner_type,
        "compareDigest": m.compare_digest,
        "description": None,
        "createdAt": iso(m.created_at),
        "updatedAt": iso(m.updated_at),
    }


def _metafield_fields(ctx: Context, owner_gid: str) -> dict[str, Any]:
    def one(namespace: str | None = None, key: str | None = None, **_: Any) -> Any:
        if key is None:
            raise FieldError("Field 'metafield' is missing required arguments: key")
        found = ctx.shop.metafields.get((owner_gid, ctx.namespace(namespace), key))
        return _metafield_obj(found) if found else None

    def many(namespace: str | None = None, **kwargs: Any) -> dict[str, Any]:
        wanted = ctx.namespace(namespace) if namespace is not None else None
        items = [
            _metafield_obj(m)
            for (owner, ns, _key), m in ctx.shop.metafields.items()
            if owner == owner_gid and (wanted is None or ns == wanted)
        ]
        return connection(items)(**kwargs)

    return {"metafield": one, "metafields": many}


def customer_obj(ctx: Context, c: Customer) -> dict[str, Any]:
    name = " ".join(p for p in (c.first_name, c.last_name) if p) or c.email or ""
    return {
        "__typename": "Customer",
        "id": c.gid,
        "legacyResourceId": str(c.id),
        "email": c.email,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "displayName": name,
        "phone": c.phone,
        "note": c.note,
        "state": c.state,
        "verifiedEmail": c.verified_email,
        "tags": sorted(c.tags),
        "numberOfOrders": str(c.number_of_orders),
        "amountSpent": money(c.amount_spent, ctx.shop.currency),
        "locale": c.locale,
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
        "defaultEmailAddress": (
            {"emailAddress": c.email, "marketingState": c.email_marketing_state}
            if c.email
            else None
        ),
        "emailMarketingConsent": (
            {
                "marketingState": c.email_marketing_state,
                "marketingOptInLevel": c.email_marketing_opt_in_level,
            }
            if c.email
            else None
        ),
        **_metafield_fields(ctx, c.gid),
    }


def shop_obj(ctx: Context) -> dict[str, Any]:
    shop = ctx.shop
    try:
        from zoneinfo import ZoneInfo

        abbreviation = datetime.now(ZoneInfo(shop.iana_timezone)).tzname() or "UTC"
    except Exception:  # unknown zone or no tz database: still answer
        abbreviation = "UTC"
    return {
        "__typename": "Shop",
        "id": shop.gid,
        "name": shop.name,
        "email": shop.email,
        "contactEmail": shop.email,
        "currencyCode": shop.currency,
        "enabledPresentmentCurrencies": [shop.currency],
        "ianaTimezone": shop.iana_timezone,
        "timezoneAbbreviation": abbreviation,
        "myshopifyDomain": shop.domain,
        "url": f"https://{shop.domain}",
        "primaryDomain": {
            "__typename": "Domain",
            "id": f"gid://shopify/Domain/{shop.id}",
            "host": shop.domain,
            "url": f"https://{shop.domain}",
        },
        "plan": {
            "displayName": shop.plan,
            "partnerDevelopment": shop.plan.lower() in ("development", "developer preview"),
            "shopifyPlus": "plus" in shop.plan.lower(),
        },
        "currencyFormats": {
            "moneyFormat": "{{amount}}",
            "moneyWithCurrencyFormat": f"{{{{amount}}}} {shop.currency}",
        },
        "createdAt": iso(shop.created_at),
        "updatedAt": iso(shop.created_at),
        **_metafield_fields(ctx, shop.gid),
    }


def webhook_obj(w: WebhookSubscription) -> dict[str, Any]:
    if w.uri.startswith("pubsub://"):
        project, _, topic = w.uri[len("pubsub://") :].partition(":")
        endpoint = {
            "__typename": "WebhookPubSubEndpoint",
            "pubSubProject": project,
            "pubSubTopic": topic,
        }
    elif w.uri.startswith("arn:"):
        endpoint = {"__typename": "WebhookEventBridgeEndpoint", "arn": w.uri}
    else:
        endpoint = {"__typename": "WebhookHttpEndpoint", "callbackUrl": w.uri}
    return {
        "__typename": "WebhookSubscription",
        "id": w.gid,
        "legacyResourceId": str(w.id),
        "topic": w.topic,
        "format": w.format,
        "uri": w.uri,
        "callbackUrl": endpoint.get("callbackUrl"),
        "endpoint": endpoint,
        "includeFields": list(w.include_fields),
        "metafieldNamespaces": list(w.metafield_namespaces),
        "filter": w.filter,
        "apiVersion": {"handle": w.api_version, "displayName": w.api_version, "supported": True},
        "createdAt": iso(w.created_at),
        "updatedAt": iso(w.created_at),
    }


def _parse_datetime(value: Any, path: str) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise FieldError(
            f"Could not coerce value {json.dumps(value)} to DateTime ({path})",
            code="argumentLiteralsIncompatible",
        ) from None


def discount_obj(ctx: Context, d: Discount) -> dict[str, Any]:
    inp = d.input
    currency = ctx.shop.currency
    now = ctx.store.now()
    starts = _parse_datetime(inp["startsAt"], "startsAt")
    ends = _parse_datetime(inp["endsAt"], "endsAt") if inp.get("endsAt") else None
    status = "SCHEDULED" if starts > now else "EXPIRED" if ends and ends <= now else "ACTIVE"
    summary: list[str] = []

    requirement = None
    minimum = inp.get("minimumRequirement") or {}
    if (minimum.get("subtotal") or {}).get("greaterThanOrEqualToSubtotal") is not None:
        amount = minimum["subtotal"]["greaterThanOrEqualToSubtotal"]
        requirement = {
            "__typename": "DiscountMinimumSubtotal",
            "greaterThanOrEqualToSubtotal": money(amount, currency),
        }
        summary.append(f"Minimum purchase of {fmt_decimal(amount)} {currency}")
    elif (minimum.get("quantity") or {}).get("greaterThanOrEqualToQuantity") is not None:
        qty = str(minimum["quantity"]["greaterThanOrEqualToQuantity"])
        requirement = {"__typename": "DiscountMinimumQuantity", "greaterThanOrEqualToQuantity": qty}
        summary.append(f"Minimum quantity of {qty}")

    context_in = inp.get("context") or {}
    selection_in = inp.get("customerSelection") or {}
    added = (context_in.get("customers") or {}).get("add") or (
        selection_in.get("customers") or {}
    ).get("add")
    if added:
        customers = [
            customer_obj(ctx, ctx.shop.customers[parse_gid(g)[1]])
            for g in added
            if parse_gid(g)[1] in ctx.shop.customers
        ]
        discount_context: dict[str, Any] = {
            "__typename": "DiscountCustomers",
            "customers": customers,
        }
        summary.append(f"For {len(customers)} customer" + ("s" if len(customers) != 1 else ""))
    else:
        discount_context = {"__typename": "DiscountBuyerSelectionAll", "all": "ALL"}
    if inp.get("appliesOncePerCustomer"):
        summary.append("One use per customer")

    combines = inp.get("combinesWith") or {}
    out: dict[str, Any] = {
        "title": inp.get("title"),
        "status": status,
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends else None,
        "createdAt": iso(d.created_at),
        "updatedAt": iso(d.created_at),
        "usageLimit": inp.get("usageLimit"),
        "appliesOncePerCustomer": bool(inp.get("appliesOncePerCustomer")),
        "asyncUsageCount": 0,
        "codesCount": {"count": 1, "precision": "EXACT"},
        "codes": connection(
            [
                {
                    "__typename": "DiscountRedeemCode",
                    "id": f"gid://shopify/DiscountRedeemCode/{d.redeem_code_id}",
                    "code": d.code,
                    "asyncUsageCount": 0,
                }
            ]
        ),
        "combinesWith": {
            "orderDiscounts": bool(combines.get("orderDiscounts")),
            "productDiscounts": bool(combines.get("productDiscounts")),
            "shippingDiscounts": bool(combines.get("shippingDiscounts")),
        },
        "minimumRequirement": requirement,
        "context": discount_context,
    }
    if d.kind == "basic":
        gets = inp.get("customerGets") or {}
        value_in = gets.get("value") or {}
        if value_in.get("percentage") is not None:
            value: dict[str, Any] = {
                "__typename": "DiscountPercentage",
                "percentage": float(value_in["percentage"]),
            }
            headline = f"{float(value_in['percentage']) * 100:g}% off entire order"
        else:
            amount_in = value_in.get("discountAmount") or {}
            value = {
                "__typename": "DiscountAmount",
                "amount": money(amount_in.get("amount", 0), currency),
                "appliesOnEachItem": bool(amount_in.get("appliesOnEachItem")),
            }
            headline = f"{fmt_decimal(amount_in.get('amount', 0))} {currency} off entire order"
        products_in = (gets.get("items") or {}).get("products")
        if products_in:
            items = _discount_products_obj(products_in)
            headline = headline.replace("entire order", "selected products")
        else:
            items = {"__typename": "AllDiscountItems", "allItems": True}
        out.update(
            __typename="DiscountCodeBasic",
            discountClass="PRODUCT" if products_in else "ORDER",
            customerGets={
                "value": value,
                "items": items,
                "appliesOnOneTimePurchase": True,
                "appliesOnSubscription": False,
            },
        )
    else:
        max_price = inp.get("maximumShippingPrice")
        headline = "Free shipping on all products"
        out.update(
            __typename="DiscountCodeFreeShipping",
            discountClass="SHIPPING",
            maximumShippingPrice=money(max_price, currency) if max_price is not None else None,
            destinationSelection={"__typename": "DiscountCountryAll", "allCountries": True},
            appliesOnOneTimePurchase=True,
            appliesOnSubscription=False,
        )
    out["summary"] = " • ".join([headline, *summary])
    return {"__typename": "DiscountCodeNode", "id": d.gid, "codeDiscount": out}


def _discount_products_obj(products_in: dict[str, Any]) -> dict[str, Any]:
    """``DiscountProducts``: the stand-in has no catalogue, so a product or variant is its id."""

    def node(typename: str, gid: str) -> dict[str, Any]:
        return {"__typename": typename, "id": gid, "legacyResourceId": str(parse_gid(gid)[1])}

    products = [node("Product", g) for g in products_in.get("productsToAdd") or []]
    variants = [
        {**node("ProductVariant", g), "sku": None}
        for g in products_in.get("productVariantsToAdd") or []
    ]
    return {
        "__typename": "DiscountProducts",
        "products": connection(products),
        "productVariants": connection(variants),
    }


# -- resolvers: queries ------------------------------------------------------------------------
def _r_shop(ctx: Context, args: dict[str, Any]) -> Any:
    return shop_obj(ctx)


def _r_customer(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "Customer")
    ctx.require("read_customers")
    customer = ctx.shop.customers.get(num)
    return customer_obj(ctx, customer) if customer else None


# Customer search (``customers(query:)``): Shopify's syntax, ``field:value`` terms (a value may
# be quoted, with backslash escapes), ``OR`` between groups of terms, ``-`` to negate.
_CUSTOMER_TERM_RE = re.compile(
    r"""(?P<neg>-)?(?:(?P<field>[A-Za-z_]+):)?"""
    r"""(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|'(?P<single>[^']*)'|(?P<bare>[^\s()]+))"""
)
_CUSTOMER_FIELDS = {"email", "id", "first_name", "last_name", "tag", "state"}
_TOKEN_RE = re.compile(r"[a-z0-9]+")
CUSTOMER_SORT_KEYS = {
    "ID": lambda c: c.id,
    "RELEVANCE": lambda c: c.id,
    "CREATED_AT": lambda c: c.created_at,
    "UPDATED_AT": lambda c: c.updated_at,
    "NAME": lambda c: " ".join(p for p in (c.first_name, c.last_name) if p).lower(),
}


class CustomerSearch:
    """A parsed customers ``query``: OR-groups of AND-ed terms; unknown fields are warnings.

    Shopify tokenizes the email field: ``email:"a@x.com"`` (quoted) is that email, ignoring
    case, while an unquoted ``email:a@x.com`` finds every customer whose email shares a word
    with it (``mail@test.ch`` also finds ``claro@bluewin.ch``), as reported against the real API.
    """

    def __init__(self, text: str) -> None:
        self.warnings: list[dict[str, str]] = []
        self.groups: list[list[tuple[bool, str | None, str, bool]]] = [[]]
        for match in _CUSTOMER_TERM_RE.finditer(text or ""):
            field_name = match["field"].lower() if match["field"] else None
            quoted = match["quoted"] is not None or match["single"] is not None
            if match["quoted"] is not None:
                value = re.sub(r"\\(.)", r"\1", match["quoted"])
            else:
                value = match["single"] if match["single"] is not None else match["bare"]
            if field_name is None and not quoted and value in ("AND", "OR"):
                if value == "OR":
                    self.groups.append([])
                continue
            if field_name is not None and field_name not in _CUSTOMER_FIELDS:
                self.warnings.append(
                    {"field": field_name, "message": "Invalid search field for this query."}
                )
                continue
            self.groups[-1].append((bool(match["neg"]), field_name, value, quoted))

    def matches(self, customer: Customer) -> bool:
        return any(
            all(self._term(customer, *term) for term in group) for group in self.groups if group
        ) or not any(self.groups)

    def _term(self, c: Customer, negate: bool, field_name: str | None, value: str, quoted: bool):
        found = self._positive(c, field_name, value, quoted)
        return not found if negate else found

    @staticmethod
    def _positive(c: Customer, field_name: str | None, value: str, quoted: bool) -> bool:
        lowered = value.lower()
        email = (c.email or "").lower()
        if field_name == "email":
            if quoted:
                return email == lowered
            return bool(set(_TOKEN_RE.findall(lowered)) & set(_TOKEN_RE.findall(email)))
        if field_name == "id":
            return str(c.id) == value
        if field_name == "first_name":
            return (c.first_name or "").lower() == lowered
        if field_name == "last_name":
            return (c.last_name or "").lower() == lowered
        if field_name == "tag":
            return lowered in {t.lower() for t in c.tags}
        if field_name == "state":
            return c.state.lower() == lowered
        haystack = " ".join(x or "" for x in (c.email, c.first_name, c.last_name)).lower()
        return lowered in haystack


def _r_customers(ctx: Context, args: dict[str, Any]) -> Any:
    ctx.require("read_customers")
    text = args.get("query")
    search = CustomerSearch(str(text)) if text else None
    if search is not None and search.warnings:
        ctx.search.append({"path": ["customers"], "query": text, "warnings": search.warnings})
    sort_key = str(args.get("sortKey") or "ID")
    if sort_key not in CUSTOMER_SORT_KEYS:
        raise FieldError(
            f"Argument 'sortKey' on Field 'customers' has an invalid value ({sort_key}). "
            "Expected type 'CustomerSortKeys'.",
            code="argumentLiteralsIncompatible",
            typeName="Field",
            argumentName="sortKey",
        )
    value = CUSTOMER_SORT_KEYS[sort_key]

    def key(c: Customer) -> tuple[Any, Any]:
        return (value(c), c.id)

    reverse = bool(args.get("reverse"))
    found = [c for c in ctx.shop.customers.values() if search is None or search.matches(c)]
    found.sort(key=key, reverse=reverse)
    return orders.keyset_connection(
        found,
        key=key,
        node=lambda c: customer_obj(ctx, c),
        first=args.get("first"),
        last=args.get("last"),
        after=args.get("after"),
        before=args.get("before"),
        descending=reverse,
    )


def _r_webhook_subscription(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "WebhookSubscription")
    found = next((w for w in ctx.shop.webhooks if w.id == num), None)
    return webhook_obj(found) if found else None


def _r_webhook_subscriptions(ctx: Context, args: dict[str, Any]) -> Any:
    topics = {str(t) for t in args.get("topics") or []}
    uri = args.get("uri") or args.get("callbackUrl")
    items = [
        webhook_obj(w)
        for w in ctx.shop.webhooks
        if (not topics or w.topic in topics) and (not uri or w.uri == uri)
    ]
    if args.get("reverse"):
        items.reverse()
    return connection(items)(first=args.get("first"), last=args.get("last"))


def _r_code_discount_node(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "DiscountCodeNode")
    ctx.require("read_discounts")
    found = next((d for d in ctx.shop.discounts if d.id == num), None)
    return discount_obj(ctx, found) if found else None


def _r_code_discount_node_by_code(ctx: Context, args: dict[str, Any]) -> Any:
    ctx.require("read_discounts")
    found = ctx.shop.discount_by_code(str(args["code"]))
    return discount_obj(ctx, found) if found else None


def _visible_orders(ctx: Context) -> list[dict[str, Any]]:
    all_orders = has_scope(ctx.token.scopes, "read_all_orders")
    now = ctx.store.now()
    return [
        o for o in ctx.shop.orders.values() if orders.visible(o, now=now, all_orders=all_orders)
    ]


def order_obj(ctx: Context, order: dict[str, Any]) -> dict[str, Any]:
    data = order.get("customer") or {}

    def customer(**_: Any) -> Any:
        if data.get("id") is None:
            return None
        ctx.require("read_customers", "customer")
        found = ctx.shop.customers.get(int(data["id"]))
        return customer_obj(ctx, found) if found else None

    return orders.order_node(order, customer)


def _r_orders(ctx: Context, args: dict[str, Any]) -> Any:
    ctx.require("read_orders")
    text = args.get("query")
    search = orders.OrderSearch(str(text), ctx.shop.iana_timezone) if text else None
    if search is not None and search.warnings:
        ctx.search.append({"path": ["orders"], "query": text, "warnings": search.warnings})
    reverse = bool(args.get("reverse"))
    found, key = orders.list_orders(
        _visible_orders(ctx),
        search=search,
        sort_key=str(args.get("sortKey") or "ID"),
        reverse=reverse,
    )
    return orders.keyset_connection(
        found,
        key=key,
        node=lambda o: order_obj(ctx, o),
        first=args.get("first"),
        last=args.get("last"),
        after=args.get("after"),
        before=args.get("before"),
        descending=reverse,
    )


def _r_order(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "Order")
    ctx.require("read_orders")
    found = next((o for o in _visible_orders(ctx) if int(o["id"]) == num), None)
    return order_obj(ctx, found) if found else None


def _r_refund(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "Refund")
    ctx.require("read_orders")
    for order in _visible_orders(ctx):
        for refund in order.get("refunds") or []:
            if str(refund.get("id")) == str(num):
                currency = order.get("currency") or ctx.shop.currency
                presentment = order.get("presentment_currency") or currency
                return orders.refund_node(refund, order, currency, presentment)
    return None


def collection_obj(c: Collection) -> dict[str, Any]:
    return {
        "__typename": "Collection",
        "id": c.gid,
        "legacyResourceId": str(c.id),
        "handle": c.handle,
        "title": c.title,
    }


def product_obj(ctx: Context, p: Product) -> dict[str, Any]:
    collections = [collection_obj(ctx.shop.collections[c]) for c in p.collection_ids]
    return {
        "__typename": "Product",
        "id": p.gid,
        "legacyResourceId": str(p.id),
        "title": p.title,
        "handle": "-".join(p.title.lower().split()),
        "tags": sorted(p.tags),
        "collections": connection(collections),
    }


def _r_product(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "Product")
    ctx.require("read_products")
    found = ctx.shop.products.get(num)
    return product_obj(ctx, found) if found else None


# What each type ``nodes`` can return needs; any other type comes back null.
NODE_SCOPES = {
    "Product": "read_products",
    "Collection": "read_products",
    "Customer": "read_customers",
    "Order": "read_orders",
}


def _r_nodes(ctx: Context, args: dict[str, Any]) -> Any:
    ids = args["ids"]
    if not isinstance(ids, list):
        raise TypeError("ids must be a list of IDs")
    if len(ids) > MAX_NODES:
        raise FieldError(
            f"The input array size of {len(ids)} is greater than the maximum allowed of "
            f"{MAX_NODES}.",
            code="MAX_INPUT_SIZE_EXCEEDED",
        )
    wanted = [parse_gid(value) for value in ids]
    for scope in dict.fromkeys(NODE_SCOPES[t] for t, _ in wanted if t in NODE_SCOPES):
        ctx.require(scope)
    found: list[Any] = []
    for type_name, num in wanted:
        if type_name == "Product":
            product = ctx.shop.products.get(num)
            found.append(product_obj(ctx, product) if product else None)
        elif type_name == "Collection":
            collection = ctx.shop.collections.get(num)
            found.append(collection_obj(collection) if collection else None)
        elif type_name == "Customer":
            customer = ctx.shop.customers.get(num)
            found.append(customer_obj(ctx, customer) if customer else None)
        elif type_name == "Order":
            order = next((o for o in _visible_orders(ctx) if int(o["id"]) == num), None)
            found.append(order_obj(ctx, order) if order else None)
        else:
            found.append(None)
    return found


# -- resolvers: mutations -------------------------------------------------------------------------
def _webhook_address_error(uri: str) -> str | None:
    if uri.startswith(("pubsub://", "arn:aws:events:")):
        return None
    parts = urlsplit(uri)
    if not parts.hostname:
        return "Address is invalid"
    if parts.scheme == "https":
        return None
    local = parts.hostname in ("localhost", "127.0.0.1", "::1") or parts.hostname.endswith(
        ".localhost"
    )
    if parts.scheme == "http" and local:
        return None  # stand-in concession: Shopify itself would refuse a local address
    if parts.scheme == "http":
        return "Address protocol http:// is not supported"
    return "Address is invalid"


def _r_webhook_subscription_create(ctx: Context, args: dict[str, Any]) -> Any:
    topic = str(args["topic"])
    if topic not in WEBHOOK_TOPIC_SCOPES:
        raise FieldError(
            f"Argument 'topic' on Field 'webhookSubscriptionCreate' has an invalid value "
            f"({topic}). Expected type 'WebhookSubscriptionTopic!'.",
            code="argumentLiteralsIncompatible",
            typeName="Field",
            argumentName="topic",
        )
    inp = args["webhookSubscription"] or {}
    key = "uri" if "uri" in inp else "callbackUrl"
    uri = str(inp.get(key) or "").strip()
    fmt = str(inp.get("format") or "JSON")
    errors = []
    needed = WEBHOOK_TOPIC_SCOPES[topic]
    if needed and not has_scope(ctx.token.scopes, needed):
        errors.append(
            user_error(
                ["webhookSubscription"],
                f"Access denied for topic {topic}. Required access: `{needed}` access scope.",
            )
        )
    address_problem = "Address can't be blank" if not uri else _webhook_address_error(uri)
    if address_problem:
        errors.append(user_error(["webhookSubscription", key], address_problem))
    elif any(w.topic == topic and w.uri == uri for w in ctx.shop.webhooks):
        errors.append(
            user_error(
                ["webhookSubscription", key], "Address for this topic has already been taken"
            )
        )
    if fmt not in ("JSON", "XML"):
        errors.append(user_error(["webhookSubscription", "format"], "Format is invalid"))
    if errors:
        return {"webhookSubscription": None, "userErrors": errors}
    sub = WebhookSubscription(
        id=ctx.store.next_id(),
        topic=topic,
        uri=uri,
        format=fmt,
        api_version=ctx.api_version,
        created_at=ctx.store.now(),
        include_fields=[str(f) for f in inp.get("includeFields") or []],
        metafield_namespaces=[str(n) for n in inp.get("metafieldNamespaces") or []],
        filter=inp.get("filter"),
    )
    ctx.shop.webhooks.append(sub)
    return {"webhookSubscription": webhook_obj(sub), "userErrors": []}


def _r_webhook_subscription_delete(ctx: Context, args: dict[str, Any]) -> Any:
    _, num = parse_gid(args["id"], "WebhookSubscription")
    found = next((w for w in ctx.shop.webhooks if w.id == num), None)
    if found is None:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [user_error(["id"], "Webhook subscription does not exist")],
        }
    ctx.shop.webhooks.remove(found)
    return {"deletedWebhookSubscriptionId": found.gid, "userErrors": []}


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _discount_errors(ctx: Context, inp: dict[str, Any], arg: str, kind: str) -> list[dict]:
    def err(path: list[str], message: str, code: str) -> dict[str, Any]:
        return user_error([arg, *path], message, "DiscountUserError", code=code, extraInfo=None)

    errors = []
    code = str(inp.get("code") or "").strip()
    if not code:
        errors.append(err(["code"], "Code can't be blank", "BLANK"))
    elif len(code) > 255:
        errors.append(err(["code"], "Code is too long (maximum is 255 characters)", "TOO_LONG"))
    elif ctx.shop.discount_by_code(code) is not None:
        errors.append(err(["code"], "Code must be unique. Please try a different code.", "TAKEN"))
    if not str(inp.get("title") or "").strip():
        errors.append(err(["title"], "Title can't be blank", "BLANK"))
    if inp.get("startsAt") is None:
        errors.append(err(["startsAt"], "Starts at can't be blank", "BLANK"))
    elif inp.get("endsAt") is not None and _parse_datetime(
        inp["endsAt"], "endsAt"
    ) <= _parse_datetime(inp["startsAt"], "startsAt"):
        errors.append(err(["endsAt"], "Ends at needs to be after starts_at", "INVALID"))
    limit = inp.get("usageLimit")
    if limit is not None and int(limit) < 1:
        errors.append(err(["usageLimit"], "Usage limit must be greater than 0", "GREATER_THAN"))
    if inp.get("context") is not None and inp.get("customerSelection") is not None:
        errors.append(
            err([], "Only one of context or customerSelection can be provided.", "INVALID")
        )
    for source in ("context", "customerSelection"):
        for gid in ((inp.get(source) or {}).get("customers") or {}).get("add") or []:
            kind_name, num = parse_gid(gid)
            if kind_name != "Customer" or num not in ctx.shop.customers:
                errors.append(
                    err([source, "customers", "add"], f"Customer {gid} does not exist", "INVALID")
                )
    minimum = inp.get("minimumRequirement") or {}
    subtotal = (minimum.get("subtotal") or {}).get("greaterThanOrEqualToSubtotal")
    if subtotal is not None and (_decimal(subtotal) is None or _decimal(subtotal) < 0):
        errors.append(
            err(
                ["minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"],
                "Minimum subtotal must be greater than or equal to 0",
                "GREATER_THAN_OR_EQUAL_TO",
            )
        )
    if kind == "basic":
        gets = inp.get("customerGets")
        value = (gets or {}).get("value") or {}
        chosen = [k for k in ("percentage", "discountAmount", "discountOnQuantity") if value.get(k)]
        if not gets:
            errors.append(err(["customerGets"], "Customer gets can't be blank", "BLANK"))
        elif len(chosen) != 1:
            errors.append(
                err(["customerGets", "value"], "Exactly one value type must be given", "INVALID")
            )
        elif chosen[0] == "percentage":
            pct = _decimal(value["percentage"])
            if pct is None or not 0 < pct <= 1:
                errors.append(
                    err(
                        ["customerGets", "value", "percentage"],
                        "Value must be between 0.0 and 1.0",
                        "VALUE_OUTSIDE_RANGE",
                    )
                )
        elif chosen[0] == "discountAmount":
            amount = _decimal((value["discountAmount"] or {}).get("amount"))
            if amount is None or amount <= 0:
                errors.append(
                    err(
                        ["customerGets", "value", "discountAmount", "amount"],
                        "Value must be greater than 0",
                        "GREATER_THAN",
                    )
                )
        items = (gets or {}).get("items") or {}
        if gets and not items:
            errors.append(err(["customerGets", "items"], "Items can't be blank", "BLANK"))
        products = items.get("products") or {}
        for key, expected in (
            ("productsToAdd", "Product"),
            ("productVariantsToAdd", "ProductVariant"),
        ):
            for gid in products.get(key) or []:
                if parse_gid(gid)[0] != expected:
                    errors.append(
                        err(
                            ["customerGets", "items", "products", key],
                            f"{expected} {gid} does not exist",
                            "INVALID",
                        )
                    )
        if (
            gets
            and items
            and not items.get("all")
            and not (products.get("productsToAdd") or products.get("productVariantsToAdd"))
        ):
            errors.append(err(["customerGets", "items"], "Items can't be blank", "BLANK"))
    return errors


def _create_discount(ctx: Context, args: dict[str, Any], arg: str, kind: str) -> dict[str, Any]:
    ctx.require("write_discounts")
    inp = args[arg] or {}
    errors = _discount_errors(ctx, inp, arg, kind)
    if errors:
        return {"codeDiscountNode": None, "userErrors": errors}
    discount = Discount(
        id=ctx.store.next_id(),
        kind="basic" if kind == "basic" else "free_shipping",
        code=str(inp["code"]).strip(),
        title=str(inp["title"]).strip(),
        input=copy.deepcopy(inp),
        created_at=ctx.store.now(),
        redeem_code_id=ctx.store.next_id(),
    )
    ctx.shop.discounts.append(discount)
    return {"codeDiscountNode": discount_obj(ctx, discount), "userErrors": []}


def _r_discount_basic(ctx: Context, args: dict[str, Any]) -> Any:
    return _create_discount(ctx, args, "basicCodeDiscount", "basic")


def _r_discount_free_shipping(ctx: Context, args: dict[str, Any]) -> Any:
    return _create_discount(ctx, args, "freeShippingCodeDiscount", "free_shipping")


def _r_discount_code_delete(ctx: Context, args: dict[str, Any]) -> Any:
    ctx.require("write_discounts")
    _, num = parse_gid(args["id"], "DiscountCodeNode")
    found = next((d for d in ctx.shop.discounts if d.id == num), None)
    if found is None:
        error = user_error(
            ["id"], "Discount does not exist", "DiscountUserError", code="INVALID", extraInfo=None
        )
        return {"deletedCodeDiscountId": None, "userErrors": [error]}
    ctx.shop.discounts.remove(found)
    return {"deletedCodeDiscountId": found.gid, "userErrors": []}


def _tag_list(raw: Any) -> list[str]:
    """Shopify accepts a list or a single comma-separated string; it splits on commas."""
    items = [raw] if isinstance(raw, str) else list(raw or [])
    tags: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in tags:
                tags.append(part)
    return tags


def _tags_mutation(ctx: Context, args: dict[str, Any], add: bool) -> Any:
    type_name, num = parse_gid(args["id"])
    tags = _tag_list(args["tags"])
    customer = ctx.shop.customers.get(num) if type_name == "Customer" else None
    if type_name == "Customer":
        ctx.require("write_customers")
    if customer is None:
        return {"node": None, "userErrors": [user_error(["id"], f"{type_name} does not exist")]}
    too_long = [t for t in tags if len(t) > 255]
    if too_long:
        return {
            "node": None,
            "userErrors": [user_error(["tags"], "Tags are too long (maximum is 255 characters)")],
        }
    if add:
        customer.tags.extend(t for t in tags if t not in customer.tags)
    else:
        lowered = {t.lower() for t in tags}
        customer.tags[:] = [t for t in customer.tags if t.lower() not in lowered]
    customer.updated_at = ctx.store.now()
    return {"node": customer_obj(ctx, customer), "userErrors": []}


def _r_tags_add(ctx: Context, args: dict[str, Any]) -> Any:
    return _tags_mutation(ctx, args, add=True)


def _r_tags_remove(ctx: Context, args: dict[str, Any]) -> Any:
    return _tags_mutation(ctx, args, add=False)


def _metafield_value_problem(type_: str, value: str) -> str | None:
    if type_ == "number_integer":
        try:
            int(value)
        except ValueError:
            return "Value must be an integer."
    elif type_ == "number_decimal":
        if _decimal(value) is None:
            return "Value must be a decimal."
    elif type_ == "boolean":
        if value not in ("true", "false"):
            return "Value must be true or false."
    elif type_ == "json":
        try:
            json.loads(value)
        except ValueError:
            return "Value is invalid JSON."
    elif type_ == "single_line_text_field" and "\n" in value:
        return "Value must be a single line text string."
    return None


def _r_metafields_set(ctx: Context, args: dict[str, Any]) -> Any:
    inputs = list(args["metafields"] or [])

    def err(path: list[Any], message: str, code: str, index: int | None) -> dict[str, Any]:
        return user_error(
            ["metafields", *path], message, "MetafieldsSetUserError", code=code, elementIndex=index
        )

    if len(inputs) > MAX_METAFIELDS:
        return {
            "metafields": [],
            "userErrors": [
                err(
                    [],
                    f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS}.",
                    "LESS_THAN_OR_EQUAL_TO",
                    None,
                )
            ],
        }
    errors: list[dict[str, Any]] = []
    planned: list[tuple[tuple[str, str, str], dict[str, Any], Metafield | None]] = []
    for i, item in enumerate(inputs):
        item = item or {}
        owner_gid = str(item.get("ownerId") or "")
        type_name, num = parse_gid(owner_gid)
        if type_name == "Customer":
            ctx.require("write_customers")
            owner_ok = num in ctx.shop.customers
        else:
            owner_ok = type_name == "Shop" and num == ctx.shop.id
        if not owner_ok:
            errors.append(err([i, "ownerId"], "Owner does not exist.", "INVALID", i))
            continue
        key = str(item.get("key") or "")
        namespace = ctx.namespace(item.get("namespace"))
        if not 2 <= len(key) <= 64:
            errors.append(err([i, "key"], "Key must be between 2 and 64 characters.", "INVALID", i))
            continue
        slot = (owner_gid, namespace, key)
        existing = ctx.shop.metafields.get(slot)
        type_ = item.get("type") or (existing.type if existing else None)
        value = item.get("value")
        if type_ is None:
            errors.append(err([i, "type"], "Type can't be blank.", "BLANK", i))
        elif type_ not in METAFIELD_TYPES:
            errors.append(err([i, "type"], f"Type '{type_}' is not supported.", "INVALID_TYPE", i))
        elif existing is not None and type_ != existing.type:
            errors.append(
                err([i, "type"], "Type does not match the existing metafield.", "INVALID_TYPE", i)
            )
        if not isinstance(value, str):
            errors.append(err([i, "value"], "Value can't be blank.", "BLANK", i))
        elif type_ in METAFIELD_TYPES:
            problem = _metafield_value_problem(type_, value)
            if problem:
                errors.append(err([i, "value"], problem, "INVALID_VALUE", i))
        if "compareDigest" in item:
            wanted = item["compareDigest"]
            current = existing.compare_digest if existing else None
            if wanted != current:
                errors.append(
                    err(
                        [i],
                        "The resource has been updated since it was loaded. Try again with an "
                        "updated `compareDigest` value.",
                        "STALE_OBJECT",
                        i,
                    )
                )
        planned.append((slot, {"type": type_, "value": value}, existing))
    if errors:  # atomic: nothing is written when any input fails
        return {"metafields": [], "userErrors": errors}
    now = ctx.store.now()
    written = []
    for slot, values, existing in planned:
        if existing is None:
            existing = Metafield(
                id=ctx.store.next_id(),
                owner_gid=slot[0],
                namespace=slot[1],
                key=slot[2],
                value=values["value"],
                type=values["type"],
                created_at=now,
                updated_at=now,
            )
            ctx.shop.metafields[slot] = existing
        else:
            existing.value = values["value"]
            existing.updated_at = now
            existing.version += 1
        written.append(_metafield_obj(existing))
    return {"metafields": written, "userErrors": []}


def _metafields_set_owner_cost(args: dict[str, Any]) -> int:
    """The weight of the distinct owners named (priced before the inputs are checked, as
    Shopify prices a request before running it)."""
    inputs = args.get("metafields")
    if not isinstance(inputs, list):
        return 0
    owners = {str(item.get("ownerId")) for item in inputs if isinstance(item, dict)}
    return sum(METAFIELD_OWNER_WEIGHTS.get(_gid_type(owner), 0) for owner in owners)


def _gid_type(value: str) -> str:
    parts = value.split("/")
    return parts[3] if len(parts) == 5 and parts[:3] == ["gid:", "", "shopify"] else ""


RESOLVERS: dict[tuple[str, str], Resolver] = {
    ("QueryRoot", "shop"): _r_shop,
    ("QueryRoot", "customer"): _r_customer,
    ("QueryRoot", "customers"): _r_customers,
    ("QueryRoot", "webhookSubscription"): _r_webhook_subscription,
    ("QueryRoot", "webhookSubscriptions"): _r_webhook_subscriptions,
    ("QueryRoot", "codeDiscountNode"): _r_code_discount_node,
    ("QueryRoot", "codeDiscountNodeByCode"): _r_code_discount_node_by_code,
    ("QueryRoot", "orders"): _r_orders,
    ("QueryRoot", "order"): _r_order,
    ("QueryRoot", "refund"): _r_refund,
    ("QueryRoot", "nodes"): _r_nodes,
    ("QueryRoot", "product"): _r_product,
    ("Mutation", "webhookSubscriptionCreate"): _r_webhook_subscription_create,
    ("Mutation", "webhookSubscriptionDelete"): _r_webhook_subscription_delete,
    ("Mutation", "discountCodeBasicCreate"): _r_discount_basic,
    ("Mutation", "discountCodeFreeShippingCreate"): _r_discount_free_shipping,
    ("Mutation", "discountCodeDelete"): _r_discount_code_delete,
    ("Mutation", "tagsAdd"): _r_tags_add,
    ("Mutation", "tagsRemove"): _r_tags_remove,
    ("Mutation", "metafieldsSet"): _r_metafields_set,
}


# customerEmailMarketingConsentUpdate: the newsletter action subscribes the shopper.
OBJECTS["Mutation"]["customerEmailMarketingConsentUpdate"] = (
    "CustomerEmailMarketingConsentUpdatePayload"
)
OBJECTS["Customer"]["emailMarketingConsent"] = "CustomerEmailMarketingConsentState"
OBJECTS["CustomerEmailMarketingConsentState"] = {
    "marketingState": _S,
    "marketingOptInLevel": _S,
    "consentUpdatedAt": _DT,
}
OBJECTS["CustomerEmailMarketingConsentUpdatePayload"] = {
    "customer": "Customer",
    "userErrors": "CustomerEmailMarketingConsentUpdateUserError",
}
OBJECTS["CustomerEmailMarketingConsentUpdateUserError"] = {"field": _S, "message": _S, "code": _S}
FIELD_ARGS[("Mutation", "customerEmailMarketingConsentUpdate")] = (
    frozenset({"input"}),
    frozenset({"input"}),
)
MARKETING_STATES = frozenset(
    {"SUBSCRIBED", "UNSUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "REDACTED", "INVALID"}
)
OPT_IN_LEVELS = frozenset({"SINGLE_OPT_IN", "CONFIRMED_OPT_IN", "UNKNOWN"})


def _r_customer_email_marketing_consent_update(ctx: Context, args: dict[str, Any]) -> Any:
    """As Shopify: write_customers; the customer must exist and have an email; the state and
    opt-in level are enums; the consent is set (the same again is no change)."""
    ctx.require("write_customers")
    given = args["input"] or {}
    consent = given.get("emailMarketingConsent") or {}

    def err(path: list[str], message: str, code: str) -> dict[str, Any]:
        return {
            "customer": None,
            "userErrors": [
                user_error(
                    ["input", *path],
                    message,
                    "CustomerEmailMarketingConsentUpdateUserError",
                    code=code,
                )
            ],
        }

    type_name, num = parse_gid(given.get("customerId"))
    customer = ctx.shop.customers.get(num) if type_name == "Customer" else None
    if customer is None:
        return err(["customerId"], "Customer not found", "INVALID")
    state = consent.get("marketingState")
    level = consent.get("marketingOptInLevel")
    if state not in MARKETING_STATES:
        return err(["emailMarketingConsent", "marketingState"], "is invalid", "INCLUSION")
    if level is not None and level not in OPT_IN_LEVELS:
        return err(["emailMarketingConsent", "marketingOptInLevel"], "is invalid", "INCLUSION")
    if not customer.email:
        return err(["customerId"], "Customer must have an email address", "INVALID")
    customer.email_marketing_state = state
    customer.email_marketing_opt_in_level = level or customer.email_marketing_opt_in_level
    customer.updated_at = ctx.store.now()
    return {"customer": customer_obj(ctx, customer), "userErrors": []}


RESOLVERS[("Mutation", "customerEmailMarketingConsentUpdate")] = (
    _r_customer_email_marketing_consent_update
)

SCHEMA = Schema(
    objects=OBJECTS,
    unions=UNIONS,
    interfaces=INTERFACES,
    field_args=FIELD_ARGS,
    resolvers=RESOLVERS,
    mutation_cost=MUTATION_COST,
    argument_costs={("Mutation", "metafieldsSet"): _metafields_set_owner_cost},
)


@dataclass
class Result:
    body: dict[str, Any]
    operations: list[str] = field(default_factory=list)
    throttled: bool = False


def execute(
    ctx: Context, query: str, variables: Any = None, operation_name: str | None = None
) -> Result:
    """Validate, charge the shop's bucket, resolve: the JSON body Shopify would send (HTTP 200)."""
    prepared = prepare(SCHEMA, query, variables, operation_name)
    if not isinstance(prepared, Prepared):
        return Result({"errors": prepared})
    names = prepared.root_names
    if prepared.cost > MAX_QUERY_COST:
        message = (
            f"Query cost is {prepared.cost}, which exceeds the single query max cost limit "
            f"({MAX_QUERY_COST})."
        )
        extensions = {"code": "MAX_COST_EXCEEDED", "cost": prepared.cost, "maxCost": MAX_QUERY_COST}
        return Result({"errors": [{"message": message, "extensions": extensions}]}, names)
    if not ctx.store.spend(ctx.shop, prepared.cost):
        status = ctx.store.throttle_status(ctx.shop)
        return Result(throttled_body(status, prepared.cost), names, throttled=True)
    with ctx.store.lock:  # one GraphQL request changes the shop atomically
        data, errors = prepared.execute(ctx)
        status = ctx.store.throttle_status(ctx.shop)
    body: dict[str, Any] = {}
    if errors:
        body["errors"] = errors
    body["data"] = data
    body["extensions"] = {
        "cost": {
            "requestedQueryCost": prepared.cost,
            "actualQueryCost": prepared.cost,
            "throttleStatus": status,
        }
    }
    if ctx.search:
        body["extensions"]["search"] = ctx.search
    return Result(body, names)
