"""Shopify's entry points: install (authorization-code grant), callback, webhooks."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from loyalty.core.errors import error_response
from loyalty.platforms.shopify import webhooks
from loyalty.platforms.shopify.install import InstallError, install_with_code
from loyalty.platforms.shopify.models import OAuthState
from loyalty.platforms.shopify.sdk import (
    is_valid_shop_domain,
    oauth_session_class,
    shop_domain_from,
)

logger = logging.getLogger(__name__)

STATE_COOKIE = "setia_oauth_state"
STATE_MAX_AGE = 600


def _verify_oauth_query(request: HttpRequest) -> tuple[str, JsonResponse | None]:
    """Checks every install/callback request: shop pattern, hex hmac, fresh timestamp."""
    params = request.GET.dict()
    shop = params.get("shop", "")
    if not is_valid_shop_domain(shop):
        return "", error_response(
            code="invalid_shop", message="shop must be a *.myshopify.com domain.", status=400
        )
    if not params.get("hmac") or not params.get("timestamp"):
        return "", error_response(
            code="invalid_hmac", message="The request is not signed by Shopify.", status=401
        )
    timestamp = params["timestamp"]
    age = (
        time.time() - int(timestamp)
        if timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
        else float("inf")
    )
    # validate_params compares in constant time (hmac.compare_digest) and rejects > 24 h;
    # Setia's own window is tighter, and a timestamp from the future is no better.
    if not (
        -60 <= age <= settings.SHOPIFY_OAUTH_MAX_AGE
    ) or not oauth_session_class().validate_params(params):
        return "", error_response(
            code="invalid_hmac",
            message="The signature is wrong or the request is stale.",
            status=401,
        )
    return shop.lower(), None


@require_GET
def install(request: HttpRequest) -> HttpResponse:
    shop, problem = _verify_oauth_query(request)
    if problem:
        return problem
    nonce = secrets.token_urlsafe(24)
    OAuthState.objects.create(nonce=nonce, shop_domain=shop)
    authorize_url = oauth_session_class()(shop, settings.SHOPIFY_API_VERSION).create_permission_url(
        scope=list(settings.SHOPIFY_SCOPES),
        redirect_uri=f"{settings.APP_URL}/shopify/callback",
        state=nonce,
    )
    response = HttpResponseRedirect(authorize_url)
    response.set_signed_cookie(
        STATE_COOKIE,
        nonce,
        salt=STATE_COOKIE,
        max_age=STATE_MAX_AGE,
        httponly=True,
        secure=request.is_secure(),
        samesite="Lax",
    )
    return response


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    shop, problem = _verify_oauth_query(request)
    if problem:
        return problem
    state = request.GET.get("state", "")
    try:
        cookie_nonce = request.get_signed_cookie(
            STATE_COOKIE, salt=STATE_COOKIE, max_age=STATE_MAX_AGE
        )
    except (KeyError, signing.BadSignature):
        cookie_nonce = ""
    if not state or not cookie_nonce or not hmac.compare_digest(state, cookie_nonce):
        return error_response(
            code="invalid_state",
            message="The state does not match this browser's install.",
            status=401,
        )
    # Single use: whoever deletes the row owns the state.
    deleted, _ = OAuthState.objects.filter(
        nonce=state,
        shop_domain=shop,
        created_at__gte=timezone.now() - timedelta(seconds=STATE_MAX_AGE),
    ).delete()
    if not deleted:
        return error_response(
            code="invalid_state", message="The state was already used or has expired.", status=401
        )
    code = request.GET.get("code", "")
    if not code:
        return error_response(code="missing_code", message="Shopify sent no code.", status=400)
    try:
        install_with_code(shop_domain=shop, code=code)
    except InstallError as exc:
        return error_response(code=exc.code, message=str(exc), status=exc.status)
    response = HttpResponseRedirect(f"https://{shop}/admin/apps/{settings.SHOPIFY_API_KEY}")
    response.delete_cookie(STATE_COOKIE)
    return response


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return error_response(code="invalid_body", message="The body is not UTF-8.", status=400)
    signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
    if not webhooks.signature_is_valid(body=request.body, signature=signature):
        return error_response(
            code="invalid_hmac", message="The webhook signature is missing or wrong.", status=401
        )
    shop = shop_domain_from(request.headers.get("X-Shopify-Shop-Domain"))
    topic = request.headers.get("X-Shopify-Topic", "")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "")
    if not is_valid_shop_domain(shop) or not topic or not webhook_id:
        return error_response(
            code="missing_headers",
            message="X-Shopify-Shop-Domain, X-Shopify-Topic and X-Shopify-Webhook-Id are required.",
            status=400,
        )
    delivery_id = webhooks.delivery_store(
        incoming=webhooks.Incoming(
            webhook_id=webhook_id[:255],
            topic=topic[:128],
            shop_domain=shop,
            body=body,
            event_id=request.headers.get("X-Shopify-Event-Id", "")[:255],
            api_version=request.headers.get("X-Shopify-API-Version", "")[:32],
            triggered_at=webhooks.parse_triggered_at(request.headers.get("X-Shopify-Triggered-At")),
        )
    )
    if delivery_id is None:
        return JsonResponse({"status": "duplicate"})
    webhooks.publish(delivery_id)  # the view runs in autocommit: the row is committed
    return JsonResponse({"status": "received"})
