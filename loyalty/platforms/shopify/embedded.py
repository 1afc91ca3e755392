"""Authentication of the embedded admin (`/app/`) by Shopify session tokens, and the
app-proxy signature check for storefront calls. No cookies: every request proves itself."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from loyalty.core.errors import error_response
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.install import InstallError, install_with_session_token
from loyalty.platforms.shopify.sdk import (
    host_of,
    is_valid_shop_domain,
    request_input,
    shop_domain_from,
    shopify_app,
)
from loyalty.shops.models import Platform, Shop
from loyalty.shops.selectors import shop_installed_by_domain

logger = logging.getLogger(__name__)

BOUNCE_PATH = "/app/session-token-bounce"
HEX_DIGEST_RE = re.compile(r"[0-9a-f]{64}")
PROXY_MAX_AGE_SECONDS = 90  # Shopify's own limit for an app proxy request's timestamp


def frame_ancestors(shop_domain: str) -> str:
    if not is_valid_shop_domain(shop_domain):
        return "frame-ancestors 'none';"
    # In development the stand-in's admin page frames the app too.
    local_admin = (
        f" {settings.SHOPIFY_API_ORIGIN}" if settings.DEBUG and settings.SHOPIFY_API_ORIGIN else ""
    )
    return f"frame-ancestors https://{shop_domain} https://admin.shopify.com{local_admin};"


def sdk_response(res, *, shop_domain: str = "") -> HttpResponse:
    if res.status == 401:  # the contract's error shape, with the SDK's headers (retry hint)
        response = error_response(
            code="invalid_session_token",
            message="The session token is missing or invalid.",
            status=401,
        )
    else:
        response = HttpResponse(res.body, status=res.status or 502)
    for name, value in (res.headers or {}).items():
        if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
            response[name] = value
    if response.get("Content-Type", "").startswith("text/html") or res.status == 200:
        response["Content-Security-Policy"] = frame_ancestors(shop_domain)
    return response


def _has_usable_token(shop: Shop) -> bool:
    """A token we can use or refresh; otherwise a fresh token exchange is the way back."""
    if not shop.access_token:
        return False
    now = timezone.now()
    if shop.refresh_token_expires_at and shop.refresh_token_expires_at <= now:
        return bool(shop.access_token_expires_at is None or shop.access_token_expires_at > now)
    return True


def embedded_admin(view):
    """Verify the session token (document loads: `id_token`; fetches: `Authorization: Bearer`),
    install through token exchange when the shop has no usable token, and answer with the
    frame-ancestors policy Shopify requires (and no X-Frame-Options).

    CSRF-exempt: the session token (a header, or a one-minute `id_token`) authenticates every
    request, never a cookie, so a cross-site form cannot ride on a merchant's session."""

    @wraps(view)
    @csrf_exempt
    @xframe_options_exempt
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The session token is in a header or the query, never the body: an upload that is not
        # UTF-8 (a CSV saved by Excel) must not fail here, nor be read into memory for nothing.
        verified = shopify_app().verify_app_home_req(
            request_input(request, body=""), app_home_patch_id_token_path=BOUNCE_PATH
        )
        if not verified.ok:
            shop_hint = shop_domain_from(request.GET.get("shop"))
            return sdk_response(verified.response, shop_domain=shop_hint)
        claims = verified.id_token.claims if verified.id_token else {}
        if host_of(claims.get("iss", "")) != host_of(claims.get("dest", "")):
            # Issued by one shop's admin for another shop: not a token for this request.
            return sdk_response(verified.invalid_token_response)
        shop_domain = shop_domain_from(verified.shop)
        shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=shop_domain).first()
        if shop is None or not shop.is_installed or not _has_usable_token(shop):
            if not verified.id_token or not verified.id_token.exchangeable:
                return error_response(
                    code="not_installed", message="Open the app from the Shopify admin.", status=401
                )
            try:
                shop = install_with_session_token(verified=verified)
            except (InstallError, AdminApiError) as exc:
                logger.warning("token exchange for %s failed: %s", shop_domain, exc)
                status = getattr(exc, "status", 0) or 503
                return error_response(code=exc.code, message=str(exc), status=status)
        request.shop = shop
        request.shopify_user_id = verified.user_id
        response = view(request, *args, **kwargs)
        for name, value in (verified.response.headers or {}).items():
            if name.lower() == "link":
                response[name] = value
        response["Content-Security-Policy"] = frame_ancestors(shop.domain)
        return response

    return wrapper


@xframe_options_exempt
def session_token_bounce(request: HttpRequest) -> HttpResponse:
    """The page App Bridge uses to hand over a fresh session token, then reload."""
    result = shopify_app().app_home_patch_id_token(request_input(request))
    return sdk_response(result.response, shop_domain=shop_domain_from(request.GET.get("shop")))


def app_proxy(view):
    """Storefront calls through the app proxy: verify the signature before trusting `shop` or
    `logged_in_customer_id`; then the shop must be one that has Setia installed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        verified = app_proxy_verified(request.GET)
        if verified is None:
            return error_response(
                code="invalid_signature",
                message="The app proxy signature is missing, wrong or stale.",
                status=401,
            )
        shop_domain, customer_id = verified
        shop = shop_installed_by_domain(
            platform=Platform.SHOPIFY,
            domain=shop_domain_from(shop_domain),
            max_age=settings.STOREFRONT_CACHE_SECONDS,
        )
        if shop is None:
            return error_response(
                code="unknown_shop", message="This store does not have Setia installed.", status=404
            )
        request.shop = shop
        request.platform_customer_id = customer_id or None
        return view(request, *args, **kwargs)

    return wrapper


def app_proxy_verified(query) -> tuple[str, str] | None:
    """(shop name, logged-in customer id; either may be "") when the query is signed as
    Shopify's app proxy signs it and is fresh; None otherwise. `query`: a Django QueryDict.

    Setia's own rather than `shopify_app`'s `verify_app_proxy_req`, which checks exactly the
    same (one `shop`, a timestamp within 90 s, the hex HMAC-SHA256 of the sorted `k=v` pairs,
    list values joined by commas, compared in constant time) but first rebuilds the URL and
    redacts a copy of the request for a log record Setia never reads: most of the cost of the
    storefront's busiest endpoint. A property test checks both always agree."""
    signature = query.get("signature", "")
    if not HEX_DIGEST_RE.fullmatch(signature) or len(query.getlist("signature")) != 1:
        return None
    if len(query.getlist("shop")) > 1:
        return None
    try:
        timestamp = int(query.get("timestamp", ""))
    except ValueError:
        return None
    if abs(int(time.time()) - timestamp) > PROXY_MAX_AGE_SECONDS:
        return None
    message = "".join(
        f"{key}={','.join(values)}" for key, values in sorted(query.lists()) if key != "signature"
    )
    expected = hmac.new(
        settings.SHOPIFY_API_SECRET.encode(), message.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None
    # Signed without a shop: verified, but no shop of ours (answered 404 by the caller).
    customer = query.getlist("logged_in_customer_id") or [""]
    return query.get("shop", "").replace(".myshopify.com", ""), customer[0]  # the first, as the SDK
