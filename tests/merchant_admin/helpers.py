"""Requests to the embedded admin as App Bridge makes them: a fresh session token (a JWT
signed with the app secret, as Shopify's admin issues it) in `Authorization: Bearer`."""

import time
import uuid

import jwt
from django.conf import settings


def session_token(shop_domain: str, *, user_id: str = "42", exp_in: int = 60) -> str:
    now = int(time.time())
    payload = {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": settings.SHOPIFY_API_KEY,
        "sub": user_id,
        "exp": now + exp_in,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
    }
    return jwt.encode(payload, settings.SHOPIFY_API_SECRET, algorithm="HS256")


def admin_get(client, path: str, shop, *, user_id: str = "42", **extra):
    """GET an admin page for `shop` (a Shop with a usable token) as a staff member."""
    return client.get(
        path, HTTP_AUTHORIZATION=f"Bearer {session_token(shop.domain, user_id=user_id)}", **extra
    )


def admin_post(client, path: str, shop, data=None, *, user_id: str = "42", **extra):
    """POST a form to an admin page for `shop` as a staff member."""
    return client.post(
        path,
        data or {},
        HTTP_AUTHORIZATION=f"Bearer {session_token(shop.domain, user_id=user_id)}",
        **extra,
    )
