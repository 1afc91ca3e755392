"""Webhooks, app proxy calls and the install flow, sent over HTTP to a tiny local app."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import shopify

from loyalty.platforms.shopify.standin import payloads

from .conftest import API_KEY, API_SECRET, API_VERSION, SHOP, Received, Reply, json_reply

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def verifying_app(receiver, shopify_app):
    """An app that answers with shopify_app's verdict on webhooks and proxy calls."""

    def respond(req: Received) -> Reply:
        if req.path == "/shopify/webhooks":
            result = shopify_app.verify_webhook_req(req.as_shopify_request())
        else:
            result = shopify_app.verify_app_proxy_req(req.as_shopify_request())
        verdict: dict[str, Any] = {"code": result.log.code, "shop": result.shop}
        if hasattr(result, "logged_in_customer_id"):
            verdict["customer"] = result.logged_in_customer_id
        verdict["body"] = req.body.decode()
        return json_reply(result.response.status, verdict)

    receiver.respond = respond
    return receiver


def test_send_webhook_is_signed_like_shopify(standin, verifying_app):
    # given an orders/paid payload
    order = payloads.order_payload(order_id=820982911946154508, customer_id=7001, currency="MYR")

    # when it is delivered with fixed ids
    response = standin.send_webhook(
        verifying_app.url,
        "orders/paid",
        SHOP,
        order,
        webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        event_id="2d4f2b2e-3a43-4b21-8f1c-1b1f2d0b0a11",
        triggered_at="2026-11-27T10:00:00.000000Z",
    )

    # then shopify_app verifies it and every Shopify header is there
    received = verifying_app.received[0]
    assert response.status_code == 200
    assert response.json()["code"] == "verified"
    assert response.json()["shop"] == "demo-shop"
    assert (received.method, received.path) == ("POST", "/shopify/webhooks")
    assert {k: v for k, v in received.headers.items() if k.startswith("X-Shopify")} == {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": received.headers["X-Shopify-Hmac-Sha256"],
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Event-Id": "2d4f2b2e-3a43-4b21-8f1c-1b1f2d0b0a11",
        "X-Shopify-Triggered-At": "2026-11-27T10:00:00.000000Z",
    }
    assert received.headers["Content-Type"] == "application/json"
    assert json.loads(received.body) == order


def test_send_webhook_defaults_and_a_forged_hmac(standin, verifying_app):
    # when two deliveries use the defaults and a third carries a forged HMAC
    first = standin.send_webhook(verifying_app.url, "shop/redact", SHOP, b'{"shop_id":1}')
    second = standin.send_webhook(verifying_app.url, "shop/redact", SHOP, b'{"shop_id":1}')
    forged = standin.send_webhook(
        verifying_app.url, "shop/redact", SHOP, b'{"shop_id":1}', hmac_override="Zm9yZ2Vk"
    )

    # then ids are fresh uuid4s, the time is ISO 8601, and the forgery is a 401
    ids = [r.headers["X-Shopify-Webhook-Id"] for r in verifying_app.received[:2]]
    assert [first.status_code, second.status_code, forged.status_code] == [200, 200, 401]
    assert forged.json()["code"] == "invalid_hmac"
    assert ids[0] != ids[1]
    assert all(uuid.UUID(i).version == 4 for i in ids)
    stamp = verifying_app.received[0].headers["X-Shopify-Triggered-At"]
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None


def test_proxy_request_is_signed_like_the_app_proxy(standin, verifying_app):
    # when a logged-in customer's storefront calls the app through the proxy
    response = standin.proxy_request(
        verifying_app.url,
        "/api/state",
        SHOP,
        customer_id=7001,
        extra_params={"locale": "ms", "ids": ["1", "2"]},
    )

    # then shopify_app verifies it and sees the shop and the customer
    received = verifying_app.received[0]
    query = parse_qsl(received.query, keep_blank_values=True)
    assert response.json()["code"] == "verified"
    assert (response.json()["shop"], response.json()["customer"]) == ("demo-shop", "7001")
    assert (received.method, received.path) == ("GET", "/shopify/proxy/api/state")
    assert [k for k, _ in query] == [
        "locale", "ids", "ids", "shop", "logged_in_customer_id", "path_prefix", "timestamp",
        "signature",
    ]  # fmt: skip
    assert dict(query)["path_prefix"] == "/apps/setia"


