"""Admin GraphQL through shopify_app's own client: happy paths, userErrors, GraphQL errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from shopify_app import ShopifyApp

from loyalty.platforms.shopify.standin import AsyncRewriteOriginTransport, StandIn

from .conftest import API_KEY, API_SECRET, API_VERSION, SHOP, TOKEN_URL

CUSTOMER_ID = 7001


@pytest.fixture
def customer(standin: StandIn) -> dict[str, Any]:
    return standin.add_customer(
        SHOP,
        CUSTOMER_ID,
        email="siti@example.com",
        first_name="Siti",
        last_name="Rahman",
        tags=["newsletter"],
        number_of_orders=3,
        amount_spent="120.50",
    )


@pytest.fixture
def admin(
    shopify_app: ShopifyApp, client: httpx.Client, token: dict[str, Any]
) -> Callable[..., Any]:
    def call(query: str, variables: dict[str, Any] | None = None, access_token: str = ""):
        return shopify_app.admin_graphql_request(
            query,
            shop="demo-shop",
            access_token=access_token or token["access_token"],
            api_version=API_VERSION,
            variables=variables,
            http_client=client,
        )

    return call


SHOP_QUERY = """
query ShopInfo {
  shop { name email currencyCode ianaTimezone myshopifyDomain plan { displayName } }
}
"""


def test_shop_query_answers_exactly_the_selected_fields_with_cost(admin):
    # when the app reads the shop
    result = admin(SHOP_QUERY)

    # then the selection comes back, and the cost extension Shopify sends
    assert (result.ok, result.log.code) == (True, "success")
    assert result.data == {
        "shop": {
            "name": "Demo Shop",
            "email": "owner@demo-shop.example",
            "currencyCode": "MYR",
            "ianaTimezone": "Asia/Kuala_Lumpur",
            "myshopifyDomain": SHOP,
            "plan": {"displayName": "Basic"},
        }
    }
    cost = result.extensions["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (2, 2)
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    assert 1990 <= cost["throttleStatus"]["currentlyAvailable"] <= 1998


CUSTOMER_QUERY = """
query Customer($id: ID!) {
  customer(id: $id) {
    id email firstName lastName tags numberOfOrders amountSpent { amount currencyCode }
  }
}
"""


def test_customer_query_and_an_unknown_customer(admin, customer):
    # when the app reads a known and an unknown customer
    known = admin(CUSTOMER_QUERY, {"id": customer["gid"]})
    unknown = admin(CUSTOMER_QUERY, {"id": "gid://shopify/Customer/1"})

    # then Shopify's shapes: counts and money are strings, unknown is null
    assert known.data == {
        "customer": {
            "id": f"gid://shopify/Customer/{CUSTOMER_ID}",
            "email": "siti@example.com",
            "firstName": "Siti",
            "lastName": "Rahman",
            "tags": ["newsletter"],
            "numberOfOrders": "3",
            "amountSpent": {"amount": "120.5", "currencyCode": "MYR"},
        }
    }
    assert unknown.data == {"customer": None}


WEBHOOK_CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic format uri }
    userErrors { field message }
  }
}
"""


def test_webhook_subscription_create_and_a_duplicate(admin, standin):
    # given a subscription for orders/paid
    sub = {"uri": "https://setia.example/shopify/webhooks", "format": "JSON"}
    created = admin(WEBHOOK_CREATE, {"topic": "ORDERS_PAID", "sub": sub})

    # when the same topic and address are subscribed again
    duplicate = admin(WEBHOOK_CREATE, {"topic": "ORDERS_PAID", "sub": sub})

    # then the first is created and the second is a userError
    payload = created.data["webhookSubscriptionCreate"]
    assert payload["userErrors"] == []
    assert payload["webhookSubscription"]["id"].startswith("gid://shopify/WebhookSubscription/")
    assert {k: v for k, v in payload["webhookSubscription"].items() if k != "id"} == {
        "topic": "ORDERS_PAID",
        "format": "JSON",
        "uri": "https://setia.example/shopify/webhooks",
    }
    assert duplicate.data == {
        "webhookSubscriptionCreate": {
            "webhookSubscription": None,
            "userErrors": [
                {
                    "field": ["webhookSubscription", "uri"],
                    "message": "Address for this topic has already been taken",
                }
            ],
        }
    }
    assert [(w.topic, w.uri) for w in standin.shop(SHOP).webhooks] == [
        ("ORDERS_PAID", "https://setia.example/shopify/webhooks")
    ]


