"""Orders in the Admin API: one REST-shaped fixture (``payloads.order_payload``) answers as
Shopify's GraphQL ``Order``, ``orders(query:, sortKey:)`` with keyset cursors, ``order``,
``refund``; scopes, the 60-day window, cost and search warnings as Shopify has them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from loyalty.platforms.shopify.standin import StandIn, payloads
from loyalty.platforms.shopify.standin.admin_api import SCHEMA
from loyalty.platforms.shopify.standin.graphql import prepare

from .conftest import API_KEY, API_SECRET, API_VERSION, GRAPHQL_URL, SHOP, TOKEN_URL

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

NOW = datetime.now(UTC).replace(microsecond=0)
CREATED = NOW - timedelta(days=2)
SHIRT = {"id": 11, "product_id": 101, "variant_id": 201, "price": "50.00", "quantity": 2}
SCARF = {"id": 12, "product_id": 102, "variant_id": 202, "price": "30.00", "quantity": 1}

ORDER_FIELDS = """
  id legacyResourceId name email test createdAt updatedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus sourceName currencyCode discountCodes
  customer { id legacyResourceId email firstName lastName }
  currentSubtotalPriceSet { shopMoney { amount currencyCode } }
  subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  lineItems(first: 20) {
    nodes {
      id quantity currentQuantity sku isGiftCard product { id } variant { id }
      originalUnitPriceSet { shopMoney { amount } }
      discountAllocations { allocatedAmountSet { shopMoney { amount } } }
    }
  }
  refunds {
    id
    refundLineItems(first: 20) {
      nodes { lineItem { id } quantity subtotalSet { shopMoney { amount } } }
    }
  }
