"""A shop's Admin API token: exchanged from a session token, refreshed before it expires.

Expiring offline tokens live an hour; the refresh token rotates on every refresh, so two
workers refreshing at once would leave one of them holding a dead refresh token. Refreshing
therefore happens under the shop's row lock: the first worker refreshes and stores the new
pair in the same transaction; the others wait on the lock, then find a fresh token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.sdk import http_client, shopify_app
from loyalty.shops.models import Shop
from loyalty.shops.services import Tokens, shop_store_tokens

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_TIMEOUT = 5.0  # seconds per attempt: the shop's row stays locked meanwhile


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def tokens_from_sdk(token) -> Tokens:
    """`shopify_app`'s TokenExchangeAccessToken → the domain's Tokens."""
    return Tokens(
        access_token=token.token,
        scopes=token.scope or "",
        access_token_expires_at=parse_datetime(token.expires) if token.expires else None,
        refresh_token=token.refresh_token or "",
        refresh_token_expires_at=(
            parse_datetime(token.refresh_token_expires) if token.refresh_token_expires else None
        ),
    )


def _is_fresh(shop: Shop, now: datetime) -> bool:
    if not shop.access_token:
        return False
    return (
        shop.access_token_expires_at is None or shop.access_token_expires_at > now + REFRESH_MARGIN
    )


def shop_access_token(*, shop: Shop, stale_token: str = "", now: datetime | None = None) -> str:
    """A usable access token for `shop`, refreshed first when it is about to expire.

    `stale_token`: a token the Admin API just refused; it is refreshed even if not yet due.
    """
    now = now or timezone.now()
    if _is_fresh(shop, now) and shop.access_token != stale_token:
        return shop.access_token
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Waiting longer than a refresh takes means something is stuck: fail, retry later.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '20s'")
        locked = Shop.objects.select_for_update().get(pk=shop.pk)
        if _is_fresh(locked, now) and locked.access_token != stale_token:
            _copy_tokens(shop, locked)  # someone refreshed while we waited for the lock
            return locked.access_token
        if not locked.refresh_token:
            raise AdminApiError(
                "no_token", f"{locked.domain} has no usable token: the app must be reinstalled."
            )
        with http_client(timeout=REFRESH_TIMEOUT) as client:
            result = shopify_app().refresh_token_exchanged_access_token(
                access_token={
                    "shop": locked.domain,
                    "token": locked.access_token,
                    # We decide when to refresh (ahead of expiry); the SDK does the call.
                    "expires": _iso(min(locked.access_token_expires_at or now, now)),
                    "scope": locked.scopes,
                    "access_mode": "offline",
                    "refresh_token": locked.refresh_token,
                    "refresh_token_expires": _iso(locked.refresh_token_expires_at),
                    "user": None,
                },
                http_client=client,
            )
        if not result.ok or not result.access_token or not result.access_token.token:
            transient = result.response.status >= 500 or result.log.code == "network_error"
            raise AdminApiError(
                result.log.code,
                f"Refreshing the token of {locked.domain} failed: {result.log.detail}",
                transient=transient,
            )
        tokens = tokens_from_sdk(result.access_token)
        shop_store_tokens(shop=locked, tokens=tokens)
        logger.info("refreshed the access token of %s", locked.domain)
    _copy_tokens(shop, locked)
    return locked.access_token


def _copy_tokens(target: Shop, source: Shop) -> None:
    for field in (
        "access_token",
        "access_token_expires_at",
        "refresh_token",
        "refresh_token_expires_at",
        "scopes",
    ):
        setattr(target, field, getattr(source, field))
