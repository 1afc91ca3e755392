"""The checkout UI extension's API (`/storefront/api/checkout/...`): the shopper's balance, the
points this order will earn and a redemption, for `extensions/setia-checkout`.

Shopify's checkout calls from its own origin with `Authorization: Bearer <session token>` (a
JWT signed with the app secret: `dest` the shop, `sub` the customer GID when signed in,
`aud` our API key), verified by `shopify_app.verify_checkout_ui_ext_req`. No cookies are
involved, so every answer, errors included, allows any origin; the preflight is answered 204."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.http import HttpRequest, JsonResponse

from loyalty.platforms.shopify.sdk import request_input, shop_domain_from, shopify_app
from loyalty.shops.models import Shop
from storefront_widget.crossorigin import Refused, cross_origin_api, installed_shop
from storefront_widget.earn import product_points
from storefront_widget.state import storefront_state
from storefront_widget.views import redeem_answer

CUSTOMER_GID_RE = re.compile(r"gid://shopify/Customer/([0-9]{1,20})")


def _checkout_customer(request: HttpRequest) -> tuple[Shop, str | None]:
    body = request.body.decode("utf-8", errors="replace")
    verified = shopify_app().verify_checkout_ui_ext_req(request_input(request, body=body))
    claims = verified.id_token.claims if verified.ok and verified.id_token else None
    if not claims or not verified.shop:
        raise Refused(
            code="invalid_session_token",
            message="The checkout session token is missing, invalid or expired.",
            status=401,
        )
    shop = installed_shop(shop_domain_from(verified.shop))
    customer = CUSTOMER_GID_RE.fullmatch(str(claims.get("sub") or ""))
    return shop, customer.group(1) if customer else None


def checkout_extension(*methods: str):
    """The checkout session token verified: `request.shop`, `request.platform_customer_id`
    (None for a guest checkout)."""
    return cross_origin_api(
        methods=methods, allow_headers="Authorization, Content-Type", identify=_checkout_customer
    )


@checkout_extension("GET")
def checkout_state(request: HttpRequest) -> JsonResponse:
    """`GET /storefront/api/checkout/state?subtotal=&currency=`: the balance, the rewards the
    shopper can redeem now, and what this order earns (its subtotal in the shop's currency
    through the earning engine; null when the checkout is in another currency)."""
    state = storefront_state(shop=request.shop, platform_customer_id=request.platform_customer_id)
    earn = None
    currency = request.GET.get("currency", request.shop.currency).upper()
    try:
        subtotal = Decimal(request.GET.get("subtotal", ""))
    except InvalidOperation:
        subtotal = None
    in_shop_money = currency == request.shop.currency.upper()
    if in_shop_money and subtotal is not None and subtotal.is_finite() and 0 <= subtotal < 10**12:
        earn = product_points(
            shop=request.shop, price=subtotal, platform_customer_id=request.platform_customer_id
        )
    customer = state["customer"]
    return JsonResponse(
        {
            "program": state["program"],
            "signed_in": customer is not None,
            "balance": customer["points"]["balance"] if customer else None,
            "earn": earn,
            "rewards": [
                {key: reward[key] for key in ("id", "name", "points_cost")}
                for reward in state["rewards"]
                if reward["available"]
            ],
        }
    )


@checkout_extension("POST")
def checkout_redeem(request: HttpRequest) -> JsonResponse:
    """`POST /storefront/api/checkout/redeem` with `{"reward_id", "idempotency_key"}`: as the
    storefront's redeem; the extension applies the code to the checkout."""
    return redeem_answer(request)
