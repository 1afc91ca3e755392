"""`customers_find_by_email` against the Shopify stand-in over real HTTP: batches of quoted
`email:` terms, exact matches only, pages, throttling and failures."""

import pytest
from django.test import override_settings

from loyalty.core.events import CustomerData
from loyalty.core.platform import PlatformError, gateway_for
from loyalty.platforms.shopify import gateway as shopify_gateway
from tests.platforms.shopify.helpers import SHOP

pytestmark = pytest.mark.django_db


def customer_searches(standin):
    return [
        r
        for r in standin.requests
        if r.target == "graphql" and "customers(" in ((r.json or {}).get("query") or "")
    ]


@pytest.fixture
def fast_waits(monkeypatch):
    monkeypatch.setattr("loyalty.platforms.shopify.admin_api.MAX_WAIT_SECONDS", 0.2)


def test_finds_the_customers_the_store_has_ignoring_case_and_leaves_out_the_others(
    shopify_standin, shopify_shop
):
    shopify_standin.add_customer(SHOP, 701, email="siti.aminah@example.com", first_name="Siti")
    shopify_standin.add_customer(
        SHOP, 702, email="John.Tan@Example.com", first_name="John", last_name="Tan"
    )
    shopify_standin.add_customer(SHOP, 703, email="mail@test.ch")
    shopify_standin.add_customer(SHOP, 704, email="claro-murten@bluewin.ch")

    found = gateway_for(shopify_shop).customers_find_by_email(
        shop=shopify_shop,
        emails=["SITI.AMINAH@example.com", "john.tan@example.com", "mail@test.ch", "no@one.my"],
    )

    assert found == {
        "siti.aminah@example.com": CustomerData(
            platform_customer_id="701", email="siti.aminah@example.com", first_name="Siti"
        ),
        "john.tan@example.com": CustomerData(
            platform_customer_id="702",
            email="John.Tan@Example.com",
            first_name="John",
            last_name="Tan",
        ),
        "mail@test.ch": CustomerData(platform_customer_id="703", email="mail@test.ch"),
    }
    [search] = customer_searches(shopify_standin)
    assert search.json["variables"]["query"] == (
        'email:"john.tan@example.com" OR email:"mail@test.ch" OR email:"no@one.my" '
        'OR email:"siti.aminah@example.com"'
    )


def test_more_emails_than_one_batch_are_asked_for_in_batches_of_fifty(
    shopify_standin, shopify_shop
):
    emails = [f"member{n:03}@example.com" for n in range(120)]
    for n in range(0, 120, 2):
        shopify_standin.add_customer(SHOP, 9000 + n, email=emails[n])

    found = gateway_for(shopify_shop).customers_find_by_email(shop=shopify_shop, emails=emails)

    assert found == {
        emails[n]: CustomerData(platform_customer_id=str(9000 + n), email=emails[n])
        for n in range(0, 120, 2)
    }
    searches = customer_searches(shopify_standin)
    assert [s.json["variables"]["query"].count("email:") for s in searches] == [50, 50, 20]
    assert all(s.json["variables"]["first"] == 50 for s in searches)


def test_a_search_answering_more_than_a_page_is_followed_to_its_end(
    shopify_standin, shopify_shop, monkeypatch
):
    monkeypatch.setattr(shopify_gateway, "CUSTOMER_EMAIL_BATCH", 3)
    for n in range(3):
        shopify_standin.add_customer(SHOP, 800 + n, email=f"twin{n}@example.com")
    # An older customer record with the same email, as a store may still hold after a merge.
    shopify_standin.add_customer(SHOP, 799, email="twin2@example.com")

    found = gateway_for(shopify_shop).customers_find_by_email(
        shop=shopify_shop, emails=["twin0@example.com", "twin1@example.com", "twin2@example.com"]
    )

    searches = customer_searches(shopify_standin)
    assert [s.json["variables"]["after"] is None for s in searches] == [True, False]
    assert {e: c.platform_customer_id for e, c in found.items()} == {
        "twin0@example.com": "800",
        "twin1@example.com": "801",
        "twin2@example.com": "799",
    }


def test_a_throttled_answer_is_waited_out_and_asked_again(shopify_standin, shopify_shop):
    shopify_standin.add_customer(SHOP, 701, email="siti.aminah@example.com")
    shopify_standin.faults.push("throttled")

    found = gateway_for(shopify_shop).customers_find_by_email(
        shop=shopify_shop, emails=["siti.aminah@example.com"]
    )

    assert list(found) == ["siti.aminah@example.com"]
    assert [s.fault for s in customer_searches(shopify_standin)] == ["throttled", None]


def test_a_store_that_keeps_failing_raises_a_transient_error_after_bounded_attempts(
    shopify_standin, shopify_shop, fast_waits
):
    shopify_standin.faults.push("500", count=10)

    with pytest.raises(PlatformError) as raised:
        gateway_for(shopify_shop).customers_find_by_email(
            shop=shopify_shop, emails=["siti.aminah@example.com"]
        )

    assert raised.value.transient is True
    assert len(customer_searches(shopify_standin)) == shopify_gateway.CUSTOMER_SEARCH_MAX_ATTEMPTS


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_a_store_that_does_not_answer_in_time_raises_a_transient_error(
    shopify_standin, shopify_shop, fast_waits, monkeypatch
):
    monkeypatch.setattr(shopify_gateway, "CUSTOMER_SEARCH_MAX_ATTEMPTS", 2)
    shopify_standin.faults.push("slow", count=2, delay=1.0)

    with pytest.raises(PlatformError) as raised:
        gateway_for(shopify_shop).customers_find_by_email(
            shop=shopify_shop, emails=["siti.aminah@example.com"]
        )

    assert (raised.value.transient, raised.value.code) == (True, "network_error")


def test_no_emails_asks_nothing(shopify_standin, shopify_shop):
    found = gateway_for(shopify_shop).customers_find_by_email(shop=shopify_shop, emails=[])

    assert found == {}
    assert customer_searches(shopify_standin) == []
