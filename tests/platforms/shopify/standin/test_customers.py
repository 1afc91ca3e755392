"""`customers(first:, query:)`: Shopify's customer search, paged, with its cost and throttling."""

from __future__ import annotations

import pytest

from loyalty.platforms.shopify.standin import StandIn

from .conftest import SHOP

CUSTOMERS_QUERY = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query) {
    nodes { id legacyResourceId email firstName lastName }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture
def customers(standin: StandIn) -> None:
    standin.add_customer(SHOP, 501, email="siti.aminah@example.com", first_name="Siti")
    standin.add_customer(SHOP, 502, email="John.Tan@Example.com", first_name="John")
    standin.add_customer(SHOP, 503, email="mail@test.ch")
    standin.add_customer(SHOP, 504, email="claro-murten@bluewin.ch")
    standin.add_customer(SHOP, 505, email=None, first_name="Walk-in")


def _emails(body: dict) -> list[str]:
    return [node["email"] for node in body["data"]["customers"]["nodes"]]


def test_quoted_emails_joined_by_or_find_those_customers_ignoring_case(graphql, customers):
    query = 'email:"SITI.AMINAH@example.com" OR email:"john.tan@example.com" OR email:"x@y.z"'

    body = graphql(CUSTOMERS_QUERY, {"first": 50, "query": query}).json()

    assert "errors" not in body
    assert body["data"]["customers"]["nodes"] == [
        {
            "id": "gid://shopify/Customer/501",
            "legacyResourceId": "501",
            "email": "siti.aminah@example.com",
            "firstName": "Siti",
            "lastName": None,
        },
        {
            "id": "gid://shopify/Customer/502",
            "legacyResourceId": "502",
            "email": "John.Tan@Example.com",
            "firstName": "John",
            "lastName": None,
        },
    ]
    assert body["data"]["customers"]["pageInfo"]["hasNextPage"] is False


def test_an_unquoted_email_is_tokenized_and_also_finds_emails_sharing_a_word(graphql, customers):
    body = graphql(CUSTOMERS_QUERY, {"first": 50, "query": "email:mail@test.ch"}).json()

    assert _emails(body) == ["mail@test.ch", "claro-murten@bluewin.ch"]


def test_pages_follow_the_cursor(graphql, customers):
    query = " OR ".join(f'email:"{e}"' for e in ("siti.aminah@example.com", "mail@test.ch"))
    query += ' OR email:"claro-murten@bluewin.ch"'

    first = graphql(CUSTOMERS_QUERY, {"first": 2, "query": query}).json()
    cursor = first["data"]["customers"]["pageInfo"]["endCursor"]
    second = graphql(CUSTOMERS_QUERY, {"first": 2, "after": cursor, "query": query}).json()

    assert _emails(first) == ["siti.aminah@example.com", "mail@test.ch"]
    assert first["data"]["customers"]["pageInfo"]["hasNextPage"] is True
    assert _emails(second) == ["claro-murten@bluewin.ch"]
    assert second["data"]["customers"]["pageInfo"]["hasNextPage"] is False


def test_negation_other_fields_and_unknown_fields(graphql, customers):
    negated = graphql(CUSTOMERS_QUERY, {"first": 10, "query": '-email:"mail@test.ch"'}).json()
    by_name = graphql(CUSTOMERS_QUERY, {"first": 10, "query": "first_name:john"}).json()
    unknown = graphql(CUSTOMERS_QUERY, {"first": 10, "query": "shoe_size:9"}).json()

    assert _emails(negated) == [
        "siti.aminah@example.com",
        "John.Tan@Example.com",
        "claro-murten@bluewin.ch",
        None,
    ]
    assert _emails(by_name) == ["John.Tan@Example.com"]
    assert len(_emails(unknown)) == 5  # an unknown field is ignored, with a warning
    assert unknown["extensions"]["search"] == [
        {
            "path": ["customers"],
            "query": "shoe_size:9",
            "warnings": [{"field": "shoe_size", "message": "Invalid search field for this query."}],
        }
    ]


def test_a_quote_inside_a_quoted_value_is_escaped_with_a_backslash(standin, graphql):
    standin.add_customer(SHOP, 601, email='"odd"@example.com')

    body = graphql(CUSTOMERS_QUERY, {"first": 5, "query": r'email:"\"odd\"@example.com"'}).json()

    assert _emails(body) == ['"odd"@example.com']


def test_the_cost_is_charged_per_node_asked_for_and_throttles_like_other_queries(
    standin, graphql, customers
):
    ok = graphql(CUSTOMERS_QUERY, {"first": 50, "query": 'email:"mail@test.ch"'}).json()
    standin.faults.push("throttled")
    throttled = graphql(CUSTOMERS_QUERY, {"first": 50, "query": 'email:"mail@test.ch"'}).json()

    assert ok["extensions"]["cost"]["requestedQueryCost"] == 102
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in throttled


def test_first_or_last_is_required(standin, graphql, customers):
    missing = graphql("{ customers(query: \"email:'a@b.c'\") { nodes { id } } }").json()

    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["data"] == {"customers": None}


def test_without_read_customers_the_answer_is_access_denied(standin, client):
    from .conftest import API_KEY, API_SECRET, GRAPHQL_URL, TOKEN_URL

    standin.add_shop(SHOP, scopes=["read_orders"])
    token = client.post(
        TOKEN_URL,
        json={"client_id": API_KEY, "client_secret": API_SECRET, "code": standin.issue_code(SHOP)},
    ).json()["access_token"]

    body = client.post(
        GRAPHQL_URL,
        json={"query": CUSTOMERS_QUERY, "variables": {"first": 5, "query": 'email:"a@b.c"'}},
        headers={"X-Shopify-Access-Token": token},
    ).json()

    assert body["data"] == {"customers": None}
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
