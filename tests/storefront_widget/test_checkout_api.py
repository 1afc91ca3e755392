"""The checkout UI extension's API: the checkout session token verified (signature, audience,
expiry), CORS for Shopify's checkout origin, the balance, what the order earns, a redemption."""

import time
from datetime import UTC, datetime

import jwt
import pytest
from django.conf import settings
from django.test import override_settings

from loyalty.ledger.services import ledger_credit
from loyalty.platforms.shopify.standin.signing import checkout_token_claims
from loyalty.rewards.models import Redemption
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

STATE = "/storefront/api/checkout/state"
REDEEM = "/storefront/api/checkout/redeem"
CHECKOUT_ORIGIN = "https://extensions.shopifycdn.com"
CUSTOMER = "8100000001"


@pytest.fixture(autouse=True)
def no_catalogue_cache():
    with override_settings(STOREFRONT_CACHE_SECONDS=0):
        yield


@pytest.fixture
def shop():
    return ShopFactory(
        domain=SHOP,
        currency="MYR",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def member(shop):
    member = MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=900, idempotency_key="seed", source_type="action")
    return member


def token(customer=CUSTOMER, *, shop=SHOP, secret=None, **claims):
    payload = checkout_token_claims(shop, settings.SHOPIFY_API_KEY, customer)
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret or settings.SHOPIFY_API_SECRET, algorithm="HS256")


def call(client, method, path, bearer, **kwargs):
    headers = {"HTTP_ORIGIN": CHECKOUT_ORIGIN}
    if bearer is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
    return getattr(client, method)(path, **kwargs, **headers)


def test_the_preflight_allows_shopifys_checkout_to_send_the_token(client):
    response = client.options(
        STATE,
        HTTP_ORIGIN=CHECKOUT_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_a_member_sees_the_balance_what_the_order_earns_and_what_they_can_redeem(
    client, shop, member
):
    RewardFactory(shop=shop, name="RM5 off", points_cost=500)
    RewardFactory(shop=shop, name="RM50 off", points_cost=5000)

    response = call(client, "get", STATE, token(), data={"subtotal": "240.50", "currency": "MYR"})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["signed_in"] is True
    assert body["balance"] == 900
    assert body["earn"] == 240
    assert [reward["name"] for reward in body["rewards"]] == ["RM5 off"]


def test_a_guest_checkout_gets_what_the_order_earns_and_no_balance(client, shop):
    response = call(client, "get", STATE, token(customer=None), data={"subtotal": "99.99"})

    assert response.status_code == 200
    assert response.json()["signed_in"] is False
    assert response.json()["balance"] is None
    assert response.json()["earn"] == 99


def test_a_checkout_in_another_currency_earns_nothing_we_could_promise(client, shop, member):
    response = call(client, "get", STATE, token(), data={"subtotal": "50", "currency": "USD"})

    assert response.json()["earn"] is None
    assert response.json()["balance"] == 900


@pytest.mark.parametrize(
    "bearer",
    [
        pytest.param(lambda: None, id="missing"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: token(secret="another-apps-secret-of-enough-length"), id="forged"),
        pytest.param(lambda: token(exp=int(time.time()) - 60), id="expired"),
        pytest.param(lambda: token(aud="another-app"), id="other-audience"),
    ],
)
def test_a_bad_token_is_401_json_readable_by_the_checkout(client, shop, member, bearer):
    response = call(client, "get", STATE, bearer())

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["error"]["code"] == "invalid_session_token"


def test_a_token_for_a_shop_without_setia_is_404(client, shop):
    response = call(client, "get", STATE, token(shop="elsewhere.myshopify.com"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_shop"


def test_a_post_to_the_state_is_405(client, shop):
    response = call(client, "post", STATE, token())

    assert response.status_code == 405


def test_a_guest_cannot_redeem(client, shop):
    response = call(
        client,
        "post",
        REDEEM,
        token(customer=None),
        data={"reward_id": 1, "idempotency_key": "k1"},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_logged_in"
    assert Redemption.objects.count() == 0


def test_a_forged_token_cannot_redeem(client, shop, member):
    reward = RewardFactory(shop=shop, name="RM5 off", points_cost=500)

    response = call(
        client,
        "post",
        REDEEM,
        token(secret="another-apps-secret-of-enough-length"),
        data={"reward_id": reward.pk, "idempotency_key": "k1"},
        content_type="application/json",
    )

    assert response.status_code == 401
    member.refresh_from_db()
    assert member.points_balance == 900
    assert Redemption.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_member_redeems_at_checkout_and_gets_a_code_made_at_the_store(
    client, shopify_standin, shopify_shop
):
    shopify_standin.add_customer(SHOP, int(CUSTOMER), email="aisyah@example.com")
    member = MemberFactory(shop=shopify_shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=900, idempotency_key="seed", source_type="action")
    reward = RewardFactory(shop=shopify_shop, name="RM5 off", points_cost=500)

    response = call(
        client,
        "post",
        REDEEM,
        token(),
        data={"reward_id": reward.pk, "idempotency_key": "checkout-1"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["balance"] == 400
    redemption = Redemption.objects.get(member=member)
    assert body["redemption"]["code"] == redemption.code
    assert shopify_standin.shop(SHOP).discount_by_code(redemption.code) is not None