def test_webhook_subscription_with_inline_literals_and_a_plain_http_address(admin):
    # when subscribing with inline enum literals and the older callbackUrl field
    inline = admin(
        """mutation { webhookSubscriptionCreate(topic: APP_UNINSTALLED, webhookSubscription:
        {callbackUrl: "https://setia.example/shopify/webhooks", format: JSON}) {
        webhookSubscription { topic endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }
        userErrors { field message } } }"""
    )
    insecure = admin(
        WEBHOOK_CREATE,
        {"topic": "ORDERS_CREATE", "sub": {"uri": "http://setia.example/hooks"}},
    )

    # then the literal works; a non-local http:// address is refused like Shopify does
    assert inline.data["webhookSubscriptionCreate"] == {
        "webhookSubscription": {
            "topic": "APP_UNINSTALLED",
            "endpoint": {"callbackUrl": "https://setia.example/shopify/webhooks"},
        },
        "userErrors": [],
    }
    assert insecure.data["webhookSubscriptionCreate"]["userErrors"] == [
        {
            "field": ["webhookSubscription", "uri"],
            "message": "Address protocol http:// is not supported",
        }
    ]


DISCOUNT_CREATE = """
mutation Reward($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode {
      id
      codeDiscount {
        __typename
        ... on DiscountCodeBasic { title codes(first: 1) { nodes { code } } usageLimit }
      }
    }
    userErrors { field message code }
  }
}
"""


def _reward_input(code: str, customer_gid: str) -> dict[str, Any]:
    return {
        "title": "RM5 off (500 points)",
        "code": code,
        "startsAt": "2026-11-01T00:00:00Z",
        "endsAt": "2027-11-01T00:00:00Z",
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {
            "orderDiscounts": False,
            "productDiscounts": True,
            "shippingDiscounts": True,
        },
        "minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "20.00"}},
        "customerGets": {
            "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
            "items": {"all": True},
        },
        "context": {"customers": {"add": [customer_gid]}},
    }


def test_discount_code_basic_create_records_the_full_input(admin, standin, customer):
    # given the reward the app creates for a member
    reward = _reward_input("SETIA-7KQ2", customer["gid"])

    # when it is created
    result = admin(DISCOUNT_CREATE, {"discount": reward})

    # then the node comes back with the selected fields and the input is kept for assertions
    payload = result.data["discountCodeBasicCreate"]
    assert payload["userErrors"] == []
    assert payload["codeDiscountNode"]["id"].startswith("gid://shopify/DiscountCodeNode/")
    assert payload["codeDiscountNode"]["codeDiscount"] == {
        "__typename": "DiscountCodeBasic",
        "title": "RM5 off (500 points)",
        "codes": {"nodes": [{"code": "SETIA-7KQ2"}]},
        "usageLimit": 1,
    }
    stored = standin.shop(SHOP).discounts
    assert [(d.kind, d.code) for d in stored] == [("basic", "SETIA-7KQ2")]
    assert stored[0].input == reward
    assert stored[0].input["context"]["customers"]["add"] == [customer["gid"]]


def test_a_discount_code_must_be_unique_in_the_shop_across_types(admin, customer):
    # given an existing basic code
    admin(DISCOUNT_CREATE, {"discount": _reward_input("SETIA-DUP", customer["gid"])})

    # when the same code (any case) is created again, as basic and as free shipping
    again = admin(DISCOUNT_CREATE, {"discount": _reward_input("setia-dup", customer["gid"])})
    free_shipping = admin(
        """mutation Ship($d: DiscountCodeFreeShippingInput!) {
          discountCodeFreeShippingCreate(freeShippingCodeDiscount: $d) {
            codeDiscountNode { id } userErrors { field message }
          }
        }""",
        {"d": {"title": "Free shipping", "code": "SETIA-DUP", "startsAt": "2026-11-01T00:00:00Z"}},
    )

    # then both are Shopify's uniqueness userError on the code field
    assert again.data["discountCodeBasicCreate"] == {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["basicCodeDiscount", "code"],
                "message": "Code must be unique. Please try a different code.",
                "code": "TAKEN",
            }
        ],
    }
    assert free_shipping.data["discountCodeFreeShippingCreate"] == {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["freeShippingCodeDiscount", "code"],
                "message": "Code must be unique. Please try a different code.",
            }
        ],
    }


