"""The widget on stores outside Shopify (a plain script tag): `/storefront/api/widget/state`,
`/redeem` and `/actions`, for `?shop=<domain>` and the shopper's signed customer token
(`?token=` or the `X-Setia-Customer-Token` header; storefront_widget.tokens). No token: a
guest. A bad token is refused (401), never taken for a guest. Called from the store's own
origin: CORS for any origin, as no cookie is involved."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from loyalty.shops.models import Shop
from loyalty.shops.services import shop_storefront_seen
from storefront_widget.crossorigin import Refused, cross_origin_api, installed_shop
from storefront_widget.models import WidgetSettings
from storefront_widget.state import storefront_state_json
from storefront_widget.tokens import customer_token_verify
from storefront_widget.views import actions_answer, redeem_answer


def _token_customer(request: HttpRequest) -> tuple[Shop, str | None]:
    shop = installed_shop(request.GET.get("shop", ""))
    token = request.headers.get("X-Setia-Customer-Token") or request.GET.get("token", "")
    if not token:
        return shop, None
    secret = (
        WidgetSettings.objects.filter(shop=shop).values_list("widget_secret", flat=True).first()
    )
    customer_id = customer_token_verify(secret=secret or "", token=token)
    if customer_id is None:
        raise Refused(
            code="invalid_customer_token",
            message="The customer token is malformed, forged or expired.",
            status=401,
        )
    return shop, customer_id


def signed_customer(*methods: str):
    return cross_origin_api(
        methods=methods,
        allow_headers="Content-Type, X-Setia-Customer-Token",
        identify=_token_customer,
    )


@signed_customer("GET")
def widget_state(request: HttpRequest) -> HttpResponse:
    if request.platform_customer_id:  # a signed shopper: the store's own page asked
        shop_storefront_seen(shop=request.shop)
    body = storefront_state_json(
        shop=request.shop, platform_customer_id=request.platform_customer_id
    )
    return HttpResponse(body, content_type="application/json")


@signed_customer("POST")
def widget_redeem(request: HttpRequest) -> JsonResponse:
    return redeem_answer(request)


@signed_customer("POST")
def widget_actions(request: HttpRequest) -> JsonResponse:
    return actions_answer(request)
