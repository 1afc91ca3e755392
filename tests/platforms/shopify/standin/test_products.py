"""Products with tags and collections, read through `nodes(ids:)` and `product(id:)`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loyalty.platforms.shopify.standin import StandIn

from .conftest import API_KEY, API_SECRET, GRAPHQL_URL, SHOP, TOKEN_URL

PRODUCTS_QUERY = """
query ProductFacts($ids: [ID!]!, $collections: Int!, $after: String) {
  nodes(ids: $ids) {
    ... on Product {
      id
      legacyResourceId
      tags
      collections(first: $collections, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id legacyResourceId handle }
      }
    }
  }
}
"""


def _token(standin: StandIn, client: httpx.Client, scopes: list[str]) -> str:
    standin.add_shop(SHOP, scopes=scopes)
    response = client.post(
        TOKEN_URL,
        json={"client_id": API_KEY, "client_secret": API_SECRET, "code": standin.issue_code(SHOP)},
    )
    assert response.status_code == 200
    return response.json()["access_token"]


def _query(client: httpx.Client, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        GRAPHQL_URL,
        json={"query": PRODUCTS_QUERY, "variables": variables},
        headers={"X-Shopify-Access-Token": token},
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def catalogue(standin: StandIn) -> None:
    standin.add_product(
        SHOP,
        632910392,
        title="Batik Shirt",
        tags=["sale", "Batik", "sale"],
        collections=[{"id": 841564295, "handle": "raya"}, "gid://shopify/Collection/395646240"],
    )
    standin.add_product(SHOP, 921728736, tags=[], collections=[841564295])


def test_nodes_answers_products_with_tags_and_collections_and_null_for_unknown_ids(
    standin, client, catalogue
):
    # given a token with read_products
    token = _token(standin, client, ["read_orders", "read_products"])

    # when the app reads two known products and an unknown one
    body = _query(
        client,
        token,
        {
            "ids": [
                "gid://shopify/Product/632910392",
                "gid://shopify/Product/921728736",
                "gid://shopify/Product/1",
            ],
            "collections": 10,
        },
    )

    # then Shopify's shapes: tags sorted, collections a connection, an unknown id is null
    assert "errors" not in body
    assert body["data"]["nodes"] == [
        {
            "id": "gid://shopify/Product/632910392",
            "legacyResourceId": "632910392",
            "tags": ["Batik", "sale"],
            "collections": {
                "pageInfo": {"hasNextPage": False, "endCursor": "cursor1"},
                "nodes": [
                    {
                        "id": "gid://shopify/Collection/841564295",
                        "legacyResourceId": "841564295",
                        "handle": "raya",
                    },
                    {
                        "id": "gid://shopify/Collection/395646240",
                        "legacyResourceId": "395646240",
                        "handle": "collection-395646240",
                    },
                ],
            },
        },
        {
            "id": "gid://shopify/Product/921728736",
            "legacyResourceId": "921728736",
            "tags": [],
            "collections": {
                "pageInfo": {"hasNextPage": False, "endCursor": "cursor0"},
                "nodes": [
                    {
                        "id": "gid://shopify/Collection/841564295",
                        "legacyResourceId": "841564295",
                        "handle": "raya",
                    }
                ],
            },
        },
        None,
    ]


def test_collections_page_with_after_and_the_cost_counts_every_id(standin, client, catalogue):
    # given a token with read_products
    token = _token(standin, client, ["read_products"])

    # when the app reads one collection at a time, then the rest after the cursor
    first = _query(client, token, {"ids": ["gid://shopify/Product/632910392"], "collections": 1})
    rest = _query(
        client,
        token,
        {"ids": ["gid://shopify/Product/632910392"], "collections": 1, "after": "cursor0"},
    )
    two = _query(
        client,
        token,
        {
            "ids": ["gid://shopify/Product/632910392", "gid://shopify/Product/921728736"],
            "collections": 1,
        },
    )

    # then the pages join up, and a query for two ids costs twice one for one id
    page = first["data"]["nodes"][0]["collections"]
    assert page["pageInfo"] == {"hasNextPage": True, "endCursor": "cursor0"}
    assert [c["handle"] for c in page["nodes"]] == ["raya"]
    page = rest["data"]["nodes"][0]["collections"]
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": "cursor1"}
    assert [c["handle"] for c in page["nodes"]] == ["collection-395646240"]
    # per product: 1 + collections (2 + 1 x (nodes 1 + pageInfo 1)) = 5
    assert first["extensions"]["cost"]["requestedQueryCost"] == 5
    assert two["extensions"]["cost"]["requestedQueryCost"] == 10


def test_products_need_read_products(standin, client, catalogue):
    # given a token without read_products
    token = _token(standin, client, ["read_orders"])

    # when the app reads a product through nodes and through product(id:)
    body = _query(client, token, {"ids": ["gid://shopify/Product/632910392"], "collections": 5})
    single = client.post(
        GRAPHQL_URL,
        json={"query": 'query { product(id: "gid://shopify/Product/632910392") { id tags } }'},
        headers={"X-Shopify-Access-Token": token},
    ).json()

    # then ACCESS_DENIED, as Shopify answers, and no data
    assert body["data"] == {"nodes": None}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["nodes"], "ACCESS_DENIED")
    ]
    assert body["errors"][0]["message"] == (
        "Access denied for nodes field. Required access: `read_products` access scope."
    )
    assert single["data"] == {"product": None}
    assert single["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"


def test_nodes_refuses_more_than_250_ids_and_malformed_ids(standin, catalogue):
    # when the app asks for 251 ids, and for something that is not a GID
    too_many = standin.graphql(
        SHOP,
        "query Ids($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [f"gid://shopify/Product/{n}" for n in range(1, 252)]},
        scopes=["read_products"],
    )
    malformed = standin.graphql(
        SHOP, PRODUCTS_QUERY, {"ids": ["632910392"], "collections": 1}, scopes=["read_products"]
    )

    # then both are errors and nothing is returned
    assert too_many["data"] == {"nodes": None}
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert malformed["data"] == {"nodes": None}
    assert malformed["errors"][0]["message"] == "Invalid global id '632910392'"


def test_products_seeded_through_the_control_api(standin):
    # when a script adds a product over HTTP, and then replaces it
    with httpx.Client(base_url=f"{standin.origin}/_standin", timeout=5) as control:
        created = control.post(
            f"/shops/{SHOP}/products",
            json={"product_id": 55, "tags": ["vip"], "collections": [{"id": 7, "handle": "new"}]},
        )
        replaced = control.post(f"/shops/{SHOP}/products", json={"product_id": 55, "tags": []})
        refused = control.post(f"/shops/{SHOP}/products", json={"collections": ["raya"]})

    # then the stand-in has it as if added in-process
    assert created.status_code == 201
    assert created.json() == {
        "id": 55,
        "gid": "gid://shopify/Product/55",
        "title": "Product 55",
        "tags": ["vip"],
        "collections": [
            {"id": 7, "gid": "gid://shopify/Collection/7", "handle": "new", "title": "Collection 7"}
        ],
    }
    assert replaced.json()["collections"] == []
    assert standin.shop(SHOP).products[55].tags == []
    assert standin.shop(SHOP).collections[7].handle == "new"
    assert refused.status_code == 400
    assert "numeric id" in refused.json()["error"]