def test_proxy_request_post_guest_and_tampered(standin, verifying_app):
    # when a guest posts a redemption, and a tampered request is sent
    posted = standin.proxy_request(
        verifying_app.url,
        "/api/redeem",
        SHOP,
        method="POST",
        json={"reward_id": "r1", "idempotency_key": "k1"},
    )
    tampered = standin.proxy_request(
        verifying_app.url, "/api/state", SHOP, customer_id=1, tamper=True
    )

    # then the guest has an empty customer id and the body arrives; the tampered one is 401
    assert posted.json()["code"] == "verified"
    assert posted.json()["customer"] == ""
    assert json.loads(posted.json()["body"]) == {"reward_id": "r1", "idempotency_key": "k1"}
    assert verifying_app.received[0].method == "POST"
    assert (tampered.status_code, tampered.json()["code"]) == (401, "invalid_signature")


class _AppSession(shopify.Session):
    api_key = API_KEY
    secret = API_SECRET


def _fake_app(standin, receiver, tokens: dict[str, Any]):
    """Install and callback views as the Django side will write them, with ShopifyAPI."""

    def respond(req: Received) -> Reply:
        params = dict(parse_qsl(req.query))
        if req.path == "/shopify/install":
            if not _AppSession.validate_params(params):
                return 401, {}, b"bad hmac"
            url = _AppSession(params["shop"], API_VERSION).create_permission_url(
                scope=["read_orders", "write_discounts"],
                redirect_uri=f"{receiver.url}/shopify/callback",
                state="nonce-123",
            )
            cookie = "setia_oauth_state=nonce-123; Path=/; HttpOnly"
            return 302, {"Location": url, "Set-Cookie": cookie}, b""
        if req.path == "/shopify/callback":
            state_ok = f"setia_oauth_state={params.get('state')}" in req.headers.get("Cookie", "")
            if not (state_ok and _AppSession.validate_params(params)):
                return 403, {}, b"bad state or hmac"
            with standin.client() as client:
                answer = client.post(
                    f"https://{params['shop']}/admin/oauth/access_token",
                    json={
                        "client_id": API_KEY,
                        "client_secret": API_SECRET,
                        "code": params["code"],
                        "expiring": 1,
                    },
                )
            tokens[params["shop"]] = answer.json()
            return 302, {"Location": "/app?shop=" + params["shop"]}, b""
        return 404, {}, b""

    return respond


def test_install_drives_the_authorization_code_grant(standin, receiver):
    # given an app with install and callback views
    tokens: dict[str, Any] = {}
    receiver.respond = _fake_app(standin, receiver, tokens)

    # when the stand-in installs it like a merchant's browser
    with httpx.Client(timeout=5) as browser:
        final = standin.install(receiver.url, SHOP, client=browser)

    # then the callback's own redirect is returned unfollowed and the app holds a token
    assert final.status_code == 302
    assert final.headers["location"] == f"/app?shop={SHOP}"
    assert [r.path for r in receiver.received] == ["/shopify/install", "/shopify/callback"]
    assert tokens[SHOP]["scope"] == "read_orders,write_discounts"
    assert tokens[SHOP]["expires_in"] == 3599
    assert [(r.target, r.status, r.shop) for r in standin.requests] == [
        ("authorize", 302, SHOP),
        ("token", 200, SHOP),
    ]


def test_install_returns_the_first_unexpected_answer(standin, receiver):
    # given an app that refuses the install request
    receiver.respond = lambda req: (400, {}, b"no")

    # when installing, then that answer comes back and nothing reached the stand-in
    response = standin.install(receiver.url, SHOP)
    assert (response.status_code, response.text) == (400, "no")
    assert standin.requests == []


def test_uninstall_revokes_and_notifies_the_app(standin, verifying_app, token):
    # when the merchant uninstalls
    response = standin.uninstall(SHOP, app_url=verifying_app.url)

    # then app/uninstalled arrives, signed, with the shop resource
    received = verifying_app.received[0]
    body = json.loads(received.body)
    assert response.status_code == 200
    assert received.headers["X-Shopify-Topic"] == "app/uninstalled"
    assert (body["myshopify_domain"], body["currency"], body["name"]) == (SHOP, "MYR", "Demo Shop")
    assert standin.store.authenticate(token["access_token"], None) is None
