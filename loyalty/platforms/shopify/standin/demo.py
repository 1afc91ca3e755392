"""Demo pages for development (`make run`): what a merchant and a shopper would open on Shopify.

- `GET /admin/apps/{api_key}?shop=` is the Shopify admin framing the embedded app, with a fresh
  session token on every load (as App Bridge would supply).
- `GET|POST /apps/setia/{path}?shop=&customer=` is the storefront's app proxy: it signs the
  request the way Shopify does and forwards it to `{app_url}/shopify/proxy/{path}`. `customer`
  stands for the logged-in customer (empty for a guest). Without them in the query, the shop and
  customer of the storefront session cookie are used, as Shopify knows them from its own.
- `GET /storefront?shop=&customer=&locale=` is a product page of the shop's storefront with the
  widget embedded as the theme app extension embeds it (its defaults: `/apps/setia/api/...`);
  it sets the storefront session cookie (`customer` empty: a guest; absent: the session's).
- `GET /storefront/account` is the account page with the theme extension's balance block.
- `POST /storefront/cart` adds the product to the cart (a cookie); `GET /storefront/cart` shows
  it; `POST /storefront/checkout` places the order: the stand-in keeps it and sends the app a
  signed `orders/paid` webhook for the signed-in customer, then shows the product page again,
  where the launcher's balance has the new points. `widget=0`: the pages without the widget.
- `GET /cdn/setia/{file}.js` serves the built widget (`{app_url}/static/setia/`) from the
  storefront's side, as Shopify's CDN serves a theme app extension's assets.

Only active once `StandIn.app_url` is set.
"""

from __future__ import annotations

import base64
import html
import json
import re
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import httpx

from . import app_bridge, payloads, senders
from .signing import SHOP_DOMAIN_RE
from .wire import Request, Response

if TYPE_CHECKING:
    from .core import StandIn

PROXY_PREFIX = "/apps/setia/"
STOREFRONT = "/storefront"
CART = "/storefront/cart"
CHECKOUT = "/storefront/checkout"
ACCOUNT = "/storefront/account"
# The theme app extension whose blocks the demo pages render as Shopify would.
THEME_EXTENSION = (
    Path(__file__).resolve().parents[4] / "storefront_widget" / "extensions" / "setia-theme"
)
CART_COOKIE = "standin_cart"  # the quantity of the demo product in the cart
# The demo storefront's one product, as a theme would know it.
PRODUCT = {
    "product_id": 7001,
    "variant_id": 70011,
    "title": "Batik sarong",
    "variant_title": None,
    "sku": "BATIK-SARONG",
    "price": "120.00",
}
ASSETS_PREFIX = "/cdn/setia/"
SESSION_COOKIE = "standin_storefront"  # "{shop} {customer id or nothing}"
ASSET_RE = re.compile(r"^[A-Za-z0-9_-]+\.js$")
LOCALES = ("en", "ms", "ar", "th")


def handles(req: Request) -> bool:
    return req.path.startswith(("/admin/apps/", PROXY_PREFIX, ASSETS_PREFIX)) or (
        req.path in (STOREFRONT, CART, CHECKOUT, ACCOUNT)
    )


def handle(standin: StandIn, req: Request) -> Response:
    if req.path == app_bridge.SCRIPT_PATH:
        return app_bridge.script_response()
    app_url = getattr(standin, "app_url", None)
    if not app_url:
        return Response.text(404, "demo pages need StandIn.app_url")
    if req.path.startswith(ASSETS_PREFIX):
        return _asset(app_url, req.path[len(ASSETS_PREFIX) :])
    session_shop, session_customer = _session(req)
    shop = (req.arg("shop") or session_shop or "").lower()
    if not SHOP_DOMAIN_RE.match(shop) or shop not in standin.store.shops:
        return Response.text(404, f"unknown shop {shop!r}: pass ?shop=<a shop of this stand-in>")
    if req.path.startswith("/admin/apps/"):
        return _admin_frame(standin, app_url, shop, req)
    if req.path in (STOREFRONT, CART, CHECKOUT, ACCOUNT):
        customer = req.arg("customer") if "customer" in req.query_lists else session_customer
        return _shop_page(standin, app_url, shop, customer or "", req)
    customer = req.arg("customer") if "customer" in req.query_lists else session_customer
    return _app_proxy(standin, app_url, shop, customer, req)


def _session(req: Request) -> tuple[str | None, str | None]:
    cookie = SimpleCookie()
    try:
        cookie.load(req.header("cookie") or "")
    except Exception:  # a malformed cookie header is no session
        return None, None
    if SESSION_COOKIE not in cookie:
        return None, None
    shop, _, customer = unquote(cookie[SESSION_COOKIE].value).partition(" ")
    return shop, customer or None


