"""Installing Setia in a Shopify store: the two ways in (authorization-code grant, token
exchange from an embedded session token) end in the same place, `_installed`."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loyalty.platforms.shopify.admin_api import admin_graphql, user_errors
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.sdk import http_client, shopify_app, shopify_url
from loyalty.platforms.shopify.tokens import tokens_from_sdk
from loyalty.platforms.shopify.webhooks import deliveries_waiting_for_install
from loyalty.shops.models import Shop
from loyalty.shops.services import Tokens, shop_install, shop_update_details

logger = logging.getLogger(__name__)


class InstallError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status


def missing_scopes(granted: str) -> set[str]:
    """Required scopes not granted. A write scope implies its read scope. Optional scopes
    (`SHOPIFY_OPTIONAL_SCOPES`) are never missing: a shop without them works with less."""
    have = {s.strip() for s in granted.split(",") if s.strip()}
    have |= {"read_" + s.removeprefix("write_") for s in have if s.startswith("write_")}
    return set(settings.SHOPIFY_SCOPES) - set(settings.SHOPIFY_OPTIONAL_SCOPES) - have


def install_with_code(*, shop_domain: str, code: str) -> Shop:
    """Exchange an authorization code for an expiring offline token and install."""
    try:
        with http_client() as client:
            response = client.post(
                shopify_url(shop_domain, "/admin/oauth/access_token"),
                json={
                    "client_id": settings.SHOPIFY_API_KEY,
                    "client_secret": settings.SHOPIFY_API_SECRET,
                    "code": code,
                    "expiring": "1",
                },
            )
    except Exception as exc:  # httpx.HTTPError and friends: Shopify did not answer
        raise InstallError("shopify_unavailable", f"Shopify did not answer: {exc}", 503) from exc
    if response.status_code != 200:
        raise InstallError(
            "code_exchange_failed",
            f"Shopify refused the authorization code ({response.status_code}).",
            400 if response.status_code < 500 else 503,
        )
    try:
        data = response.json()
        now = timezone.now()
        tokens = _tokens_from_grant(data, now)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InstallError(
            "code_exchange_failed", "Shopify's token answer was malformed.", 502
        ) from exc
    if not tokens.access_token:
        raise InstallError("code_exchange_failed", "Shopify answered without an access token.", 400)
    return _installed(shop_domain=shop_domain, tokens=tokens)


def _tokens_from_grant(data: dict, now) -> Tokens:
    return Tokens(
        access_token=data.get("access_token", ""),
        scopes=data.get("scope", ""),
        access_token_expires_at=(
            now + timedelta(seconds=int(data["expires_in"])) if data.get("expires_in") else None
        ),
        refresh_token=data.get("refresh_token", ""),
        refresh_token_expires_at=(
            now + timedelta(seconds=int(data["refresh_token_expires_in"]))
            if data.get("refresh_token_expires_in")
            else None
        ),
    )


def install_with_session_token(*, verified) -> Shop:
    """Token exchange: the verified app-home request's session token → offline token."""
    with http_client() as client:
        result = shopify_app().exchange_using_token_exchange(
            access_mode="offline",
            id_token=verified.id_token,
            invalid_token_response=verified.invalid_token_response,
            expiring=True,
            http_client=client,
        )
    if not result.ok or not result.access_token:
        status = result.response.status if result.response else 500
        if result.log.code == "network_error":
            status = 503
        raise InstallError(result.log.code, f"Token exchange failed: {result.log.detail}", status)
    shop_domain = result.access_token.shop
    if not shop_domain.endswith(".myshopify.com"):
        shop_domain = f"{shop_domain}.myshopify.com"
    return _installed(shop_domain=shop_domain, tokens=tokens_from_sdk(result.access_token))


def _installed(*, shop_domain: str, tokens: Tokens) -> Shop:
    missing = missing_scopes(tokens.scopes)
    if missing:
        raise InstallError(
            "missing_scopes", f"The store did not grant: {', '.join(sorted(missing))}.", 400
        )
    with transaction.atomic():
        shop, activated = shop_install(domain=shop_domain, tokens=tokens)
        if activated:
            transaction.on_commit(lambda: _enqueue_after_install(shop.pk))
        deliveries_waiting_for_install(shop_domain=shop.domain)
    return shop


def _enqueue_after_install(shop_id: int) -> None:
    from loyalty.platforms.shopify.tasks import after_install

    try:
        after_install.delay(shop_id)
    except Exception:
        logger.exception("after-install work for shop %s could not run now", shop_id)


SHOP_QUERY = "query SetiaShop { shop { name email currencyCode ianaTimezone myshopifyDomain } }"

WEBHOOK_CREATE = """
mutation SetiaWebhook($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""


def after_install(*, shop: Shop) -> list[str]:
    """Read the store's details and subscribe to the webhooks; safe to run again."""
    data = admin_graphql(shop=shop, query=SHOP_QUERY)
    details = data.get("shop") or {}
    shop_update_details(
        shop=shop,
        name=details.get("name") or shop.name,
        currency=details.get("currencyCode") or shop.currency,
        iana_timezone=details.get("ianaTimezone") or shop.iana_timezone,
    )
    subscribed = []
    callback = f"{settings.APP_URL}/shopify/webhooks"
    for topic in settings.SHOPIFY_WEBHOOK_TOPICS:
        result = admin_graphql(
            shop=shop,
            query=WEBHOOK_CREATE,
            variables={
                "topic": topic.upper().replace("/", "_"),
                "sub": {"callbackUrl": callback, "format": "JSON"},
            },
        )
        errors = [
            e
            for e in user_errors(result.get("webhookSubscriptionCreate"))
            if "already been taken" not in e.get("message", "")
        ]
        if errors:
            raise AdminApiError("webhook_subscription", f"{topic}: {errors}")
        subscribed.append(topic)
    return subscribed