"""

ONE_ORDER = "query One($id: ID!) { order(id: $id) { %s } }" % ORDER_FIELDS  # noqa: UP031

LIST = """
query List($first: Int, $last: Int, $after: String, $before: String, $query: String,
           $sortKey: OrderSortKeys, $reverse: Boolean) {
  orders(first: $first, last: $last, after: $after, before: $before, query: $query,
         sortKey: $sortKey, reverse: $reverse) {
    nodes { legacyResourceId updatedAt }
    edges { cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def order(order_id: int, *, updated: datetime | None = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("customer_id", 6001)
    kwargs.setdefault("currency", "MYR")
    kwargs.setdefault("line_items", [SHIRT, SCARF])
    kwargs.setdefault("created_at", iso(CREATED))
    return payloads.order_payload(order_id=order_id, updated_at=iso(updated or CREATED), **kwargs)


def listing(graphql, **variables: Any) -> dict[str, Any]:
    body = graphql(LIST, variables).json()
    assert "errors" not in body, body
    return body["data"]["orders"]


def ids(page: dict[str, Any]) -> list[str]:
    return [n["legacyResourceId"] for n in page["nodes"]]


def token_for(standin: StandIn, client: httpx.Client, scopes: str) -> str:
    code = standin.issue_code(SHOP, scopes)
    return client.post(
        TOKEN_URL, json={"client_id": API_KEY, "client_secret": API_SECRET, "code": code}
    ).json()["access_token"]


# --- shape ----------------------------------------------------------------------------------


def test_one_payload_answers_as_shopifys_order_object(standin, graphql):
    # given the order a webhook would carry: a code spread over two lines, shipping and tax,
    # the buyer paying in USD
    payload = order(
        5001,
        discount_codes=[{"code": "RAYA10", "amount": "13.00"}],
        shipping="8.00",
        tax="10.00",
        presentment_currency="USD",
        exchange_rate="0.25",
        email="aisyah@example.com",
    )
    added = standin.add_order(SHOP, payload)

    # when the app reads it through the Admin API
    body = graphql(ONE_ORDER, {"id": "gid://shopify/Order/5001"}).json()

    # then the same order in GraphQL's shape: GIDs, legacy ids as strings, Decimal strings,
    # enums, shop money and presentment money
    assert added == {
        "id": 5001,
        "gid": "gid://shopify/Order/5001",
        "name": payload["name"],
        "updated_at": iso(CREATED),
    }
    money = lambda amount: {"shopMoney": {"amount": amount, "currencyCode": "MYR"}}  # noqa: E731
    amount = lambda value: {"shopMoney": {"amount": value}}  # noqa: E731
    assert body["data"]["order"] == {
        "id": "gid://shopify/Order/5001",
        "legacyResourceId": "5001",
        "name": payload["name"],
        "email": "aisyah@example.com",
        "test": False,
        "createdAt": iso(CREATED),
        "updatedAt": iso(CREATED),
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "sourceName": "web",
        "currencyCode": "MYR",
        "discountCodes": ["RAYA10"],
        "customer": {
            "id": "gid://shopify/Customer/6001",
            "legacyResourceId": "6001",
            "email": "customer6001@example.com",
            "firstName": "Jane",
            "lastName": "Doe",
        },
        "currentSubtotalPriceSet": money("117.0"),
        "subtotalPriceSet": {
            "shopMoney": {"amount": "117.0", "currencyCode": "MYR"},
            "presentmentMoney": {"amount": "29.25", "currencyCode": "USD"},
        },
        "totalShippingPriceSet": money("8.0"),
        "totalTaxSet": money("10.0"),
        "lineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/11",
                    "quantity": 2,
                    "currentQuantity": 2,
                    "sku": "TS-M",
                    "isGiftCard": False,
                    "product": {"id": "gid://shopify/Product/101"},
                    "variant": {"id": "gid://shopify/ProductVariant/201"},
                    "originalUnitPriceSet": amount("50.0"),
                    "discountAllocations": [{"allocatedAmountSet": amount("10.0")}],
                },
                {
                    "id": "gid://shopify/LineItem/12",
                    "quantity": 1,
                    "currentQuantity": 1,
                    "sku": "TS-M",
                    "isGiftCard": False,
                    "product": {"id": "gid://shopify/Product/102"},
                    "variant": {"id": "gid://shopify/ProductVariant/202"},
                    "originalUnitPriceSet": amount("30.0"),
                    "discountAllocations": [{"allocatedAmountSet": amount("3.0")}],
                },
            ]
        },
        "refunds": [],
    }
    assert body["extensions"]["cost"]["requestedQueryCost"] == 256


def test_refunds_show_on_the_order_and_on_their_own(standin, graphql):
    # given an order whose first shirt was refunded (built as the webhooks build it)
    base = order(5002)
    refund = payloads.refund_payload(
        order_id=5002,
        refund_id=9001,
        currency="MYR",
        created_at=iso(NOW - timedelta(hours=1)),
        refund_line_items=[{"line_item": base["line_items"][0], "quantity": 1}],
    )
    standin.add_order(
        SHOP, order(5002, refunds=[refund], financial_status="partially_refunded", updated=NOW)
    )

    # when the app reads the order, and the refund by its id
    found = graphql(ONE_ORDER, {"id": "gid://shopify/Order/5002"}).json()["data"]["order"]
    alone = graphql(
        """query R($id: ID!) { refund(id: $id) { id legacyResourceId createdAt
             totalRefundedSet { shopMoney { amount } }
             refundLineItems(first: 5) {
               nodes { lineItem { id sku } quantity restockType } } } }""",
        {"id": "gid://shopify/Refund/9001"},
    ).json()["data"]["refund"]

    # then the line's current quantity went down and the refund lists what it returned
    assert found["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert found["currentSubtotalPriceSet"]["shopMoney"]["amount"] == "80.0"
    assert [(li["quantity"], li["currentQuantity"]) for li in found["lineItems"]["nodes"]] == [
        (2, 1),
        (1, 1),
    ]
    assert found["refunds"] == [
        {
            "id": "gid://shopify/Refund/9001",
            "refundLineItems": {
                "nodes": [
                    {
                        "lineItem": {"id": "gid://shopify/LineItem/11"},
                        "quantity": 1,
                        "subtotalSet": {"shopMoney": {"amount": "50.0"}},
                    }
                ]
            },
        }
    ]
    assert alone == {
        "id": "gid://shopify/Refund/9001",
        "legacyResourceId": "9001",
        "createdAt": iso(NOW - timedelta(hours=1)),
        "totalRefundedSet": {"shopMoney": {"amount": "50.0"}},
        "refundLineItems": {
            "nodes": [
                {
                    "lineItem": {"id": "gid://shopify/LineItem/11", "sku": "TS-M"},
                    "quantity": 1,
                    "restockType": "RETURN",
                }
            ]
        },
    }


def test_guests_cancellations_fulfilment_and_missing_products(standin, graphql):
    # given a guest's cancelled, refunded, fulfilled order whose product was deleted since
    payload = order(
        5003,
        customer_id=None,
        email=None,
        line_items=[{"id": 31, "price": "20.00"}],
        financial_status="refunded",
        fulfillment_status="fulfilled",
        cancelled_at=iso(NOW),
    )
    payload["line_items"][0].update(product_id=None, variant_id=None)
    standin.add_order(SHOP, payload)

    # when the app reads it
    found = graphql(ONE_ORDER, {"id": "gid://shopify/Order/5003"}).json()["data"]["order"]

    # then nulls where Shopify has nulls, and the statuses as enums
    assert (found["customer"], found["email"], found["cancelledAt"]) == (None, None, iso(NOW))
    assert (found["displayFinancialStatus"], found["displayFulfillmentStatus"]) == (
        "REFUNDED",
        "FULFILLED",
    )
    line = found["lineItems"]["nodes"][0]
    assert (line["product"], line["variant"], line["currentQuantity"]) == (None, None, 0)


# --- listing, search, pagination ------------------------------------------------------------


def test_search_by_updated_at_and_sorting(standin, graphql):
    # given three orders updated an hour apart, the newest a test order
    for n, order_id in enumerate((7001, 7002, 7003)):
        standin.add_order(
            SHOP, order(order_id, updated=NOW - timedelta(hours=3 - n), test=order_id == 7003)
        )
    since = iso(NOW - timedelta(hours=2))

    # when the app asks for the orders updated since two hours ago, both ways round
    recent = listing(graphql, first=10, query=f"updated_at:>='{since}'", sortKey="UPDATED_AT")
    newest_first = listing(
        graphql, first=10, query=f"updated_at:>='{since}'", sortKey="UPDATED_AT", reverse=True
    )
    real_only = listing(graphql, first=10, query="test:false", sortKey="UPDATED_AT")
    either = listing(graphql, first=10, query="id:7001 OR id:7003")
    strictly_after = listing(graphql, first=10, query=f"updated_at:>'{since}'")

    # then the filter and the order are Shopify's
    assert ids(recent) == ["7002", "7003"]
    assert [n["updatedAt"] for n in recent["nodes"]] == [
        iso(NOW - timedelta(hours=2)),
        iso(NOW - timedelta(hours=1)),
    ]
    assert ids(newest_first) == ["7003", "7002"]
    assert ids(real_only) == ["7001", "7002"]
    assert ids(either) == ["7001", "7003"]
    assert ids(strictly_after) == ["7003"]


def test_keyset_pages_do_not_shift_when_an_order_moves(standin, graphql):
    # given five orders updated a minute apart
    for n in range(5):
        standin.add_order(SHOP, order(8001 + n, updated=NOW - timedelta(minutes=10 - n)))

    # when the app reads two, then the first of them is updated, then it reads on
    first = listing(graphql, first=2, sortKey="UPDATED_AT")
    standin.add_order(SHOP, order(8001, updated=NOW))
    second = listing(graphql, first=2, sortKey="UPDATED_AT", after=first["pageInfo"]["endCursor"])
    third = listing(graphql, first=2, sortKey="UPDATED_AT", after=second["pageInfo"]["endCursor"])
    back = listing(graphql, last=1, sortKey="UPDATED_AT", before=second["pageInfo"]["startCursor"])

    # then nothing is skipped: the moved order comes again at the end
    assert ids(first) == ["8001", "8002"]
    assert ids(second) == ["8003", "8004"]
    assert ids(third) == ["8005", "8001"]
    assert (first["pageInfo"]["hasNextPage"], first["pageInfo"]["hasPreviousPage"]) == (
        True,
        False,
    )
    assert (third["pageInfo"]["hasNextPage"], third["pageInfo"]["hasPreviousPage"]) == (
        False,
        True,
    )
    assert ids(back) == ["8002"]
    # and the cursors are Shopify's opaque shape
    decoded = json.loads(base64.b64decode(first["pageInfo"]["endCursor"]))
    assert decoded == {
        "last_id": 8002,
        "last_value": (NOW - timedelta(minutes=9)).strftime("%Y-%m-%d %H:%M:%S.000000"),
    }
    assert [e["cursor"] for e in first["edges"]][-1] == first["pageInfo"]["endCursor"]


def test_line_items_page_with_cursors(standin, graphql):
    # given an order with seven lines
    lines = [{"id": 100 + n, "price": "1.00", "quantity": 1} for n in range(7)]
    standin.add_order(SHOP, order(8101, line_items=lines))
    query = """query L($id: ID!, $after: String) { order(id: $id) {
        lineItems(first: 3, after: $after) {
          nodes { id } pageInfo { hasNextPage endCursor } } } }"""

    # when the app reads them three at a time
    pages, after = [], None
    while True:
        body = graphql(query, {"id": "gid://shopify/Order/8101", "after": after}).json()
        connection = body["data"]["order"]["lineItems"]
        pages.append([n["id"].rsplit("/", 1)[1] for n in connection["nodes"]])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    # then every line once, in order
    assert pages == [["100", "101", "102"], ["103", "104", "105"], ["106"]]


def test_mistakes_in_arguments_are_errors_or_warnings_like_shopify(standin, graphql):
    standin.add_order(SHOP, order(8201))

    # when the app sends a bad sort key, a bad cursor, no page size, an unknown search field
    bad_sort = graphql(LIST, {"first": 1, "sortKey": "COLOUR"}).json()
    bad_cursor = graphql(LIST, {"first": 1, "after": "not-a-cursor"}).json()
    no_size = graphql(LIST, {}).json()
    too_big = graphql(LIST, {"first": 251}).json()
    unknown_field = graphql(LIST, {"first": 5, "query": "colour:red id:8201"}).json()

    # then errors with the field nulled, or results with a search warning
    assert bad_sort["data"] == {"orders": None}
    assert bad_sort["errors"][0]["message"] == (
        "Argument 'sortKey' on Field 'orders' has an invalid value (COLOUR). "
        "Expected type 'OrderSortKeys'."
    )
    assert bad_cursor["errors"][0]["message"] == "Invalid cursor for current pagination sort."
    assert no_size["errors"][0]["message"] == "you must provide one of first or last"
    assert too_big["errors"][0]["message"] == "first must be between 0 and 250"
    assert ids(unknown_field["data"]["orders"]) == ["8201"]
    assert unknown_field["extensions"]["search"] == [
        {
            "path": ["orders"],
            "query": "colour:red id:8201",
            "warnings": [{"field": "colour", "message": "Invalid search field for this query."}],
        }
    ]


# --- access ---------------------------------------------------------------------------------


def test_orders_need_read_orders_and_the_buyer_needs_read_customers(standin, client):
    standin.add_order(SHOP, order(8301))
    no_orders = token_for(standin, client, "read_customers")
    no_customers = token_for(standin, client, "read_orders")

    def ask(token: str) -> dict[str, Any]:
        return client.post(
            GRAPHQL_URL,
            json={"query": "{ orders(first: 5) { nodes { legacyResourceId customer { id } } } }"},
            headers={"X-Shopify-Access-Token": token},
        ).json()

    # when each narrow token reads orders
    denied = ask(no_orders)
    partial = ask(no_customers)

    # then ACCESS_DENIED for the field its scope guards
    assert denied["data"] == {"orders": None}
    assert denied["errors"][0]["message"] == (
        "Access denied for orders field. Required access: `read_orders` access scope."
    )
    assert partial["data"] == {
        "orders": {"nodes": [{"legacyResourceId": "8301", "customer": None}]}
    }
    assert partial["errors"][0]["message"] == (
        "Access denied for customer field. Required access: `read_customers` access scope."
    )
    assert partial["errors"][0]["path"] == ["orders", "nodes", 0, "customer"]


def test_read_orders_sees_sixty_days_read_all_orders_sees_everything(standin, client):
    standin.add_order(SHOP, order(8401, created_at=iso(NOW - timedelta(days=61))))
    standin.add_order(SHOP, order(8402, created_at=iso(NOW - timedelta(days=59))))
    recent = token_for(standin, client, "read_orders")
    everything = token_for(standin, client, "read_orders,read_all_orders")

    def ask(token: str) -> list[str]:
        body = client.post(
            GRAPHQL_URL,
            json={"query": "{ orders(first: 5) { nodes { legacyResourceId } } }"},
            headers={"X-Shopify-Access-Token": token},
        ).json()
        return ids(body["data"]["orders"])

    assert ask(recent) == ["8402"]
    assert ask(everything) == ["8401", "8402"]


# --- cost -----------------------------------------------------------------------------------


def test_nested_connections_multiply_the_cost_like_shopify(graphql):
    # when the app asks for 50 orders with 250 lines each
    body = graphql(
        "{ orders(first: 50) { nodes { lineItems(first: 250) { nodes { id "
        "originalUnitPriceSet { shopMoney { amount } } } } } } }"
    ).json()

    # then Shopify refuses the query before running it
    assert body == {
        "errors": [
            {
                "message": "Query cost is 37652, which exceeds the single query max cost limit "
                "(1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 37652, "maxCost": 1000},
            }
        ]
    }
    assert prepare(SCHEMA, "{ orders(first: 5) { nodes { id } } }").cost == 7


def test_an_order_page_spends_the_bucket_and_throttles_when_empty():
    # given a bucket that holds two pages and does not refill (frozen clock)
    with StandIn(API_KEY, API_SECRET, bucket_size=30, clock=lambda: 1_800_000_000.0) as standin:
        standin.add_shop(SHOP)
        standin.add_order(SHOP, order(8501, created_at="2027-01-15T00:00:00Z"))
        with standin.client() as client:
            access = token_for(standin, client, "read_orders")
            query = "{ orders(first: 10) { nodes { legacyResourceId } } }"  # cost 2 + 10 * 1

            bodies = [
                client.post(
                    f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json",
                    json={"query": query},
                    headers={"X-Shopify-Access-Token": access},
                ).json()
                for _ in range(3)
            ]

    assert [b["extensions"]["cost"]["requestedQueryCost"] for b in bodies] == [12, 12, 12]
    assert ids(bodies[0]["data"]["orders"]) == ["8501"]
    assert [b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for b in bodies] == [
        18.0,
        6.0,
        6.0,
    ]
    assert "errors" not in bodies[1]
    assert bodies[2]["errors"][0]["extensions"]["code"] == "THROTTLED"


# --- seeding --------------------------------------------------------------------------------


def test_orders_seeded_over_the_control_api_and_replaced_by_id(standin, graphql):
    with httpx.Client(base_url=f"{standin.origin}/_standin", timeout=5) as control:
        # when a script seeds an order, then the same order edited (no stamp: updated now)
        created = control.post(f"/shops/{SHOP}/orders", json=order(8601))
        edited_payload = order(8601, line_items=[SHIRT])
        del edited_payload["updated_at"]
        edited = control.post(f"/shops/{SHOP}/orders", json=edited_payload)

    found = graphql(ONE_ORDER, {"id": "gid://shopify/Order/8601"}).json()["data"]["order"]

    # then the stand-in holds the latest version, stamped when it changed
    assert created.status_code == 201 and edited.status_code == 201
    assert created.json()["updated_at"] == iso(CREATED)
    assert edited.json()["updated_at"] >= iso(NOW)
    assert found["updatedAt"] == edited.json()["updated_at"]
    assert [li["id"] for li in found["lineItems"]["nodes"]] == ["gid://shopify/LineItem/11"]
    assert list(standin.shop(SHOP).customers) == [6001]  # the buyer, added once


def test_in_process_graphql_needs_no_server_and_keeps_scopes_and_cost():
    # given a stand-in that was never started
    standin = StandIn(API_KEY, API_SECRET)
    standin.add_shop(SHOP, currency="MYR")
    standin.add_order(SHOP, order(8701))
    query = "{ orders(first: 5) { nodes { legacyResourceId } } }"

    # when a document runs in-process, as the shop's app and with a narrower grant
    answer = standin.graphql(SHOP, query)
    denied = standin.graphql(SHOP, query, scopes="read_customers")

    # then Shopify's body, with its cost, and the scope enforced
    assert answer["data"] == {"orders": {"nodes": [{"legacyResourceId": "8701"}]}}
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 7
    assert denied["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert standin.requests == []