def test_discount_code_free_shipping_create_with_inline_literals(admin, standin, customer):
    # when a free-shipping reward is created with the input written inline
    result = admin(
        f"""mutation {{
          discountCodeFreeShippingCreate(freeShippingCodeDiscount: {{
            title: "Free shipping (300 points)", code: "SETIA-SHIP",
            startsAt: "2026-11-01T00:00:00Z", usageLimit: 1, appliesOncePerCustomer: true,
            context: {{customers: {{add: ["{customer["gid"]}"]}}}},
            destination: {{all: true}}
          }}) {{
            codeDiscountNode {{ codeDiscount {{ ... on DiscountCodeFreeShipping {{
              title codes(first: 1) {{ nodes {{ code }} }} }} }} }}
            userErrors {{ field message }}
          }}
        }}"""
    )

    # then it is created and recorded as a free-shipping discount
    assert result.data["discountCodeFreeShippingCreate"] == {
        "codeDiscountNode": {
            "codeDiscount": {
                "title": "Free shipping (300 points)",
                "codes": {"nodes": [{"code": "SETIA-SHIP"}]},
            }
        },
        "userErrors": [],
    }
    assert standin.shop(SHOP).discounts[0].kind == "free_shipping"
    assert standin.shop(SHOP).discounts[0].input["destination"] == {"all": True}


def test_discount_validation_user_errors(admin):
    # when the input is missing its code and names a customer that does not exist
    result = admin(
        DISCOUNT_CREATE,
        {
            "discount": {
                "title": "Broken",
                "startsAt": "2026-11-01T00:00:00Z",
                "customerGets": {"value": {"percentage": 1.5}, "items": {"all": True}},
                "context": {"customers": {"add": ["gid://shopify/Customer/999"]}},
            }
        },
    )

    # then each problem is a userError on its field, and nothing is created
    assert result.data["discountCodeBasicCreate"] == {
        "codeDiscountNode": None,
        "userErrors": [
            {
                "field": ["basicCodeDiscount", "code"],
                "message": "Code can't be blank",
                "code": "BLANK",
            },
            {
                "field": ["basicCodeDiscount", "context", "customers", "add"],
                "message": "Customer gid://shopify/Customer/999 does not exist",
                "code": "INVALID",
            },
            {
                "field": ["basicCodeDiscount", "customerGets", "value", "percentage"],
                "message": "Value must be between 0.0 and 1.0",
                "code": "VALUE_OUTSIDE_RANGE",
            },
        ],
    }


TAGS = """
mutation Tags($id: ID!, $tags: [String!]!) {
  add: tagsAdd(id: $id, tags: $tags) {
    node { id ... on Customer { tags } }
    userErrors { field message }
  }
}
"""


def test_tags_add_and_remove_on_a_customer(admin, standin, customer):
    # when the app adds tier tags, then removes one
    added = admin(TAGS, {"id": customer["gid"], "tags": ["Setia Gold", "vip"]})
    removed = admin(
        """mutation Untag($id: ID!) { tagsRemove(id: $id, tags: "vip") {
             node { id } userErrors { field message } } }""",
        {"id": customer["gid"]},
    )

    # then the aliased payload has the tags, and the stand-in's customer changed
    assert added.data == {
        "add": {
            "node": {"id": customer["gid"], "tags": ["Setia Gold", "newsletter", "vip"]},
            "userErrors": [],
        }
    }
    assert removed.data == {"tagsRemove": {"node": {"id": customer["gid"]}, "userErrors": []}}
    assert sorted(standin.shop(SHOP).customers[CUSTOMER_ID].tags) == ["Setia Gold", "newsletter"]


def test_tags_add_on_an_unknown_customer_is_a_user_error(admin):
    # when the id names no customer
    result = admin(TAGS, {"id": "gid://shopify/Customer/404", "tags": ["x"]})

    # then node is null and the error is on the id
    assert result.data == {
        "add": {
            "node": None,
            "userErrors": [{"field": ["id"], "message": "Customer does not exist"}],
        }
    }


METAFIELDS_SET = """
mutation Set($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key namespace value type compareDigest }
    userErrors { field message code elementIndex }
  }
}
"""


