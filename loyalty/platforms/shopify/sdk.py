"""Shopify's own packages, configured once for Setia.

- `shopifyapp` (`shopify_app.ShopifyApp`): verifies app-proxy, app-home (session token) and
  checkout-extension requests; token exchange and refresh; Admin GraphQL. (Webhook signatures
  are checked in `webhooks.signature_is_valid`: the SDK's check costs 30 times as much.)
- `ShopifyAPI` (`shopify.Session`): only the authorization-code grant's query hmac check and
  the authorize URL. Its class-level key/secret are set on a private subclass, never globally.

Every outbound call goes through `http_client()`: an explicit timeout, and in development and
tests a transport that sends `https://{shop}/...` to `SHOPIFY_API_ORIGIN` (the local stand-in)
with the same path, keeping the Host header so the stand-in can tell shops apart.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import shopify
from django.conf import settings
from django.http import HttpRequest
from shopify_app import ShopifyApp

SHOP_DOMAIN_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$")


def is_valid_shop_domain(value: str | None) -> bool:
    return bool(value) and len(value) <= 255 and SHOP_DOMAIN_RE.fullmatch(value) is not None


def shop_domain_from(shop: str | None) -> str:
    """`shopify_app` reports shops as the bare subdomain; Setia stores the full domain."""
    if not shop:
        return ""
    shop = shop.lower()
    return shop if shop.endswith(".myshopify.com") else f"{shop}.myshopify.com"


def shopify_app() -> ShopifyApp:
    return ShopifyApp(client_id=settings.SHOPIFY_API_KEY, client_secret=settings.SHOPIFY_API_SECRET)


def oauth_session_class() -> type[shopify.Session]:
    """A ShopifyAPI Session bound to our key and secret without touching its global class."""
    return type(
        "SetiaOAuthSession",
        (shopify.Session,),
        {"api_key": settings.SHOPIFY_API_KEY, "secret": settings.SHOPIFY_API_SECRET},
    )


class _RewriteOriginTransport(httpx.HTTPTransport):
    def __init__(self, origin: str, **kwargs):
        super().__init__(**kwargs)
        parts = httpx.URL(origin)
        self._scheme, self._host, self._port = parts.scheme, parts.host, parts.port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        return super().handle_request(request)


def http_client(*, timeout: float | None = None) -> httpx.Client:
    """A client for server-to-Shopify calls. Close it (use `with`)."""
    timeout = httpx.Timeout(timeout or settings.SHOPIFY_HTTP_TIMEOUT, connect=3.0)
    if settings.SHOPIFY_API_ORIGIN:
        transport = _RewriteOriginTransport(settings.SHOPIFY_API_ORIGIN)
        return httpx.Client(transport=transport, timeout=timeout)
    return httpx.Client(timeout=timeout)


def shopify_url(shop_domain: str, path: str) -> str:
    return f"https://{shop_domain}{path}"


def request_input(request: HttpRequest, *, body: str | None = None) -> dict:
    """Django request → the plain dict `shopify_app`'s verifiers take."""
    return {
        "method": request.method,
        "headers": dict(request.headers),
        "url": request.build_absolute_uri(),
        "body": body if body is not None else request.body.decode("utf-8"),
    }


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
