"""Demo pages for development (`make run`): what a merchant and a shopper would open on Shopify.

- `GET /admin/apps/{api_key}?shop=` is the Shopify admin framing the embedded app, with a fresh
  session token on every load (as App Bridge would supply).
- `GET|POST /apps/setia/{path}?shop=&customer=` is the storefront's app proxy: it signs the
  request the way Shopify does and forwards it to `{app_url}/shopify/proxy/{path}`. `customer`
  stands for the logged-in customer (empty for a guest).

Only active once `StandIn.app_url` is set.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from . import senders
from .signing import SHOP_DOMAIN_RE
from .wire import Request, Response

if TYPE_CHECKING:
    from .core import StandIn

PROXY_PREFIX = "/apps/setia/"


def handles(req: Request) -> bool:
    return req.path.startswith(("/admin/apps/", PROXY_PREFIX))


def handle(standin: StandIn, req: Request) -> Response:
    app_url = getattr(standin, "app_url", None)
    if not app_url:
        return Response.text(404, "demo pages need StandIn.app_url")
    shop = (req.arg("shop") or "").lower()
    if not SHOP_DOMAIN_RE.match(shop) or shop not in standin.store.shops:
        return Response.text(404, f"unknown shop {shop!r}: pass ?shop=<a shop of this stand-in>")
    if req.path.startswith("/admin/apps/"):
        return _admin_frame(standin, app_url, shop)
    return _app_proxy(standin, app_url, shop, req)


def _admin_frame(standin: StandIn, app_url: str, shop: str) -> Response:
    host = base64.urlsafe_b64encode(
        f"admin.shopify.com/store/{shop.split('.')[0]}".encode()
    ).decode()
    query = urlencode(
        {"shop": shop, "host": host, "embedded": "1", "id_token": standin.session_token(shop)}
    )
    src = html.escape(f"{app_url.rstrip('/')}/app/?{query}")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopify admin (local stand-in)</title>
<style>body{{margin:0;font-family:system-ui,sans-serif;background:#f1f1f1}}
header{{background:#1a1a1a;color:#fff;padding:.6rem 1rem;font-size:.9rem}}
iframe{{border:0;width:100%;height:calc(100vh - 2.4rem);background:#fff}}</style></head>
<body><header>Shopify admin &middot; {html.escape(shop)} &middot; local stand-in</header>
<iframe src="{src}" title="Setia"></iframe></body></html>"""
    return Response.text(200, page, content_type="text/html")


def _app_proxy(standin: StandIn, app_url: str, shop: str, req: Request) -> Response:
    path = "/" + req.path[len(PROXY_PREFIX) :]
    extra = {k: v for k, v in req.query_lists.items() if k not in ("shop", "customer")}
    forwarded = senders.proxy_request(
        standin.api_secret,
        app_url,
        path,
        shop,
        customer_id=req.arg("customer") or None,
        method=req.method,
        json=req.json() if req.method == "POST" else None,
        extra_params=extra,
    )
    content_type = forwarded.headers.get("content-type", "application/json")
    return Response(forwarded.status_code, forwarded.content, {"Content-Type": content_type})