def test_metafields_set_in_the_app_namespace_then_compare_and_set(admin, standin, customer):
    # given the member's balance and tier written in the app-owned namespace
    first = admin(
        METAFIELDS_SET,
        {
            "metafields": [
                {
                    "ownerId": customer["gid"],
                    "namespace": "$app:setia",
                    "key": "balance",
                    "type": "number_integer",
                    "value": "120",
                },
                {
                    "ownerId": customer["gid"],
                    "namespace": "$app:setia",
                    "key": "tier",
                    "type": "single_line_text_field",
                    "value": "Gold",
                },
            ]
        },
    )
    written = first.data["metafieldsSet"]["metafields"]
    digest = written[0]["compareDigest"]

    # when the balance is updated with the current digest, then with the now stale one
    fresh = admin(
        METAFIELDS_SET,
        {
            "metafields": [
                {
                    "ownerId": customer["gid"],
                    "namespace": "$app:setia",
                    "key": "balance",
                    "value": "150",
                    "compareDigest": digest,
                }
            ]
        },
    )
    stale = admin(
        METAFIELDS_SET,
        {
            "metafields": [
                {
                    "ownerId": customer["gid"],
                    "namespace": "$app:setia",
                    "key": "balance",
                    "value": "999",
                    "compareDigest": digest,
                }
            ]
        },
    )

    # then the namespace is resolved like Shopify's, the first write wins, the stale one fails
    assert [(m["namespace"], m["key"], m["value"]) for m in written] == [
        ("app--4242424242--setia", "balance", "120"),
        ("app--4242424242--setia", "tier", "Gold"),
    ]
    assert fresh.data["metafieldsSet"]["metafields"][0]["value"] == "150"
    assert fresh.data["metafieldsSet"]["metafields"][0]["compareDigest"] != digest
    assert stale.data["metafieldsSet"] == {
        "metafields": [],
        "userErrors": [
            {
                "field": ["metafields", "0"],
                "message": "The resource has been updated since it was loaded. Try again with "
                "an updated `compareDigest` value.",
                "code": "STALE_OBJECT",
                "elementIndex": 0,
            }
        ],
    }
    balance = standin.shop(SHOP).metafields[(customer["gid"], "app--4242424242--setia", "balance")]
    assert balance.value == "150"


def test_metafields_set_limits_and_atomicity(admin, standin, customer):
    # when 26 metafields are sent, and when one of two inputs is invalid
    too_many = admin(
        METAFIELDS_SET,
        {
            "metafields": [
                {
                    "ownerId": customer["gid"],
                    "key": f"key{i}",
                    "type": "number_integer",
                    "value": "1",
                }
                for i in range(26)
            ]
        },
    )
    half_bad = admin(
        METAFIELDS_SET,
        {
            "metafields": [
                {"ownerId": customer["gid"], "key": "ok", "type": "number_integer", "value": "1"},
                {"ownerId": customer["gid"], "key": "bad", "type": "number_integer", "value": "x"},
            ]
        },
    )

    # then the first is refused as a whole, the second writes nothing
    assert too_many.data["metafieldsSet"] == {
        "metafields": [],
        "userErrors": [
            {
                "field": ["metafields"],
                "message": "Exceeded the maximum metafields input limit of 25.",
                "code": "LESS_THAN_OR_EQUAL_TO",
                "elementIndex": None,
            }
        ],
    }
    assert half_bad.data["metafieldsSet"]["userErrors"] == [
        {
            "field": ["metafields", "1", "value"],
            "message": "Value must be an integer.",
            "code": "INVALID_VALUE",
            "elementIndex": 1,
        }
    ]
    assert standin.shop(SHOP).metafields == {}


def test_an_unknown_root_field_is_a_graphql_error(admin):
    # when the app asks for something the stand-in (and Shopify) does not have
    result = admin("{ productz(first: 1) { nodes { id } } }")

    # then Shopify's error, which shopify_app reports as graphql_errors
    assert (result.ok, result.log.code) == (False, "graphql_errors")
    assert result.response.status == 200
    assert httpx.Response(200, content=result.response.body).json() == {
        "errors": [
            {
                "message": "Field 'productz' doesn't exist on type 'QueryRoot'",
                "locations": [{"line": 1, "column": 3}],
                "path": ["query", "productz"],
                "extensions": {
                    "code": "undefinedField",
                    "typeName": "QueryRoot",
                    "fieldName": "productz",
                },
            }
        ]
    }


