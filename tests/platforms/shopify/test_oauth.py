import time
from types import SimpleNamespace
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import override_settings

from loyalty.platforms.shopify.models import OAuthState
from loyalty.shops.models import Shop
from tests.platforms.shopify.helpers import SHOP, signed_oauth_query

pytestmark = pytest.mark.django_db

VECTOR = {
    "code": "0907a61c0c8d55e99db179b68161bc00",
    "shop": "some-shop.myshopify.com",
    "state": "0.6784241404160823",
    "timestamp": "1337178173",
    "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
}


def test_install_redirects_to_shopify_authorize_with_a_fresh_state(client):
    response = client.get("/shopify/install?" + urlencode(signed_oauth_query(shop=SHOP)))

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert (url.scheme, url.netloc, url.path) == ("https", SHOP, "/admin/oauth/authorize")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["client_id"] == "test-api-key"
    assert (
        query["scope"]
        == "read_orders,read_customers,write_customers,write_discounts,write_app_proxy,"
        "read_products"
    )
    assert query["redirect_uri"] == "http://127.0.0.1:8000/shopify/callback"
    state = OAuthState.objects.get()
    assert query["state"] == state.nonce and state.shop_domain == SHOP
    cookie = response.cookies["setia_oauth_state"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert state.nonce in cookie.value  # signed, carrying the nonce


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"shop": "evil.com"}, 400, "invalid_shop"),
        ({"shop": "-bad.myshopify.com"}, 400, "invalid_shop"),
        ({"shop": "shop.myshopify.com.evil.com"}, 400, "invalid_shop"),
        ({"shop": SHOP, "hmac": "0" * 64}, 401, "invalid_hmac"),
        ({"shop": SHOP, "timestamp": str(int(time.time()) - 7200)}, 401, "invalid_hmac"),
        ({"shop": SHOP, "timestamp": str(int(time.time()) + 7200)}, 401, "invalid_hmac"),
        ({"shop": SHOP, "timestamp": "yesterday"}, 401, "invalid_hmac"),
    ],
    ids=[
        "foreign-domain",
        "bad-pattern",
        "suffix-trick",
        "forged-hmac",
        "stale",
        "future",
        "junk-timestamp",
    ],
)
def test_install_refuses_bad_requests_and_stores_nothing(client, params, status, code):
    forged_hmac = params.pop("hmac", None)
    query = signed_oauth_query(**params)
    if forged_hmac:
        query["hmac"] = forged_hmac

    response = client.get("/shopify/install?" + urlencode(query))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert OAuthState.objects.count() == 0
    assert "setia_oauth_state" not in response.cookies


def test_install_without_hmac_is_refused(client):
    response = client.get(
        "/shopify/install?" + urlencode({"shop": SHOP, "timestamp": int(time.time())})
    )

    assert response.status_code == 401


def test_published_oauth_vector_passes_the_hmac_check():
    frozen = SimpleNamespace(time=lambda: 1337178173 + 60)
    with (
        override_settings(SHOPIFY_API_SECRET="hush"),
        mock.patch("loyalty.platforms.shopify.views.time", frozen),
        mock.patch("shopify.session.time", frozen),
    ):
        from django.test import Client

        genuine = Client().get("/shopify/callback?" + urlencode(VECTOR))
        tampered = Client().get("/shopify/callback?" + urlencode({**VECTOR, "code": "0" * 32}))

    # The signature passes; what stops it then is that no browser started this install.
    assert (genuine.status_code, genuine.json()["error"]["code"]) == (401, "invalid_state")
    assert (tampered.status_code, tampered.json()["error"]["code"]) == (401, "invalid_hmac")


def start_install(client):
    response = client.get("/shopify/install?" + urlencode(signed_oauth_query(shop=SHOP)))
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def test_callback_with_a_state_from_another_browser_is_refused(client):
    start_install(client)
    from django.test import Client

    other_browser_state = start_install(Client())

    response = client.get(
        "/shopify/callback?"
        + urlencode(signed_oauth_query(shop=SHOP, code="abc", state=other_browser_state))
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_state"
    assert not Shop.objects.exists()


def test_callback_without_the_state_cookie_is_refused(client):
    state = start_install(client)
    client.cookies.clear()

    response = client.get(
        "/shopify/callback?" + urlencode(signed_oauth_query(shop=SHOP, code="abc", state=state))
    )

    assert response.status_code == 401
    assert not Shop.objects.exists()


def test_callback_for_another_shop_than_the_install_is_refused(client):
    state = start_install(client)

    response = client.get(
        "/shopify/callback?"
        + urlencode(signed_oauth_query(shop="other.myshopify.com", code="abc", state=state))
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_state"


def test_callback_with_a_forged_hmac_is_refused_before_the_state_is_spent(client):
    state = start_install(client)
    query = signed_oauth_query(shop=SHOP, code="abc", state=state)
    query["hmac"] = "f" * 64

    response = client.get("/shopify/callback?" + urlencode(query))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_hmac"
    assert OAuthState.objects.filter(nonce=state).exists()
