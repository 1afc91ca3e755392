import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings

from loyalty.merchant_admin.shell import app_bridge_url
from tests.platforms.shopify.helpers import SHOP

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


def session_token(shop=SHOP, *, secret=None, aud=None, exp_in=60, **claims):
    now = int(time.time())
    payload = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": aud or settings.SHOPIFY_API_KEY,
        "sub": "42",
        "exp": now + exp_in,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
        **claims,
    }
    return jwt.encode(payload, secret or settings.SHOPIFY_API_SECRET, algorithm="HS256")


def test_document_load_with_a_valid_token_renders_the_app_framed_by_shopify_only(client, shop):
    response = client.get(f"/app/?shop={SHOP}&host=YWRtaW4&id_token={session_token()}")

    assert response.status_code == 200
    assert (
        response["Content-Security-Policy"]
        == f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )
    assert "X-Frame-Options" not in response
    body = response.content.decode()
    # App Bridge from Shopify's CDN (here the stand-in's copy: SHOPIFY_API_ORIGIN is local).
    assert f'src="{app_bridge_url()}" data-api-key="test-api-key"' in body
    assert "Rewards" in body


def test_document_load_without_a_token_bounces_to_the_token_page(client, shop):
    response = client.get(f"/app/?shop={SHOP}&host=YWRtaW4")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/app/session-token-bounce"
    assert parse_qs(location.query)["shopify-reload"] == [f"/app/?shop={SHOP}&host=YWRtaW4"]


@pytest.mark.parametrize(
    "token_kwargs",
    [
        {"secret": "not-the-app-secret-but-long-enough-32b"},
        {"aud": "another-app"},
        {"exp_in": -120},
    ],
    ids=["forged", "wrong-audience", "expired"],
)
def test_fetch_with_an_invalid_token_gets_401_and_the_retry_header(client, shop, token_kwargs):
    response = client.get("/app/", HTTP_AUTHORIZATION=f"Bearer {session_token(**token_kwargs)}")

    assert response.status_code == 401
    assert response["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert response.json()["error"]["code"] == "invalid_session_token"


def test_token_issued_by_another_shops_admin_is_refused(client, shop):
    token = session_token(iss="https://other.myshopify.com/admin")

    response = client.get("/app/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_fetch_with_a_valid_token_gets_the_shops_data(client, shop):
    response = client.get(
        "/app/", HTTP_AUTHORIZATION=f"Bearer {session_token()}", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 200
    assert response.json() == {"shop": SHOP, "members": 0}


def test_document_load_with_a_forged_token_bounces_and_shows_nothing(client, shop):
    forged = session_token(secret="not-the-app-secret-but-long-enough-32b")

    response = client.get(f"/app/?shop={SHOP}&id_token={forged}")

    assert response.status_code == 302
    assert b"Rewards" not in response.content


def test_bounce_page_loads_app_bridge_and_may_only_be_framed_by_shopify(client):
    response = client.get(
        f"/app/session-token-bounce?shop={SHOP}&shopify-reload=%2Fapp%2F%3Fshop%3D{SHOP}"
    )

    assert response.status_code == 200
    assert "app-bridge.js" in response.content.decode()
    assert (
        response["Content-Security-Policy"]
        == f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )
    assert "X-Frame-Options" not in response


def test_bounce_page_for_a_bad_shop_cannot_be_framed(client):
    response = client.get("/app/session-token-bounce?shop=evil.com&shopify-reload=%2Fapp%2F")

    assert response["Content-Security-Policy"] == "frame-ancestors 'none';"


def test_first_load_for_a_shop_without_a_token_answers_503_when_shopify_is_unreachable(client, db):
    from loyalty.shops.models import Shop

    response = client.get(
        "/app/", HTTP_AUTHORIZATION=f"Bearer {session_token('new-shop.myshopify.com')}"
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "network_error"
    assert not Shop.objects.exists()
