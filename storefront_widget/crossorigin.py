"""What the widget's cross-origin APIs share (the checkout extension's, and the plain script
tag's for stores outside Shopify): no cookies, a token in each request says who asks, so any
origin may read the answers; the preflight is answered 204; answers are never cached."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from loyalty.core.errors import error_response
from loyalty.shops.models import Platform, Shop
from loyalty.shops.selectors import shop_installed_by_domain


class Refused(Exception):
    """Who asks could not be established: answered as the contract's JSON error."""

    def __init__(self, *, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def installed_shop(domain: str) -> Shop:
    shop = shop_installed_by_domain(
        platform=Platform.SHOPIFY, domain=domain[:255], max_age=settings.STOREFRONT_CACHE_SECONDS
    )
    if shop is None:
        raise Refused(
            code="unknown_shop", message="This store does not have Setia installed.", status=404
        )
    return shop


def cross_origin_api(
    *,
    methods: tuple[str, ...],
    allow_headers: str,
    identify: Callable[[HttpRequest], tuple[Shop, str | None]],
):
    """`identify(request)` names the shop and the customer (None: a guest) or raises Refused;
    the view then finds them in `request.shop` and `request.platform_customer_id`."""

    def cors(response: HttpResponse) -> HttpResponse:
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Headers"] = allow_headers
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Max-Age"] = "7200"
        response["Cache-Control"] = "private, no-store"
        return response

    def decorate(view):
        @wraps(view)
        @csrf_exempt  # no cookies: the token in the request proves who asks
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "OPTIONS":
                return cors(HttpResponse(status=204))
            if request.method not in methods:
                return cors(
                    error_response(
                        code="method_not_allowed", message="Method not allowed.", status=405
                    )
                )
            try:
                request.shop, request.platform_customer_id = identify(request)
            except Refused as refused:
                return cors(
                    error_response(
                        code=refused.code, message=refused.message, status=refused.status
                    )
                )
            return cors(view(request, *args, **kwargs))

        return wrapper

    return decorate