def _asset(app_url: str, name: str) -> Response:
    if not ASSET_RE.match(name):
        return Response.text(404, "no such asset")
    fetched = httpx.get(f"{app_url.rstrip('/')}/static/setia/{name}", timeout=10)
    if fetched.status_code != 200:
        return Response.text(404, "no such asset: is the widget built? (make widget)")
    return Response(
        200,
        fetched.content,
        {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"},
    )


def _cart_quantity(req: Request) -> int:
    cookie = SimpleCookie()
    try:
        cookie.load(req.header("cookie") or "")
    except Exception:  # a malformed cookie header is an empty cart
        return 0
    raw = cookie[CART_COOKIE].value if CART_COOKIE in cookie else "0"
    return min(int(raw), 99) if raw.isdigit() else 0


def _see_other(location: str, cookie: str | None = None) -> Response:
    headers = {"Location": location}
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(303, b"", headers)


def _shop_page(standin: StandIn, app_url: str, shop: str, customer: str, req: Request) -> Response:
    locale = req.arg("locale") if req.arg("locale") in LOCALES else "en"
    quantity = _cart_quantity(req)
    back = f"?{urlencode({'shop': shop, 'locale': locale})}"
    if req.method == "POST" and req.path == CART:
        quantity = min(quantity + 1, 99)
        return _see_other(f"{CART}{back}", f"{CART_COOKIE}={quantity}; Path=/; SameSite=Lax")
    if req.method == "POST" and req.path == CHECKOUT:
        if not quantity:
            return _see_other(f"{CART}{back}")
        order = place_order(standin, app_url, shop, customer or None, quantity)
        return _see_other(
            f"{STOREFRONT}{back}&{urlencode({'ordered': order['name']})}",
            f"{CART_COOKIE}=0; Path=/; SameSite=Lax",
        )
    if req.method != "GET":
        return Response.text(405, "method not allowed")
    currency = standin.shop(shop).currency
    # `widget=0`: the same page without the theme extension's blocks (the Lighthouse baseline).
    without_widget = req.arg("widget") == "0"
    launcher = f"""<setia-launcher data-locale="{locale}"></setia-launcher>
<script src="{ASSETS_PREFIX}setia-launcher.js" type="module" defer fetchpriority="low"></script>"""
    who = f"customer {html.escape(customer)}" if customer else "a guest"
    if req.path == ACCOUNT:
        title = "Your account"
        body = "<h1>Your account</h1>" + (
            _account_points_block(locale)
            if customer and not without_widget
            else ("<p>Signed in.</p>" if customer else "<p>Sign in to see your account.</p>")
        )
    elif req.path == CART:
        total = f"{Decimal(PRODUCT['price']) * quantity:.2f}"
        title = "Your cart"
        body = (
            f"""<h1>Your cart</h1><table class="cart-lines"><tr><td>{PRODUCT["title"]}</td>
<td>&times; <span data-quantity>{quantity}</span></td><td>{currency} {total}</td></tr></table>
<form method="post" action="{CHECKOUT}{back}"><button class="cart" type="submit">Place order
</button></form>"""
            if quantity
            else "<h1>Your cart</h1><p>Your cart is empty.</p>"
        )
    else:
        ordered = req.arg("ordered")
        title = PRODUCT["title"]
        notice = (
            f'<p class="notice" role="status">Thank you! Order {html.escape(ordered)} is placed.'
            "</p>"
            if ordered
            else ""
        )
        body = f"""{notice}<h1>{PRODUCT["title"]}</h1>
<p class="price">{currency} {PRODUCT["price"]}</p>
{"" if without_widget else _product_points_block(locale)}
<p>Hand-drawn batik from Terengganu, 2 metres of cotton.</p>
<form method="post" action="{CART}{back}"><button class="cart" type="submit">Add to cart
</button></form>"""
    page = f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>{title} &middot; {html.escape(shop)}</title>
<style>body{{margin:0;font-family:Georgia,serif;color:#222;background:#faf7f2}}
header{{padding:1rem 2rem;border-bottom:1px solid #ddd;display:flex;gap:1rem;flex-wrap:wrap}}
main{{max-width:48rem;margin:2rem auto;padding:0 1rem}}.price{{font-size:1.4rem}}
button.cart{{padding:.8rem 2rem}}.notice{{background:#e7f3ea;padding:.8rem 1rem}}
td{{padding:.4rem 1rem .4rem 0}}</style></head>
<body><header><span>{html.escape(shop)} &middot; local stand-in storefront &middot; signed in as
{who}</span><a href="{STOREFRONT}{back}">Product</a>
<a href="{CART}{back}">Cart (<span data-cart-count>{quantity}</span>)</a>
<a href="{ACCOUNT}{back}">Account</a></header>
<main>{body}</main>
{"" if without_widget else launcher}
</body></html>"""
    session = quote(f"{shop} {customer}")
    return Response.text(
        200,
        page,
        content_type="text/html",
        headers={"Set-Cookie": f"{SESSION_COOKIE}={session}; Path=/; SameSite=Lax"},
    )


def _theme_words(locale: str) -> dict:
    """The theme extension's storefront texts in `locale` (English when it has none)."""
    locales = THEME_EXTENSION / "locales"
    try:
        words = json.loads((locales / f"{locale}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        words = json.loads((locales / "en.default.json").read_text(encoding="utf-8"))
    return words["blocks"]


def _product_points_block(locale: str) -> str:
    """The theme extension's product-page block (blocks/product-points.liquid) as Liquid renders
    it for the demo product."""
    text = html.escape(_theme_words(locale)["product_points"]["text"])
    cents = int(Decimal(PRODUCT["price"]) * 100)
    return f"""<setia-points class="setia-points" data-mode="earn" data-price-cents="{cents}"
 data-product-id="{PRODUCT["product_id"]}" data-sku="{PRODUCT["sku"]}" data-locale="{locale}"
 data-text="{text}" style="display:block;min-height:1.5em;color:#1f4f46"></setia-points>
<script src="{ASSETS_PREFIX}setia-points.js" defer></script>"""


def _account_points_block(locale: str) -> str:
    """The theme extension's account-page block (blocks/account-points.liquid), signed in."""
    words = _theme_words(locale)["account_points"]
    return f"""<setia-points class="setia-points" data-mode="balance" data-locale="{locale}"
 data-text="{html.escape(words["text"])}" data-action="{html.escape(words["open"])}"
 style="display:block;min-height:2.75em"></setia-points>
<script src="{ASSETS_PREFIX}setia-points.js" defer></script>"""


def place_order(
    standin: StandIn, app_url: str, shop: str, customer: str | None, quantity: int
) -> dict[str, Any]:
    """A paid order of the demo product: kept by the stand-in (the Admin API sees it) and sent
    to the app as a signed `orders/paid` webhook, as Shopify would after checkout."""
    state = standin.shop(shop)
    known = state.customers.get(int(customer)) if customer and customer.isdigit() else None
    fields = (
        {"email": known.email, "first_name": known.first_name, "last_name": known.last_name}
        if known is not None
        else None
    )
    order = payloads.order_payload(
        customer_id=int(customer) if customer and customer.isdigit() else None,
        customer=fields,
        email=known.email if known is not None else None,
        line_items=[{**PRODUCT, "quantity": quantity}],
        currency=state.currency,
        shop_domain=shop,
    )
    kept = standin.add_order(shop, order)
    senders.send_webhook(standin.api_secret, app_url, "orders/paid", shop, order)
    return kept


def _admin_frame(standin: StandIn, app_url: str, shop: str, req: Request) -> Response:
    if app_bridge.is_token_path(req.path):
        return app_bridge.token_response(standin, shop)
    host = base64.urlsafe_b64encode(
        f"admin.shopify.com/store/{shop.split('.')[0]}".encode()
    ).decode()
    params = {"shop": shop, "host": host, "embedded": "1", "id_token": standin.session_token(shop)}
    if req.arg("locale"):  # the staff member's admin language, as Shopify passes it
        params["locale"] = req.arg("locale")
    src = html.escape(f"{app_url.rstrip('/')}/app/?{urlencode(params)}")
    token_url = f"{req.path.rstrip('/')}{app_bridge.TOKEN_SUFFIX}?{urlencode({'shop': shop})}"
    bridge = app_bridge.host_script(app_origin=_origin(app_url), token_url=token_url)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shopify admin (local stand-in)</title>
<style>body{{margin:0;font-family:system-ui,sans-serif;background:#f1f1f1}}
header{{background:#1a1a1a;color:#fff;padding:.6rem 1rem;font-size:.9rem}}
iframe{{border:0;width:100%;height:calc(100vh - 2.4rem);background:#fff}}</style></head>
<body><header>Shopify admin &middot; {html.escape(shop)} &middot; local stand-in</header>
<iframe src="{src}" title="Setia"></iframe>{bridge}</body></html>"""
    return Response.text(200, page, content_type="text/html")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _app_proxy(
    standin: StandIn, app_url: str, shop: str, customer: str | None, req: Request
) -> Response:
    path = "/" + req.path[len(PROXY_PREFIX) :]
    extra = {k: v for k, v in req.query_lists.items() if k not in ("shop", "customer")}
    forwarded = senders.proxy_request(
        standin.api_secret,
        app_url,
        path,
        shop,
        customer_id=customer or None,
        method=req.method,
        json=req.json() if req.method == "POST" else None,
        extra_params=extra,
    )
    content_type = forwarded.headers.get("content-type", "application/json")
    return Response(forwarded.status_code, forwarded.content, {"Content-Type": content_type})
