"""Shopify's signing schemes, written once so the stand-in and its senders agree with Shopify.

Three different schemes exist and they are easy to mix up, which is exactly the class of bug the
stand-in must catch rather than mirror:

* OAuth / install / callback query: params minus ``hmac``, sorted, ``k=v`` joined with ``&``,
  HMAC-SHA256, **hex** (escaping as ShopifyAPI's ``Session.calculate_hmac`` does it).
* App proxy query: params minus ``signature``, sorted, ``k=v`` (repeated keys joined with ``,``)
  concatenated with **no separator**, HMAC-SHA256, **hex**.
* Webhooks: HMAC-SHA256 of the **raw body**, **base64**.

Session tokens (App Bridge and checkout UI extensions) are HS256 JWTs signed with the app secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

SHOP_DOMAIN_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$")

QueryValue = str | int | Sequence[str | int]


def _hex_hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def oauth_message(params: Mapping[str, QueryValue]) -> str:
    """The string Shopify signs for OAuth-style queries (install, callback).

    Mirrors ShopifyAPI: ``%`` and ``&`` are escaped so a value cannot forge a separator, and
    ``key[]`` list params are rendered as a JSON list under ``key``.
    """
    pairs = []
    for key, value in params.items():
        if key == "hmac":
            continue
        if key.endswith("[]"):
            key = key.rstrip("[]")
            items = [value] if isinstance(value, str | int) else list(value)
            value = json.dumps([str(v) for v in items])
        elif not isinstance(value, str | int):
            value = ",".join(str(v) for v in value)
        k = str(key).replace("%", "%25").replace("=", "%3D")
        v = str(value).replace("%", "%25")
        pairs.append(f"{k}={v}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def oauth_hmac(params: Mapping[str, QueryValue], secret: str) -> str:
    """Hex HMAC-SHA256 of :func:`oauth_message`."""
    return _hex_hmac(secret, oauth_message(params))


def sign_oauth_query(params: Mapping[str, QueryValue], secret: str) -> dict[str, Any]:
    """Return a copy of ``params`` with ``hmac`` set (any existing ``hmac`` is replaced)."""
    out: dict[str, Any] = {k: v for k, v in params.items() if k != "hmac"}
    out["hmac"] = oauth_hmac(out, secret)
    return out


def app_proxy_message(params: Mapping[str, QueryValue]) -> str:
    """The string Shopify signs for app proxy requests (no separator between pairs)."""
    parts = []
    for key in sorted(k for k in params if k != "signature"):
        value = params[key]
        rendered = value if isinstance(value, str | int) else ",".join(str(v) for v in value)
        parts.append(f"{key}={rendered}")
    return "".join(parts)


def app_proxy_signature(params: Mapping[str, QueryValue], secret: str) -> str:
    """Hex HMAC-SHA256 of :func:`app_proxy_message`."""
    return _hex_hmac(secret, app_proxy_message(params))


def webhook_hmac(body: bytes, secret: str) -> str:
    """Base64 HMAC-SHA256 of the raw webhook body (``X-Shopify-Hmac-Sha256``)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def host_param(shop_domain: str) -> str:
    """Shopify's ``host`` query param: base64url of ``admin.shopify.com/store/{name}``."""
    name = shop_domain.removesuffix(".myshopify.com")
    raw = f"admin.shopify.com/store/{name}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def customer_gid(customer_id: int | str) -> str:
    """Normalise a numeric id or a GID to ``gid://shopify/Customer/N``."""
    text = str(customer_id)
    return text if text.startswith("gid://") else f"gid://shopify/Customer/{text}"


def encode_jwt(claims: Mapping[str, Any], secret: str) -> str:
    """HS256, as App Bridge and UI extensions sign session tokens. ``None`` claims are dropped."""
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def session_token_claims(
    shop_domain: str,
    api_key: str,
    user_id: str = "1",
    exp_seconds: int = 60,
    now: float | None = None,
) -> dict[str, Any]:
    """Claims of an App Bridge (embedded admin) session token."""
    issued = int(time.time() if now is None else now)
    return {
        "iss": f"https://{shop_domain}/admin",
        "dest": f"https://{shop_domain}",
        "aud": api_key,
        "sub": str(user_id),
        "exp": issued + exp_seconds,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": secrets.token_hex(16),
    }


def checkout_token_claims(
    shop_domain: str,
    api_key: str,
    customer_id: int | str | None = None,
    exp_seconds: int = 300,
    now: float | None = None,
) -> dict[str, Any]:
    """Checkout UI extension token claims: ``dest`` has no scheme, ``sub`` only if logged in."""
    issued = int(time.time() if now is None else now)
    return {
        "dest": shop_domain,
        "aud": api_key,
        "exp": issued + exp_seconds,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sub": customer_gid(customer_id) if customer_id is not None else None,
    }


def decode_session_token(
    token: str, *, api_key: str, secret: str, now: float | None = None, leeway: int = 10
) -> dict[str, Any]:
    """Verify a session token like Shopify's token endpoint: HS256, ``aud``, ``exp``/``nbf``.

    Raises ``jwt.InvalidTokenError`` (or a subclass) on any failure.
    """
    options: dict[str, Any] = {"require": ["exp", "nbf", "aud", "dest"]}
    if now is not None:
        # PyJWT has no clock parameter; check time claims ourselves against the injected clock.
        options.update(verify_exp=False, verify_nbf=False)
    claims = jwt.decode(
        token, secret, algorithms=["HS256"], audience=api_key, leeway=leeway, options=options
    )
    if now is not None:
        if int(claims["exp"]) + leeway < now:
            raise jwt.ExpiredSignatureError("Signature has expired")
        if int(claims["nbf"]) - leeway > now:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    return claims
