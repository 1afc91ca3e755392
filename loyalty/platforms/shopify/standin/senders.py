"""What Shopify sends *to* the app, over real HTTP and correctly signed.

Webhooks (base64 body HMAC), app proxy requests (hex signature, no separator), and the
authorization-code install dance driven like a browser. Each accepts an optional
``httpx.Client`` so tests can aim at a live server or an in-process WSGI transport.
"""

from __future__ import annotations

import json as jsonlib
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .signing import (
    SHOP_DOMAIN_RE,
    app_proxy_signature,
    host_param,
    sign_oauth_query,
    webhook_hmac,
)

SEND_TIMEOUT = 10.0
REDIRECT_CODES = (301, 302, 303, 307, 308)


class RewriteOriginTransport(httpx.HTTPTransport):
    """Send every request to ``origin``, keeping path, query and the ``Host: {shop}`` header.

    This is how the app reaches the stand-in (``SHOPIFY_API_ORIGIN``); tests use the same
    trick with shopify_app, whose URLs are always ``https://{shop}.myshopify.com/...``.
    """

    def __init__(self, origin: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._origin = httpx.URL(origin)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self._origin.scheme, host=self._origin.host, port=self._origin.port
        )
        return super().handle_request(request)


class AsyncRewriteOriginTransport(httpx.AsyncHTTPTransport):
    """The ``httpx.AsyncClient`` twin of :class:`RewriteOriginTransport`."""

    def __init__(self, origin: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._origin = httpx.URL(origin)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self._origin.scheme, host=self._origin.host, port=self._origin.port
        )
        return await super().handle_async_request(request)


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _send(client: httpx.Client | None, method: str, url: str, **kwargs: Any) -> httpx.Response:
    if client is not None:
        return client.request(method, url, follow_redirects=False, **kwargs)
    with httpx.Client(timeout=SEND_TIMEOUT) as own:
        return own.request(method, url, follow_redirects=False, **kwargs)


def send_webhook(
    api_secret: str,
    app_url: str,
    topic: str,
    shop_domain: str,
    payload: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    event_id: str | None = None,
    api_version: str = "2026-10",
    triggered_at: datetime | str | None = None,
    hmac_override: str | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST ``{app_url}/shopify/webhooks`` as Shopify does; the HMAC covers the exact bytes."""
    body = (
        payload
        if isinstance(payload, bytes)
        else jsonlib.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    )
    if isinstance(triggered_at, datetime):
        when = triggered_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    else:
        when = triggered_at or _iso_now()
    headers = {
        "Content-Type": "application/json",
        "Accept": "*/*",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_override or webhook_hmac(body, api_secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": when,
    }
    url = f"{app_url.rstrip('/')}/shopify/webhooks"
    return _send(client, "POST", url, content=body, headers=headers, timeout=SEND_TIMEOUT)


def proxy_params(
    api_secret: str,
    shop_domain: str,
    *,
    customer_id: int | str | None = None,
    extra_params: Mapping[str, str | int | Sequence[str | int]] | None = None,
    timestamp: int | None = None,
    path_prefix: str = "/apps/setia",
    tamper: bool = False,
) -> list[tuple[str, str]]:
    """The query Shopify appends to a proxied request, ``signature`` last."""
    pairs: list[tuple[str, str]] = []
    for key, value in (extra_params or {}).items():
        values = [value] if isinstance(value, str | int) else list(value)
        pairs.extend((key, str(v)) for v in values)
    customer = "" if customer_id is None else str(customer_id).rsplit("/", 1)[-1]
    pairs += [
        ("shop", shop_domain),
        ("logged_in_customer_id", customer),
        ("path_prefix", path_prefix),
        ("timestamp", str(int(time.time()) if timestamp is None else int(timestamp))),
    ]
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    signature = app_proxy_signature(grouped, api_secret)
    if tamper:  # one hex digit off: a forged or corrupted request
        signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    return [*pairs, ("signature", signature)]


def proxy_request(
    api_secret: str,
    app_url: str,
    path: str,
    shop_domain: str,
    *,
    customer_id: int | str | None = None,
    method: str = "GET",
    json: Any = None,
    extra_params: Mapping[str, str | int | Sequence[str | int]] | None = None,
    timestamp: int | None = None,
    tamper: bool = False,
    path_prefix: str = "/apps/setia",
    client: httpx.Client | None = None,
) -> httpx.Response:
    """Call ``{app_url}/shopify/proxy{path}`` the way Shopify's app proxy forwards it.

    Shopify strips cookies from proxied requests; when passing your own ``client``, use one
    without a cookie jar to stay faithful.
    """
    if not path.startswith("/") or "?" in path:
        raise ValueError("path must start with '/' and carry no query (use extra_params)")
    params = proxy_params(
        api_secret,
        shop_domain,
        customer_id=customer_id,
        extra_params=extra_params,
        timestamp=timestamp,
        path_prefix=path_prefix,
        tamper=tamper,
    )
    url = f"{app_url.rstrip('/')}/shopify/proxy{path}"
    headers = {"Accept": "application/json", "X-Forwarded-Host": shop_domain}
    return _send(
        client, method, url, params=params, json=json, headers=headers, timeout=SEND_TIMEOUT
    )


def install(
    api_secret: str,
    origin: str,
    app_url: str,
    shop_domain: str,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """Drive the authorization-code grant like a browser, keeping one cookie jar.

    1. GET ``{app_url}/shopify/install`` with a signed ``shop``/``host``/``timestamp``.
    2. If it redirects to ``.../admin/oauth/authorize``, send that to the stand-in (``Host`` is
       the shop), which auto-approves and redirects to the app's callback.
    3. GET the callback and return its response unfollowed. Any unexpected answer on the way is
       returned as is, so tests see where the flow stopped.
    """
    own = client is None
    browser = client or httpx.Client(timeout=SEND_TIMEOUT)
    try:
        query = sign_oauth_query(
            {
                "host": host_param(shop_domain),
                "shop": shop_domain,
                "timestamp": str(int(time.time())),
            },
            api_secret,
        )
        install_url = f"{app_url.rstrip('/')}/shopify/install"
        first = browser.get(install_url, params=query, follow_redirects=False)
        if first.status_code not in REDIRECT_CODES:
            return first
        authorize = urlsplit(urljoin(str(first.url), first.headers["location"]))
        if authorize.path != "/admin/oauth/authorize":
            return first
        headers = {}
        if authorize.hostname and SHOP_DOMAIN_RE.match(authorize.hostname):
            headers["Host"] = authorize.hostname
        second = browser.get(
            f"{origin}{authorize.path}?{authorize.query}",
            headers=headers,
            follow_redirects=False,
        )
        if second.status_code not in REDIRECT_CODES:
            return second
        return browser.get(second.headers["location"], follow_redirects=False)
    finally:
        if own:
            browser.close()
