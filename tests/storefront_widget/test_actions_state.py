"""The `state` answer tells a signed-in member which action ways they can still claim from the
widget (`claimable`), and a claim shows on the next page view even with the answer cached."""

import json
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from loyalty.earning.models import ActionRule
from loyalty.shops.services import shop_storefront_seen
from storefront_widget.state import storefront_catalogue_forget
from tests.factories import MemberFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db

CUSTOMER = "7001"


@pytest.fixture
def shop():
    return ShopFactory(domain=SHOP, currency="MYR")


@pytest.fixture
def rules(shop):
    ActionRule.objects.create(
        shop=shop, action="social_follow", key="instagram", name="Follow us", points=50
    )
    ActionRule.objects.create(
        shop=shop, action="birthday", name="Birthday treat", points=100, cap="per_year"
    )
    ActionRule.objects.create(shop=shop, action="review", name="Review", points=10)


@pytest.fixture(autouse=True)
def caching(storefront_caching):
    yield


def actions(client, customer_id=CUSTOMER):
    response = client.get(
        "/shopify/proxy/api/state?" + urlencode(proxy_query(customer_id=customer_id))
    )
    return [way for way in response.json()["ways_to_earn"] if way["kind"] == "action"]


def post(client, body):
    return client.post(
        "/shopify/proxy/api/actions?" + urlencode(proxy_query(customer_id=CUSTOMER)),
        data=json.dumps(body),
        content_type="application/json",
    )


def test_a_member_sees_what_they_can_claim_with_the_network(client, shop, rules):
    MemberFactory(shop=shop, platform_customer_id=CUSTOMER)

    assert actions(client) == [
        {
            "kind": "action",
            "action": "social_follow",
            "name": "Follow us",
            "points": 50,
            "key": "instagram",
            "claimable": True,
        },
        {
            "kind": "action",
            "action": "birthday",
            "name": "Birthday treat",
            "points": 100,
            "claimable": True,
        },
        {"kind": "action", "action": "review", "name": "Review", "points": 10, "claimable": False},
    ]


def test_claims_show_as_no_longer_claimable_on_the_next_cached_view(
    client, shop, rules, django_capture_on_commit_callbacks
):
    MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    actions(client)  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, {"action": "social_follow", "key": "instagram"}).status_code == 201
    assert [way["claimable"] for way in actions(client)] == [False, True, False]
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, {"action": "birthday", "birthday": "05-17"}).status_code == 201

    assert [way["claimable"] for way in actions(client)] == [False, False, False]


def test_a_guest_gets_no_claimable_flag(client, shop, rules):
    assert [set(way) for way in actions(client, customer_id="")] == [
        {"kind", "action", "name", "points", "key"},
        {"kind", "action", "name", "points"},
        {"kind", "action", "name", "points"},
    ]


def test_a_signed_in_customer_not_yet_a_member_can_claim_nothing(client, shop, rules):
    assert [way["claimable"] for way in actions(client, customer_id="8888")] == [
        False,
        False,
        False,
    ]


def test_one_more_query_only_when_a_social_way_can_be_claimed(
    client, shop, rules, django_assert_num_queries
):
    MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    storefront_catalogue_forget()
    shop_storefront_seen(shop=shop)  # the first request of the hour records it: not counted
    with override_settings(STOREFRONT_CACHE_SECONDS=0), django_assert_num_queries(10):
        actions(client)  # the 9 of a page view (test_proxy_state) + this period's claims
