"""`GET /shopify/proxy/api/earn`: what a product earns, for the theme's product-page block,
from the program's live terms and rules through the earning engine."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from loyalty.earning.models import EarnRule
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_catalogue_cache():
    with override_settings(STOREFRONT_CACHE_SECONDS=0):
        yield


@pytest.fixture
def shop():
    shop = ShopFactory(
        domain=SHOP,
        currency="MYR",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    shop.program.points_per_currency_unit = Decimal("2")
    shop.program.minimum_order = Decimal("500")
    shop.program.save()
    return shop


def earn(client, customer_id="", **params):
    query = proxy_query(customer_id=customer_id, **params)
    return client.get("/shopify/proxy/api/earn?" + urlencode(query))


def test_the_base_rate_applies_to_the_price_and_quantity(client, shop):
    response = earn(client, price_cents="12050", quantity="2", product_id="7001")

    assert response.status_code == 200
    assert response.json() == {"points": 482, "points_name": "points"}  # 241.00 x 2 per MYR


def test_a_product_multiplier_and_a_running_campaign_count_but_milestones_do_not(client, shop):
    now = datetime.now(UTC)
    EarnRule.objects.create(
        shop=shop,
        name="Double on sarongs",
        kind="product",
        effect="multiply",
        target="product",
        values=["gid://shopify/Product/7001"],
        multiplier=Decimal("2"),
    )
    EarnRule.objects.create(
        shop=shop,
        name="Raya bonus",
        kind="campaign",
        effect="bonus",
        points=50,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    EarnRule.objects.create(
        shop=shop,
        name="First order",
        kind="milestone",
        effect="bonus",
        points=300,
        first_order=True,
    )
    EarnRule.objects.create(
        shop=shop,
        name="Old campaign",
        kind="campaign",
        effect="bonus",
        points=999,
        starts_at=now - timedelta(days=9),
        ends_at=now - timedelta(days=8),
    )

    sarong = earn(client, price_cents="10000", product_id="7001").json()
    scarf = earn(client, price_cents="10000", product_id="7002").json()

    assert sarong["points"] == 200 + 200 + 50
    assert scarf["points"] == 200 + 50


def test_an_excluded_product_earns_nothing(client, shop):
    EarnRule.objects.create(
        shop=shop,
        name="No gift wrap",
        kind="product",
        effect="exclude",
        target="sku",
        values=["WRAP"],
    )

    response = earn(client, price_cents="500", sku="WRAP")

    assert response.json()["points"] == 0


def test_a_signed_in_members_tier_multiplier_counts(client, shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=0, multiplier=Decimal("1.5"))
    MemberFactory(shop=shop, platform_customer_id="8100000001", tier=gold)

    member = earn(client, customer_id="8100000001", price_cents="10000").json()
    guest = earn(client, price_cents="10000").json()

    assert member["points"] == 300
    assert guest["points"] == 200


@pytest.mark.parametrize(
    "params",
    [
        {"price_cents": "12.50"},
        {"price_cents": "-100"},
        {"price_cents": ""},
        {"price_cents": "100", "quantity": "0"},
        {"price_cents": "100", "product_id": "drop table"},
        {"price_cents": "1" * 13},
    ],
)
def test_bad_input_is_400(client, shop, params):
    response = earn(client, **params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_an_unsigned_or_forged_request_is_401(client, shop):
    query = proxy_query(price_cents="10000")
    query["price_cents"] = "99999"  # changed after signing

    forged = client.get("/shopify/proxy/api/earn?" + urlencode(query))
    unsigned = client.get("/shopify/proxy/api/earn?price_cents=10000&shop=" + SHOP)

    assert forged.status_code == 401
    assert unsigned.status_code == 401
