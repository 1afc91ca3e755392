"""The three signing schemes, checked against Shopify's published vectors and its packages."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode

import shopify
from shopify_app import ShopifyApp

from loyalty.platforms.shopify.standin import StandIn
from loyalty.platforms.shopify.standin.signing import (
    app_proxy_signature,
    oauth_hmac,
    webhook_hmac,
)

OAUTH_VECTOR_MESSAGE = (
    "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com"
    "&state=0.6784241404160823&timestamp=1337178173"
)
OAUTH_VECTOR_HMAC = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
PROXY_VECTOR_QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
    "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
)
PROXY_VECTOR_SIGNATURE = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"


class _HushSession(shopify.Session):
    secret = "hush"


def test_oauth_hmac_matches_the_published_vector():
    # given Shopify's published OAuth example, signed with the secret "hush"
    standin = StandIn(api_key="key", api_secret="hush")
    params = dict(parse_qsl(OAUTH_VECTOR_MESSAGE))

    # when the stand-in signs it
    signed = standin.sign_oauth_query(params)

    # then the hex digest is Shopify's, and ShopifyAPI accepts it
    assert signed["hmac"] == OAUTH_VECTOR_HMAC
    assert {k: v for k, v in signed.items() if k != "hmac"} == params
    assert _HushSession.validate_hmac(signed) is True


def test_oauth_hmac_escapes_separators_like_shopifyapi():
    # given params whose values contain the separators & and % and a key with =
    params = {"shop": "a-shop.myshopify.com", "state": "x&y=1%", "we=ird": "v", "timestamp": "1"}

    # when signed by the stand-in, then ShopifyAPI computes the same digest
    assert oauth_hmac(params, "hush") == _HushSession.calculate_hmac(params)


def test_app_proxy_signature_matches_the_published_vector():
    # given Shopify's published app proxy query (repeated key "extra")
    pairs = parse_qsl(PROXY_VECTOR_QUERY)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)

    # when signed, then the digest is Shopify's
    assert app_proxy_signature(grouped, "hush") == PROXY_VECTOR_SIGNATURE


def test_app_proxy_signature_of_fresh_params_passes_shopify_app():
    # given the vector's params with a current timestamp (the package rejects old ones)
    grouped = {
        "extra": ["1", "2"],
        "shop": ["shop-name.myshopify.com"],
        "logged_in_customer_id": ["1"],
        "path_prefix": ["/apps/awesome_reviews"],
        "timestamp": [str(int(time.time()))],
    }
    signature = app_proxy_signature(grouped, "hush")
    query = urlencode([(k, v) for k, vs in grouped.items() for v in vs])

    # when shopify_app verifies the request
    result = ShopifyApp(client_id="cid", client_secret="hush").verify_app_proxy_req(
        {
            "method": "GET",
            "headers": {},
            "url": f"https://app.example/p?{query}&signature={signature}",
            "body": "",
        }
    )

    # then it is accepted with the shop and customer Shopify would give
    assert (result.ok, result.log.code) == (True, "verified")
    assert (result.shop, result.logged_in_customer_id) == ("shop-name", "1")


def test_webhook_hmac_is_base64_of_the_raw_body():
    # given a raw body and a secret
    body = b'{"id":1,"note":"caf\xc3\xa9"}'

    # when signed, then it is the base64 digest shopify_app verifies
    digest = webhook_hmac(body, "hush")
    result = ShopifyApp(client_id="cid", client_secret="hush").verify_webhook_req(
        {
            "method": "POST",
            "headers": {
                "X-Shopify-Hmac-Sha256": digest,
                "X-Shopify-Shop-Domain": "s.myshopify.com",
            },
            "url": "https://app.example/shopify/webhooks",
            "body": body.decode(),
        }
    )
    assert digest == "foEjqc88nIdg5LAnXXzRsDrJnpNZJKbyPLSa9+F3LXU="
    assert (result.ok, result.shop) == (True, "s")
