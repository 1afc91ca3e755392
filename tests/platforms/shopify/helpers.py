"""Signing like Shopify does, for requests made through Django's test client."""

import base64
import hashlib
import hmac
import json
import time
import uuid

from django.conf import settings

SHOP = "aisyah-batik.myshopify.com"


def webhook_hmac(body: bytes, secret: str | None = None) -> str:
    secret = secret or settings.SHOPIFY_API_SECRET
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_webhook(
    client,
    topic,
    payload,
    *,
    shop=SHOP,
    webhook_id=None,
    hmac_value=None,
    triggered_at="2026-11-20T10:00:00Z",
    event_id=None,
    raw=None,
):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": shop,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id or str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_EVENT_ID": event_id or str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_API_VERSION": "2026-10",
        "HTTP_X_SHOPIFY_TRIGGERED_AT": triggered_at,
    }
    if hmac_value is not False:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = (
            webhook_hmac(body) if hmac_value is None else hmac_value
        )
    return client.post("/shopify/webhooks", data=body, content_type="application/json", **headers)


def oauth_hmac(params: dict, secret: str | None = None) -> str:
    secret = secret or settings.SHOPIFY_API_SECRET
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_oauth_query(**params) -> dict:
    params.setdefault("timestamp", str(int(time.time())))
    return {**params, "hmac": oauth_hmac(params)}


def proxy_signature(params: list[tuple[str, str]], secret: str | None = None) -> str:
    secret = secret or settings.SHOPIFY_API_SECRET
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key != "signature":
            grouped.setdefault(key, []).append(value)
    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def proxy_query(*, shop=SHOP, customer_id="", timestamp=None, **extra) -> dict:
    params = {
        **extra,
        "shop": shop,
        "logged_in_customer_id": customer_id,
        "path_prefix": "/apps/setia",
        "timestamp": str(timestamp or int(time.time())),
    }
    return {**params, "signature": proxy_signature(list(params.items()))}


def order_payload(
    order_id=820982911946154508, customer_id=115310627314723954, email="aisyah@example.com"
):
    customer = None
    if customer_id is not None:
        customer = {
            "id": customer_id,
            "email": email,
            "first_name": "Aisyah",
            "last_name": "Rahman",
            "email_marketing_consent": {"state": "subscribed"},
            "tags": "vip, batik",
        }
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": "#1001",
        "email": email,
        "currency": "MYR",
        "presentment_currency": "MYR",
        "financial_status": "paid",
        "source_name": "web",
        "test": False,
        "created_at": "2026-11-20T17:59:00+08:00",
        "cancelled_at": None,
        "subtotal_price": "180.00",
        "subtotal_price_set": {
            "shop_money": {"amount": "180.00", "currency_code": "MYR"},
            "presentment_money": {"amount": "180.00", "currency_code": "MYR"},
        },
        "current_subtotal_price": "180.00",
        "total_discounts": "20.00",
        "total_tax": "10.80",
        "total_shipping_price_set": {
            "shop_money": {"amount": "8.00", "currency_code": "MYR"},
            "presentment_money": {"amount": "8.00", "currency_code": "MYR"},
        },
        "discount_codes": [{"code": "RAYA20", "amount": "20.00", "type": "fixed_amount"}],
        "line_items": [
            {
                "id": 466157049,
                "product_id": 632910392,
                "variant_id": 39072856,
                "sku": "BATIK-S",
                "price": "100.00",
                "quantity": 2,
                "current_quantity": 2,
                "total_discount": "20.00",
                "discount_allocations": [{"amount": "20.00"}],
                "gift_card": False,
            },
        ],
        "customer": customer,
        "refunds": [],
    }