def test_document_mistakes_are_reported_like_shopify(graphql):
    # when a nested field does not exist, a variable is missing, and one is unused
    unknown_nested = graphql("{ shop { name owner } }").json()
    missing_variable = graphql(CUSTOMER_QUERY, {}).json()
    unused = graphql("query Q($n: Int) { shop { name } }").json()

    # then each is a GraphQL error without data
    assert unknown_nested["errors"][0]["message"] == "Field 'owner' doesn't exist on type 'Shop'"
    assert missing_variable == {
        "errors": [
            {
                "message": "Variable $id of type ID! was provided invalid value",
                "extensions": {
                    "code": "INVALID_VARIABLE",
                    "value": None,
                    "problems": [{"path": [], "explanation": "Expected value to not be null"}],
                },
            }
        ]
    }
    assert unused["errors"][0]["message"] == "Variable $n is declared by query Q but not used"
    assert "data" not in unknown_nested


def test_access_scopes_are_enforced(standin, admin, client, customer):
    # given a token granted only read_orders
    code = standin.issue_code(SHOP, "read_orders")
    narrow = client.post(
        TOKEN_URL, json={"client_id": API_KEY, "client_secret": API_SECRET, "code": code}
    ).json()["access_token"]

    # when it reads a customer
    result = admin(CUSTOMER_QUERY, {"id": customer["gid"]}, access_token=narrow)

    # then ACCESS_DENIED with the field nulled, as Shopify answers
    body = httpx.Response(200, content=result.response.body).json()
    assert body["data"] == {"customer": None}
    assert body["errors"][0]["extensions"] == {
        "code": "ACCESS_DENIED",
        "documentation": "https://shopify.dev/api/usage/access-scopes",
        "requiredAccess": "`read_customers` access scope.",
    }


def test_the_cost_bucket_throttles_when_empty():
    # given a small bucket that does not refill (frozen clock)
    with StandIn(API_KEY, API_SECRET, bucket_size=25, clock=lambda: 1_800_000_000.0) as standin:
        standin.add_shop(SHOP)
        customer = standin.add_customer(SHOP, 1)
        with standin.client() as client:
            code = standin.issue_code(SHOP)
            access = client.post(
                TOKEN_URL, json={"client_id": API_KEY, "client_secret": API_SECRET, "code": code}
            ).json()["access_token"]

            # when three 10-point mutations are sent
            bodies = [
                client.post(
                    f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json",
                    json={"query": TAGS, "variables": {"id": customer["gid"], "tags": ["t"]}},
                    headers={"X-Shopify-Access-Token": access},
                ).json()
                for _ in range(3)
            ]

    # then the third is THROTTLED with the bucket's state
    assert [b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for b in bodies] == [
        15.0,
        5.0,
        5.0,
    ]
    assert "errors" not in bodies[1]
    assert bodies[2]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert bodies[2]["extensions"]["cost"]["requestedQueryCost"] == 10
    assert bodies[2]["extensions"]["cost"]["actualQueryCost"] is None


def test_listing_subscriptions_and_finding_a_discount_by_code(admin, customer):
    # given a subscription and a reward created by the app
    admin(
        WEBHOOK_CREATE,
        {"topic": "ORDERS_PAID", "sub": {"uri": "https://setia.example/shopify/webhooks"}},
    )
    admin(DISCOUNT_CREATE, {"discount": _reward_input("SETIA-FIND", customer["gid"])})

    # when the app reconciles what exists
    listed = admin(
        """{ webhookSubscriptions(first: 10, topics: [ORDERS_PAID]) {
              nodes { topic uri } pageInfo { hasNextPage } } }"""
    )
    found = admin(
        """query Find($code: String!) { codeDiscountNodeByCode(code: $code) {
              codeDiscount { ... on DiscountCodeBasic { title status } } } }""",
        {"code": "setia-find"},
    )

    # then both come back in Shopify's connection and node shapes
    assert listed.data == {
        "webhookSubscriptions": {
            "nodes": [{"topic": "ORDERS_PAID", "uri": "https://setia.example/shopify/webhooks"}],
            "pageInfo": {"hasNextPage": False},
        }
    }
    assert found.data == {
        "codeDiscountNodeByCode": {
            "codeDiscount": {"title": "RM5 off (500 points)", "status": "ACTIVE"}
        }
    }


def test_wrongly_shaped_arguments_and_oversized_queries_are_errors(graphql, customer):
    # when tags is a number, and a query asks for far too many nodes
    wrong_shape = graphql(TAGS, {"id": customer["gid"], "tags": 5}).json()
    too_costly = graphql(
        "{ webhookSubscriptions(first: 250) { nodes { apiVersion { handle } endpoint "
        "{ __typename } } edges { node { apiVersion { handle } } } } }"
    ).json()

    # then GraphQL errors, not a crash
    assert wrong_shape["data"] == {"add": None}
    assert wrong_shape["errors"][0]["extensions"] == {"code": "argumentLiteralsIncompatible"}
    assert too_costly == {
        "errors": [
            {
                "message": "Query cost is 1502, which exceeds the single query max cost limit "
                "(1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1502, "maxCost": 1000},
            }
        ]
    }


