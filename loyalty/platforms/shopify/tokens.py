"""A shop's Admin API token: exchanged from a session token, refreshed before it expires.

Expiring offline tokens live an hour; the refresh token rotates on every refresh, so two
workers refreshing at once would leave one of them holding a dead refresh token. Refreshing
therefore happens under the shop's row lock: the first worker refreshes and stores the new
pair in the same transaction; the others wait on the lock, then find a fresh token.

That transaction is always the refresh's own and commits as soon as the pair is stored. Once
Shopify has answered, the old refresh token is dead: had the pair been written inside a
caller's transaction (a webhook handler's, say) that then rolled back, the shop would be
locked out until it is reinstalled. So when the caller is inside a transaction, the refresh
runs on a second connection to the same database (the `durable` alias) and commits there.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.sdk import http_client, shopify_app
from loyalty.shops.models import Shop
from loyalty.shops.services import Tokens, shop_store_tokens

logger = logging.getLogger(__name__)

DURABLE_DB_ALIAS = "durable"
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
    using = _refresh_db_alias()
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            # Waiting longer than a refresh takes means something is stuck: fail, retry later.
            # (Also what ends the wait if the caller's own transaction holds this shop's row.)
            with connections[using].cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '20s'")
        locked = Shop.objects.using(using).select_for_update().get(pk=shop.pk)
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


def _refresh_db_alias() -> str:
    """The connection to refresh on: the default one when the refresh's transaction would be
    its own, a second one when the caller is inside a transaction (which could roll back)."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor != "postgresql" or not _in_callers_transaction(default):
        # SQLite (development, tests) allows one writer: a second connection would wait on
        # the caller's own transaction. There a rollback can still lose the pair.
        return DEFAULT_DB_ALIAS
    return DURABLE_DB_ALIAS


def _in_callers_transaction(connection) -> bool:
    # Django's test cases wrap each test in atomic blocks they mark `_from_testcase` (the same
    # test `durable=True` uses): those are not a caller's transaction.
    if not connection.in_atomic_block:
        return not connection.get_autocommit()  # a transaction opened by hand
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _copy_tokens(target: Shop, source: Shop) -> None:
    for field in (
        "access_token",
        "access_token_expires_at",
        "refresh_token",
        "refresh_token_expires_at",
        "scopes",
    ):
        setattr(target, field, getattr(source, field))
