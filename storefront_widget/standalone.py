"""The widget on stores outside Shopify (a plain script tag): `/storefront/api/widget/state`
and `/redeem`, for `?shop=<domain>` and the shopper's signed customer token (`?token=` or the
`X-Setia-Customer-Token` header; storefront_widget.tokens). No token: a guest. A bad token is
refused (401), never taken for a guest. Called from the store's own origin: CORS for any origin,
as no cookie is involved."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from loyalty.core.errors import error_response
from loyalty.shops.models import Platform
from loyalty.shops.selectors import shop_installed_by_domain
from storefront_widget.checkout import cors
from storefront_widget.models import WidgetSettings
from storefront_widget.state import storefront_state
from storefront_widget.tokens import customer_token_verify
from storefront_widget.views import redeem_answer


def _cors(response: HttpResponse) -> HttpResponse:
    return cors(response, allow_headers="Content-Type, X-Setia-Customer-Token")


def signed_customer(*methods: str):
    def decorate(view):
        @wraps(view)
        @csrf_exempt  # no cookies: the signed token proves the shopper
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "OPTIONS":
                return _cors(HttpResponse(status=204))
            if request.method not in methods:
                return _cors(
                    error_response(
                        code="method_not_allowed", message="Method not allowed.", status=405
                    )
                )
            shop = shop_installed_by_domain(
                platform=Platform.SHOPIFY,
                domain=request.GET.get("shop", "")[:255],
                max_age=settings.STOREFRONT_CACHE_SECONDS,
            )
            if shop is None:
                return _cors(
                    error_response(
                        code="unknown_shop",
                        message="This store does not have Setia installed.",
                        status=404,
                    )
                )
            token = request.headers.get("X-Setia-Customer-Token") or request.GET.get("token", "")
            customer_id = None
            if token:
                secret = (
                    WidgetSettings.objects.filter(shop=shop)
                    .values_list("widget_secret", flat=True)
                    .first()
                )
                customer_id = customer_token_verify(secret=secret or "", token=token)
                if customer_id is None:
                    return _cors(
                        error_response(
                            code="invalid_customer_token",
                            message="The customer token is malformed, forged or expired.",
                            status=401,
                        )
                    )
            request.shop = shop
            request.platform_customer_id = customer_id
            return _cors(view(request, *args, **kwargs))

        return wrapper

    return decorate


@signed_customer("GET")
def widget_state(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        storefront_state(shop=request.shop, platform_customer_id=request.platform_customer_id)
    )


@signed_customer("POST")
def widget_redeem(request: HttpRequest) -> JsonResponse:
    return redeem_answer(request)