def test_the_async_rewriting_transport_reaches_the_stand_in(standin, token):
    # given an AsyncClient aimed at the real Shopify URL through the rewriting transport
    async def query() -> httpx.Response:
        transport = AsyncRewriteOriginTransport(standin.origin)
        async with httpx.AsyncClient(transport=transport, timeout=5) as client:
            return await client.post(
                f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json",
                json={"query": "{ shop { myshopifyDomain } }"},
                headers={"X-Shopify-Access-Token": token["access_token"]},
            )

    # when it queries, then the stand-in answered for that shop
    response = asyncio.run(query())
    assert response.json()["data"] == {"shop": {"myshopifyDomain": SHOP}}
    assert standin.requests[-1].headers["host"] == SHOP


# -- discounts beyond creation: deleting one, a discount limited to product variants --

DISCOUNT_DELETE = """
mutation Gone($id: ID!) {
  discountCodeDelete(id: $id) { deletedCodeDiscountId userErrors { field message code } }
}
"""

DISCOUNT_CREATE_PRODUCTS = """
mutation Reward($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode {
      id
      codeDiscount {
        ... on DiscountCodeBasic {
          discountClass
          summary
          customerGets {
            items {
              __typename
              ... on DiscountProducts { productVariants(first: 5) { nodes { id } } }
            }
          }
        }
      }
    }
    userErrors { field message code }
  }
}
"""


def test_discount_code_delete_removes_the_code_and_a_second_delete_says_it_is_gone(
    admin, standin, customer
):
    created = admin(
        DISCOUNT_CREATE_PRODUCTS, {"discount": _reward_input("SETIA-GONE", customer["gid"])}
    )
    gid = created.data["discountCodeBasicCreate"]["codeDiscountNode"]["id"]

    deleted = admin(DISCOUNT_DELETE, {"id": gid})
    again = admin(DISCOUNT_DELETE, {"id": gid})
    found = admin('query { codeDiscountNodeByCode(code: "SETIA-GONE") { id } }')

    assert deleted.data["discountCodeDelete"] == {"deletedCodeDiscountId": gid, "userErrors": []}
    assert again.data["discountCodeDelete"] == {
        "deletedCodeDiscountId": None,
        "userErrors": [{"field": ["id"], "message": "Discount does not exist", "code": "INVALID"}],
    }
    assert found.data == {"codeDiscountNodeByCode": None}
    assert standin.shop(SHOP).discounts == []


def test_a_free_product_discount_names_its_variant(admin, standin, customer):
    reward: dict[str, Any] = _reward_input("SETIA-FREE", customer["gid"])
    reward["customerGets"] = {
        "value": {"percentage": 1.0},
        "items": {"products": {"productVariantsToAdd": ["gid://shopify/ProductVariant/39072856"]}},
    }

    result = admin(DISCOUNT_CREATE_PRODUCTS, {"discount": reward})

    payload = result.data["discountCodeBasicCreate"]
    assert payload["userErrors"] == []
    basic = payload["codeDiscountNode"]["codeDiscount"]
    assert basic["discountClass"] == "PRODUCT"
    assert basic["summary"].startswith("100% off selected products")
    assert basic["customerGets"]["items"] == {
        "__typename": "DiscountProducts",
        "productVariants": {"nodes": [{"id": "gid://shopify/ProductVariant/39072856"}]},
    }


@pytest.mark.parametrize(
    "items",
    [
        {"products": {"productVariantsToAdd": ["gid://shopify/Product/1"]}},
        {"products": {}},
    ],
)
def test_product_items_must_name_variants_or_products(admin, customer, items):
    reward = _reward_input("SETIA-BAD", customer["gid"])
    reward["customerGets"]["items"] = items

    result = admin(DISCOUNT_CREATE_PRODUCTS, {"discount": reward})

    payload = result.data["discountCodeBasicCreate"]
    assert payload["codeDiscountNode"] is None
    assert payload["userErrors"][0]["field"][:3] == ["basicCodeDiscount", "customerGets", "items"]
