"""metafieldsSet with many owners, over HTTP, as Shopify answers it: at most 25 inputs, atomic
(a userError names the failing input by index and nothing is saved), and priced by its distinct
owners (10 + 1 per customer) against the shop's bucket."""

from __future__ import annotations

from typing import Any

from loyalty.platforms.shopify.standin import StandIn

from .conftest import API_KEY, API_SECRET, API_VERSION, SHOP, TOKEN_URL

SET = """
mutation Set($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key value }
    userErrors { field message code elementIndex }
  }
}
"""
NAMESPACE = "app--4242424242--loyalty"


def balance_input(customer_id: int, value: str) -> dict[str, Any]:
    return {
        "ownerId": f"gid://shopify/Customer/{customer_id}",
        "namespace": "$app:loyalty",
        "key": "points_balance",
        "type": "single_line_text_field",
        "value": value,
    }


def add_customers(standin: StandIn, count: int) -> list[int]:
    ids = [5001 + n for n in range(count)]
    for customer_id in ids:
        standin.add_customer(SHOP, customer_id)
    return ids


def balances(standin: StandIn) -> dict[str, str]:
    return {
        owner.rsplit("/", 1)[1]: field.value
        for (owner, namespace, key), field in standin.shop(SHOP).metafields.items()
        if namespace == NAMESPACE and key == "points_balance"
    }


def test_25_customers_are_set_in_one_call_priced_by_its_owners(standin, graphql):
    # given 25 customers
    ids = add_customers(standin, 25)

    # when one metafieldsSet sets a balance on each
    body = graphql(SET, {"metafields": [balance_input(c, str(c - 5000)) for c in ids]}).json()

    # then every one is saved, and the call costs 10 plus 1 per distinct customer
    assert body["data"]["metafieldsSet"]["userErrors"] == []
    assert len(body["data"]["metafieldsSet"]["metafields"]) == 25
    assert balances(standin) == {str(c): str(c - 5000) for c in ids}
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (35, 35)
    assert [r.operation for r in standin.requests if r.target == "graphql"] == ["metafieldsSet"]


def test_more_than_25_inputs_are_refused_and_nothing_is_saved(standin, graphql):
    ids = add_customers(standin, 26)

    body = graphql(SET, {"metafields": [balance_input(c, "1") for c in ids]}).json()

    assert body["data"]["metafieldsSet"] == {
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
    assert balances(standin) == {}


def test_an_unknown_owner_is_named_by_its_index_and_nothing_is_saved(standin, graphql):
    # given 24 known customers and, fourth in line, one the shop does not have
    ids = add_customers(standin, 24)
    inputs = [balance_input(c, "7") for c in ids]
    inputs.insert(3, balance_input(404, "7"))

    # when the 25 are sent, then the 24 without it
    refused = graphql(SET, {"metafields": inputs}).json()
    again = graphql(SET, {"metafields": inputs[:3] + inputs[4:]}).json()

    # then the first saves none (atomic) and names input 3; the second saves all 24
    assert refused["data"]["metafieldsSet"] == {
        "metafields": [],
        "userErrors": [
            {
                "field": ["metafields", "3", "ownerId"],
                "message": "Owner does not exist.",
                "code": "INVALID",
                "elementIndex": 3,
            }
        ],
    }
    assert again["data"]["metafieldsSet"]["userErrors"] == []
    assert balances(standin) == {str(c): "7" for c in ids}


def test_each_owner_counts_once_per_mutation_and_each_alias_is_charged(standin, graphql):
    # given three customers, each given two metafields, and the shop one
    ids = add_customers(standin, 3)
    inputs = [balance_input(c, "1") for c in ids]
    inputs += [{**balance_input(c, "Gold"), "key": "tier"} for c in ids]
    inputs.append({**balance_input(0, "x"), "ownerId": standin.shop(SHOP).gid})
    aliased = SET.replace(
        "metafieldsSet(metafields: $metafields) {",
        "a: metafieldsSet(metafields: $metafields) { userErrors { field } }\n"
        "  b: metafieldsSet(metafields: $metafields) {",
    )

    once = graphql(SET, {"metafields": inputs}).json()
    twice = graphql(aliased, {"metafields": inputs}).json()

    # then 10 + 3 customers + 1 shop, and that again for the second alias
    assert once["extensions"]["cost"]["requestedQueryCost"] == 14
    assert twice["extensions"]["cost"]["requestedQueryCost"] == 28


def test_the_bucket_throttles_by_the_owners_a_call_names():
    # given a bucket of 50 points that does not refill (frozen clock)
    with StandIn(API_KEY, API_SECRET, bucket_size=50, clock=lambda: 1_800_000_000.0) as standin:
        standin.add_shop(SHOP)
        ids = add_customers(standin, 25)
        with standin.client() as client:
            code = standin.issue_code(SHOP)
            access = client.post(
                TOKEN_URL, json={"client_id": API_KEY, "client_secret": API_SECRET, "code": code}
            ).json()["access_token"]

            def send(customers: list[int]) -> dict[str, Any]:
                return client.post(
                    f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json",
                    json={
                        "query": SET,
                        "variables": {"metafields": [balance_input(c, "1") for c in customers]},
                    },
                    headers={"X-Shopify-Access-Token": access},
                ).json()

            # when 25 customers (35 points) are set twice, then one customer (11 points)
            bodies = [send(ids), send(ids), send(ids[:1])]

    # then the second is THROTTLED for its 35 points and the small one still fits
    assert "errors" not in bodies[0]
    assert bodies[1]["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert bodies[1]["extensions"]["cost"]["requestedQueryCost"] == 35
    assert "errors" not in bodies[2]
    assert [b["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for b in bodies] == [
        15.0,
        15.0,
        4.0,
    ]


def test_a_malformed_owner_id_refuses_the_whole_request(standin, graphql):
    """What the gateway avoids by never sending a customer id that is not a number."""
    ids = add_customers(standin, 2)

    body = graphql(
        SET, {"metafields": [balance_input(ids[0], "1"), {**balance_input(0, "1"), "ownerId": "x"}]}
    ).json()

    assert body["errors"][0]["message"] == "Invalid global id 'x'"
    assert body["data"] == {"metafieldsSet": None}
    assert balances(standin) == {}
