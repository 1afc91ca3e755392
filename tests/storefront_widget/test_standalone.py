"""The widget outside Shopify: a signed customer token (HMAC-SHA256 of the customer id and a
timestamp with the shop's widget secret) accepted by /storefront/api/widget/state and /redeem;
forged, stale, malformed tokens and another shop's secret are refused."""

import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption
from storefront_widget.models import WidgetSettings
from storefront_widget.tokens import (
    FUTURE_SKEW_SECONDS,
    MAX_AGE_SECONDS,
    customer_token_sign,
    customer_token_verify,
)
from tests.factories import MemberFactory, RewardFactory, ShopFactory

pytestmark = pytest.mark.django_db

STATE = "/storefront/api/widget/state"
REDEEM = "/storefront/api/widget/redeem"
CUSTOMER = "cust-42"
NOW = 1_800_000_000


@pytest.fixture(autouse=True)
def no_catalogue_cache():
    with override_settings(STOREFRONT_CACHE_SECONDS=0):
        yield


def installed(domain):
    shop = ShopFactory(
        domain=domain, access_token="shpat_x", installed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    WidgetSettings.objects.create(shop=shop)
    return shop


@pytest.fixture
def shop():
    return installed("batik-house.myshopify.com")


@pytest.fixture
def other_shop():
    return installed("other-house.myshopify.com")


@pytest.fixture
def member(shop):
    member = MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=700, idempotency_key="seed", source_type="action")
    return member


def secret_of(shop):
    return WidgetSettings.objects.get(shop=shop).widget_secret


def get_state(client, shop, token=None, **headers):
    query = {"shop": shop.domain, **({"token": token} if token is not None else {})}
    return client.get(f"{STATE}?{urlencode(query)}", HTTP_ORIGIN="https://batik.example", **headers)


# The token itself


def test_a_signed_token_names_its_customer_within_its_age():
    token = customer_token_sign(secret="s3cret", customer_id=CUSTOMER, timestamp=NOW)

    assert customer_token_verify(secret="s3cret", token=token, now=NOW) == CUSTOMER
    assert customer_token_verify(secret="s3cret", token=token, now=NOW + MAX_AGE_SECONDS) == (
        CUSTOMER
    )


@pytest.mark.parametrize(
    ("token", "now"),
    [
        pytest.param(
            lambda: customer_token_sign(secret="s3cret", customer_id=CUSTOMER, timestamp=NOW),
            NOW + MAX_AGE_SECONDS + 1,
            id="stale",
        ),
        pytest.param(
            lambda: customer_token_sign(
                secret="s3cret", customer_id=CUSTOMER, timestamp=NOW + FUTURE_SKEW_SECONDS + 1
            ),
            NOW,
            id="from-the-future",
        ),
        pytest.param(
            lambda: customer_token_sign(secret="another", customer_id=CUSTOMER, timestamp=NOW),
            NOW,
            id="other-secret",
        ),
        pytest.param(
            lambda: customer_token_sign(
                secret="s3cret", customer_id=CUSTOMER, timestamp=NOW
            ).replace(CUSTOMER, "cust-43"),
            NOW,
            id="other-customer",
        ),
        pytest.param(
            lambda: customer_token_sign(
                secret="s3cret", customer_id=CUSTOMER, timestamp=NOW
            ).replace(str(NOW), str(NOW + 1)),
            NOW,
            id="other-time",
        ),
        pytest.param(lambda: f"{CUSTOMER}.{NOW}." + "0" * 64, NOW, id="forged-mac"),
        pytest.param(lambda: f"{CUSTOMER}.{NOW}", NOW, id="no-mac"),
        pytest.param(lambda: "", NOW, id="empty"),
        pytest.param(lambda: "a.b.c", NOW, id="garbage"),
    ],
)
def test_a_bad_token_names_no_one(token, now):
    assert customer_token_verify(secret="s3cret", token=token(), now=now) is None


def test_no_secret_accepts_nothing():
    token = customer_token_sign(secret="", customer_id=CUSTOMER, timestamp=NOW)

    assert customer_token_verify(secret="", token=token, now=NOW) is None


# The endpoints


def test_a_valid_token_gets_the_members_state_with_cors(client, shop, member):
    token = customer_token_sign(secret=secret_of(shop), customer_id=CUSTOMER)

    response = get_state(client, shop, token)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["customer"]["id"] == CUSTOMER
    assert response.json()["customer"]["points"]["balance"] == 700


