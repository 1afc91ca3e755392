"""Shopify's side of `loyalty.core.platform.StoreGateway`: what the domain asks of the store,
done through Admin GraphQL (`admin_api.admin_graphql`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils import timezone

from loyalty.core.events import CustomerData
from loyalty.core.platform import (
    CustomerTierSync,
    DiscountCodeSpec,
    DiscountKind,
    IssuedCode,
    PlatformError,
)
from loyalty.platforms.shopify.admin_api import admin_graphql, user_errors
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.reconcile import customer_from_node
from loyalty.shops.models import Shop

# A redemption waits on these calls in the shopper's request: fewer attempts, a shorter budget.
DISCOUNT_MAX_ATTEMPTS = 3
DISCOUNT_BUDGET_SECONDS = 8.0

DISCOUNT_BASIC_CREATE = """
mutation SetiaRewardCode($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}
"""

DISCOUNT_FREE_SHIPPING_CREATE = """
mutation SetiaRewardShipping($discount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}
"""

DISCOUNT_BY_CODE = """
query SetiaRewardByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      __typename
      ... on DiscountCodeBasic { context { ...SetiaCustomers } }
      ... on DiscountCodeFreeShipping { context { ...SetiaCustomers } }
    }
  }
}
fragment SetiaCustomers on DiscountContext {
  __typename
  ... on DiscountCustomers { customers { id } }
}
"""

DISCOUNT_DELETE = """
mutation SetiaRewardDelete($id: ID!) {
  discountCodeDelete(id: $id) {
    deletedCodeDiscountId
    userErrors { field message code }
  }
}
"""


def customer_gid(platform_customer_id: str) -> str:
    return f"gid://shopify/Customer/{platform_customer_id}"


def discount_input(spec: DiscountCodeSpec) -> dict:
    """The code discount input Shopify takes for `spec`: one customer (or, without one, any
    customer), one use."""
    starts_at = spec.starts_at or timezone.now()
    discount: dict = {
        "title": spec.title,
        "code": spec.code,
        "startsAt": starts_at.isoformat(),
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": dict(spec.combines_with),
        "context": (
            {"customers": {"add": [customer_gid(spec.platform_customer_id)]}}
            if spec.platform_customer_id
            else {"all": "ALL"}
        ),
    }
    if spec.ends_at is not None:
        discount["endsAt"] = spec.ends_at.isoformat()
    if spec.minimum_subtotal:
        discount["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": str(spec.minimum_subtotal)}
        }
    if spec.kind == DiscountKind.FREE_SHIPPING:
        discount["destination"] = {"all": True}
        return discount
    if spec.kind == DiscountKind.PERCENT:
        value: dict = {"percentage": float(spec.value / 100)}
    elif spec.kind == DiscountKind.FREE_PRODUCT and not spec.value:
        value = {"percentage": 1.0}
    else:
        # An amount off the order, or for a free product one unit's price off that variant.
        value = {"discountAmount": {"amount": str(spec.value), "appliesOnEachItem": False}}
    items: dict = {"all": True}
    if spec.kind == DiscountKind.FREE_PRODUCT:
        variant = spec.product_variant_id
        if not variant.startswith("gid://"):
            variant = f"gid://shopify/ProductVariant/{variant}"
        items = {"products": {"productVariantsToAdd": [variant]}}
    discount["customerGets"] = {"value": value, "items": items}
    return discount


def _discount_call(shop: Shop, query: str, variables: dict) -> dict:
    return admin_graphql(
        shop=shop,
        query=query,
        variables=variables,
        max_attempts=DISCOUNT_MAX_ATTEMPTS,
        budget_seconds=DISCOUNT_BUDGET_SECONDS,
    )


def _messages(errors: list[dict]) -> str:
    return "; ".join(str(e.get("message")) for e in errors)


class ShopifyGateway:
    def discount_code_create(self, *, shop: Shop, spec: DiscountCodeSpec) -> IssuedCode:
        if spec.kind == DiscountKind.FREE_SHIPPING:
            query, root = DISCOUNT_FREE_SHIPPING_CREATE, "discountCodeFreeShippingCreate"
        else:
            query, root = DISCOUNT_BASIC_CREATE, "discountCodeBasicCreate"
        data = _discount_call(shop, query, {"discount": discount_input(spec)})
        payload = data.get(root) or {}
        errors = user_errors(payload)
        if not errors:
            node = payload.get("codeDiscountNode") or {}
            if not node.get("id"):
                raise AdminApiError("no_discount", f"{root} returned no discount", transient=True)
            return IssuedCode(code=spec.code, platform_discount_id=node["id"])
        if any(e.get("code") == "TAKEN" for e in errors):
            # Our codes are unguessable and fixed before the first call: the code being taken
            # means an earlier attempt was applied. It is ours if it is bound to our customer
            # (or, for a code without one, open to all customers as ours are).
            node = self._node_by_code(shop, spec.code)
            if node and _bound_as_asked(node, spec.platform_customer_id):
                return IssuedCode(code=spec.code, platform_discount_id=node["id"])
            raise AdminApiError("code_taken", f"The code {spec.code} belongs to another discount")
        raise AdminApiError("user_errors", _messages(errors))

    def discount_code_find(
        self, *, shop: Shop, code: str, platform_customer_id: str = ""
    ) -> IssuedCode | None:
        node = self._node_by_code(shop, code)
        if not node:
            return None
        if platform_customer_id and customer_gid(platform_customer_id) not in _customers_of(node):
            return None  # a code of that name exists, but it is not this customer's
        return IssuedCode(code=code, platform_discount_id=node["id"])

    def discount_code_delete(self, *, shop: Shop, platform_discount_id: str) -> None:
        data = _discount_call(shop, DISCOUNT_DELETE, {"id": platform_discount_id})
        errors = user_errors(data.get("discountCodeDelete"))
        if errors and not all("does not exist" in str(e.get("message")) for e in errors):
            raise AdminApiError("user_errors", _messages(errors))

    def _node_by_code(self, shop: Shop, code: str) -> dict | None:
        data = _discount_call(shop, DISCOUNT_BY_CODE, {"code": code})
        return data.get("codeDiscountNodeByCode") or None

    def customer_tier_sync(self, *, shop: Shop, sync: CustomerTierSync) -> None:
        """One request: the tier tags removed and added, the app-owned metafields set.
        Each mutation is idempotent, so a retry after an unknown outcome is safe."""
        if not (sync.add_tags or sync.remove_tags or sync.metafields):
            return
        query, variables = tier_sync_request(sync)
        data = admin_graphql(
            shop=shop,
            query=query,
            variables=variables,
            max_attempts=TIER_SYNC_MAX_ATTEMPTS,
            budget_seconds=TIER_SYNC_BUDGET_SECONDS,
        )
        errors = [e for root in data.values() for e in user_errors(root)]
        if errors:
            raise AdminApiError("user_errors", _messages(errors))

    def customers_metafield_set(
        self, *, shop: Shop, key: str, values: Mapping[str, str]
    ) -> dict[str, PlatformError]:
        """Set the app-owned metafield `key` (the tier sync's namespace and type) to each
        customer's value, METAFIELDS_SET_MAX customers per `metafieldsSet` request. Returns the
        customers left unset, each with its error; never raises PlatformError.

        metafieldsSet is atomic: a userError naming an input means nothing was saved, so that
        input is dropped (refused, not transient) and the rest sent again, so one customer the
        store no longer has does not hold back the others. The first failure of a whole
        request (throttled, 5xx, a timeout: transient; or a refusal naming no input, which the
        next request would meet alike) leaves that batch and every later one unsent with it.
        Setting a value again is harmless, so a retry after an unknown outcome is safe."""
        failed: dict[str, PlatformError] = {}
        pending: list[tuple[str, str]] = []
        for customer_id, value in values.items():
            if customer_id.isascii() and customer_id.isdigit():
                pending.append((customer_id, value))
            else:  # Shopify would refuse the whole request for one malformed global id
                failed[customer_id] = AdminApiError(
                    "invalid_customer_id", f"{customer_id!r} is not a Shopify customer id"
                )
        for start in range(0, len(pending), METAFIELDS_SET_MAX):
            try:
                _metafields_batch_set(
                    shop, key, pending[start : start + METAFIELDS_SET_MAX], failed
                )
            except PlatformError as exc:
                failed |= {c: exc for c, _ in pending[start:] if c not in failed}
                break
        return failed

    def customers_find_by_email(
        self, *, shop: Shop, emails: Iterable[str]
    ) -> dict[str, CustomerData]:
        """`customers(query:)` with up to CUSTOMER_EMAIL_BATCH quoted `email:` terms joined by
        OR per request, every page followed. Shopify tokenizes the email field (an unquoted
        `email:mail@test.ch` also finds `other@bluewin.ch`), so each value is quoted and only
        customers whose email equals one asked for are kept."""
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: dict[str, CustomerData] = {}
        for start in range(0, len(wanted), CUSTOMER_EMAIL_BATCH):
            batch = wanted[start : start + CUSTOMER_EMAIL_BATCH]
            for node in self._customers_matching(shop, customers_email_query(batch)):
                customer = customer_from_node(node)
                email = (customer.email if customer else "").lower()
                if customer and email in batch:
                    # Emails are unique per store; should two answer, the first (lowest id) wins.
                    found.setdefault(email, customer)
        return found

    def _customers_matching(self, shop: Shop, query: str) -> list[dict]:
        nodes: list[dict] = []
        after = None
        for _page in range(CUSTOMER_SEARCH_MAX_PAGES):
            data = admin_graphql(
                shop=shop,
                query=CUSTOMERS_BY_EMAIL,
                variables={"first": CUSTOMER_EMAIL_BATCH, "after": after, "query": query},
                max_attempts=CUSTOMER_SEARCH_MAX_ATTEMPTS,
                budget_seconds=CUSTOMER_SEARCH_BUDGET_SECONDS,
            )
            connection = data.get("customers")
            if not isinstance(connection, dict):
                raise AdminApiError("no_customers", "customers returned nothing", transient=True)
            nodes += [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return nodes
            after = page.get("endCursor")
            if not after:
                raise AdminApiError("no_cursor", "customers has a next page but no cursor")
        raise AdminApiError(
            "too_many_customers",
            f"More than {CUSTOMER_SEARCH_MAX_PAGES} pages of customers answered one search",
        )

    def customer_email_subscribe(self, *, shop: Shop, platform_customer_id: str) -> None:
        """`customerEmailMarketingConsentUpdate` to SUBSCRIBED (single opt-in), in the
        shopper's request: the redemption's short budget. Setting the same state again is
        harmless, so a retry after an unknown outcome is safe."""
        data = _discount_call(
            shop,
            EMAIL_MARKETING_SUBSCRIBE,
            {
                "input": {
                    "customerId": customer_gid(platform_customer_id),
                    "emailMarketingConsent": {
                        "marketingState": "SUBSCRIBED",
                        "marketingOptInLevel": "SINGLE_OPT_IN",
                    },
                }
            },
        )
        payload = data.get("customerEmailMarketingConsentUpdate")
        if not isinstance(payload, dict):
            raise AdminApiError(
                "no_consent", "customerEmailMarketingConsentUpdate returned nothing", transient=True
            )
        errors = user_errors(payload)
        if errors:
            raise AdminApiError("user_errors", _messages(errors))


# Looking customers up is a read (safe to repeat) for a dry run the merchant waits on or a task.
CUSTOMER_EMAIL_BATCH = 50
CUSTOMER_SEARCH_MAX_PAGES = 10
CUSTOMER_SEARCH_MAX_ATTEMPTS = 4
CUSTOMER_SEARCH_BUDGET_SECONDS = 20.0

CUSTOMERS_BY_EMAIL = """
query SetiaCustomersByEmail($first: Int!, $after: String, $query: String!) {
  customers(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes { id legacyResourceId email firstName lastName }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def customers_email_query(emails: Iterable[str]) -> str:
    """Shopify's search syntax for any of `emails`, each quoted (exact, not tokenized)."""
    return " OR ".join(f'email:"{_search_quoted(email)}"' for email in emails)


def _search_quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


# The tier sync runs in a task that retries with its own backoff: few attempts per call.
TIER_SYNC_MAX_ATTEMPTS = 2
TIER_SYNC_BUDGET_SECONDS = 15.0
TIER_METAFIELD_NAMESPACE = "$app:loyalty"


def app_metafield(owner_gid: str, key: str, value: str) -> dict:
    """A MetafieldsSetInput for one of Setia's app-owned customer metafields (the tier sync's
    and the balance sync's: one namespace and type for all of them)."""
    return {
        "ownerId": owner_gid,
        "namespace": TIER_METAFIELD_NAMESPACE,
        "key": key,
        "type": "single_line_text_field",
        "value": value,
    }


def tier_sync_request(sync: CustomerTierSync) -> tuple[str, dict]:
    """The GraphQL document and variables for `sync`; only the mutations it needs."""
    customer = customer_gid(sync.platform_customer_id)
    declared = []
    fields = []
    variables: dict = {}
    if sync.remove_tags or sync.add_tags:
        # Only the tag mutations take the id; GraphQL refuses a declared variable left unused
        # (a balance-only sync sets metafields alone).
        declared.append("$id: ID!")
        variables["id"] = customer
    if sync.remove_tags:
        declared.append("$remove: [String!]!")
        fields.append(
            "removed: tagsRemove(id: $id, tags: $remove) { userErrors { field message } }"
        )
        variables["remove"] = list(sync.remove_tags)
    if sync.add_tags:
        declared.append("$add: [String!]!")
        fields.append("added: tagsAdd(id: $id, tags: $add) { userErrors { field message } }")
        variables["add"] = list(sync.add_tags)
    if sync.metafields:
        declared.append("$metafields: [MetafieldsSetInput!]!")
        fields.append(
            "metafieldsSet(metafields: $metafields) { userErrors { field message code } }"
        )
        variables["metafields"] = [
            app_metafield(customer, key, value) for key, value in sorted(sync.metafields.items())
        ]
    body = "\n  ".join(fields)
    return f"mutation SetiaTierSync({', '.join(declared)}) {{\n  {body}\n}}\n", variables


# metafieldsSet takes at most this many inputs, each with its own owner (Shopify's limit).
METAFIELDS_SET_MAX = 25

CUSTOMERS_METAFIELD_SET = """
mutation SetiaCustomersMetafield($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    userErrors { field message code elementIndex }
  }
}
"""


def _metafields_batch_set(
    shop: Shop, key: str, batch: list[tuple[str, str]], refused: dict[str, PlatformError]
) -> None:
    """One batch of (customer id, value), sent until Shopify takes what is left of it; the
    customers it refuses go into `refused`. Each round drops at least one input, so it ends.
    Raises the PlatformError of a request that failed as a whole."""
    while batch:
        data = admin_graphql(
            shop=shop,
            query=CUSTOMERS_METAFIELD_SET,
            variables={
                "metafields": [
                    app_metafield(customer_gid(customer_id), key, value)
                    for customer_id, value in batch
                ]
            },
            max_attempts=TIER_SYNC_MAX_ATTEMPTS,
            budget_seconds=TIER_SYNC_BUDGET_SECONDS,
        )
        payload = data.get("metafieldsSet")
        if not isinstance(payload, dict):
            raise AdminApiError("no_metafields", "metafieldsSet returned nothing", transient=True)
        errors = user_errors(payload)
        if not errors:
            return
        by_input: dict[int, list[dict]] = {}
        for error in errors:
            index = _input_index(error, len(batch))
            if index is None:  # about the request, not one input: all of them are refused
                whole = AdminApiError("user_errors", _messages(errors))
                refused.update(dict.fromkeys((c for c, _ in batch), whole))
                return
            by_input.setdefault(index, []).append(error)
        for index, its_errors in by_input.items():
            refused[batch[index][0]] = AdminApiError("user_errors", _messages(its_errors))
        batch = [item for index, item in enumerate(batch) if index not in by_input]


def _input_index(error: dict, size: int) -> int | None:
    """The input a metafieldsSet userError names: `field` ["metafields", "3", ...], else its
    `elementIndex`; None when it names none (or one the request did not have)."""
    path = error.get("field") or []
    candidates = [path[1]] if len(path) > 1 and path[0] == "metafields" else []
    candidates.append(error.get("elementIndex"))
    for candidate in candidates:
        try:
            index = int(candidate)
        except (TypeError, ValueError):
            continue
        if 0 <= index < size:
            return index
    return None


def _bound_as_asked(node: dict, platform_customer_id: str) -> bool:
    if platform_customer_id:
        return customer_gid(platform_customer_id) in _customers_of(node)
    context = (node.get("codeDiscount") or {}).get("context") or {}
    return context.get("__typename") == "DiscountBuyerSelectionAll"


def _customers_of(node: dict) -> set[str]:
    context = (node.get("codeDiscount") or {}).get("context") or {}
    return {c.get("id") for c in context.get("customers") or [] if isinstance(c, dict)}


EMAIL_MARKETING_SUBSCRIBE = """
mutation SetiaNewsletter($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message code }
  }
}
"""