def test_the_token_may_come_in_a_header(client, shop, member):
    token = customer_token_sign(secret=secret_of(shop), customer_id=CUSTOMER)

    response = get_state(client, shop, HTTP_X_SETIA_CUSTOMER_TOKEN=token)

    assert response.json()["customer"]["points"]["balance"] == 700


def test_no_token_is_a_guest(client, shop, member):
    response = get_state(client, shop)

    assert response.status_code == 200
    assert response.json()["customer"] is None


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda shop, other: f"{CUSTOMER}.{int(time.time())}." + "a" * 64, id="forged"),
        pytest.param(
            lambda shop, other: customer_token_sign(
                secret=secret_of(shop), customer_id=CUSTOMER, timestamp=int(time.time()) - 7200
            ),
            id="stale",
        ),
        pytest.param(
            lambda shop, other: customer_token_sign(secret=secret_of(other), customer_id=CUSTOMER),
            id="other-shops-secret",
        ),
    ],
)
def test_a_bad_token_is_401_and_not_a_guest(client, shop, other_shop, member, make):
    response = get_state(client, shop, make(shop, other_shop))

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["error"]["code"] == "invalid_customer_token"


def test_a_rotated_secret_ends_the_old_tokens(client, shop, member):
    from storefront_widget.services import widget_secret_rotate

    token = customer_token_sign(secret=secret_of(shop), customer_id=CUSTOMER)
    widget_secret_rotate(shop=shop, actor="staff:1")

    assert get_state(client, shop, token).status_code == 401


def test_an_unknown_shop_is_404(client, shop):
    response = client.get(f"{STATE}?shop=nowhere.example")

    assert response.status_code == 404


def test_the_preflight_is_answered(client, shop):
    response = client.options(REDEEM, HTTP_ORIGIN="https://batik.example")

    assert response.status_code == 204
    assert "X-Setia-Customer-Token" in response["Access-Control-Allow-Headers"]


def test_a_forged_token_cannot_redeem(client, shop, member):
    reward = RewardFactory(shop=shop, points_cost=500)
    query = urlencode({"shop": shop.domain, "token": f"{CUSTOMER}.{int(time.time())}." + "b" * 64})

    response = client.post(
        f"{REDEEM}?{query}",
        {"reward_id": reward.pk, "idempotency_key": "k1"},
        content_type="application/json",
    )

    assert response.status_code == 401
    member.refresh_from_db()
    assert member.points_balance == 700
    assert Redemption.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_valid_token_redeems(client, shopify_standin, shopify_shop):
    WidgetSettings.objects.create(shop=shopify_shop)
    shopify_standin.add_customer(shopify_shop.domain, 8100000001, email="a@example.com")
    member = MemberFactory(shop=shopify_shop, platform_customer_id="8100000001")
    ledger_credit(member=member, points=700, idempotency_key="seed", source_type="action")
    reward = RewardFactory(shop=shopify_shop, points_cost=500)
    token = customer_token_sign(secret=secret_of(shopify_shop), customer_id="8100000001")
    query = urlencode({"shop": shopify_shop.domain, "token": token})

    response = client.post(
        f"{REDEEM}?{query}",
        {"reward_id": reward.pk, "idempotency_key": "k1"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["balance"] == 200
    assert Redemption.objects.get(member=member).code == response.json()["redemption"]["code"]


def test_a_signed_shopper_claims_an_action_from_the_script_tag(client, shop, member):
    from loyalty.earning.models import ActionRule

    ActionRule.objects.create(
        shop=shop, action="social_follow", key="instagram", name="Follow us", points=25
    )
    token = customer_token_sign(secret=secret_of(shop), customer_id=CUSTOMER)
    url = f"/storefront/api/widget/actions?{urlencode({'shop': shop.domain, 'token': token})}"

    first = client.post(
        url,
        {"action": "social_follow", "key": "instagram"},
        content_type="application/json",
        HTTP_ORIGIN="https://batik.example",
    )
    again = client.post(
        url,
        {"action": "social_follow", "key": "instagram"},
        content_type="application/json",
        HTTP_ORIGIN="https://batik.example",
    )

    assert first.status_code == 201
    assert first["Access-Control-Allow-Origin"] == "*"
    assert first.json()["balance"] == 725
    assert again.status_code == 409


def test_an_action_without_a_token_is_refused(client, shop, member):
    url = f"/storefront/api/widget/actions?{urlencode({'shop': shop.domain})}"

    response = client.post(
        url, {"action": "social_follow", "key": "instagram"}, content_type="application/json"
    )

    assert response.status_code == 401
