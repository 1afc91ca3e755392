from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.core.memo import ProcessMemo
from loyalty.rewards.services import reward_ensure_default
from loyalty.shops.models import Platform, Program, Shop


@dataclass(frozen=True)
class Tokens:
    """An access token and, for expiring offline tokens, its refresh token."""

    access_token: str = field(repr=False)
    scopes: str
    access_token_expires_at: datetime | None = None
    refresh_token: str = field(default="", repr=False)
    refresh_token_expires_at: datetime | None = None


def shop_get_or_create(
    *,
    domain: str,
    platform: str = Platform.SHOPIFY,
    name: str = "",
    currency: str = "USD",
    iana_timezone: str = "UTC",
) -> tuple[Shop, bool]:
    """Create the shop with its default program, or return the existing one (any state)."""
    domain = domain.lower()
    try:
        with transaction.atomic():
            shop = Shop.objects.create(
                platform=platform,
                domain=domain,
                name=name,
                currency=currency,
                iana_timezone=iana_timezone,
            )
            created = True
    except IntegrityError:
        shop, created = Shop.objects.get(platform=platform, domain=domain), False
    Program.objects.get_or_create(shop=shop)
    reward_ensure_default(shop=shop)
    return shop, created


def shop_install(
    *, domain: str, tokens: Tokens, platform: str = Platform.SHOPIFY, now: datetime | None = None
) -> tuple[Shop, bool]:
    """Record an install (first or again): store the tokens, mark installed, keep the program
    and members of an earlier install. Returns the shop and whether this (re)activated it.

    `installed_at` moves to every fresh grant, so an uninstall that happened before it (a
    late webhook after a quick reinstall) is recognised as stale."""
    now = now or timezone.now()
    with transaction.atomic():
        shop, _ = shop_get_or_create(domain=domain, platform=platform)
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        activated = not shop.is_installed
        _set_tokens(shop, tokens)
        shop.installed_at = now
        shop.uninstalled_at = None
        shop.save()
    return shop, activated


def shop_store_tokens(*, shop: Shop, tokens: Tokens) -> None:
    """Replace the shop's token pair in one write (a refresh rotates both)."""
    _set_tokens(shop, tokens)
    shop.save(
        update_fields=[
            "access_token",
            "access_token_expires_at",
            "refresh_token",
            "refresh_token_expires_at",
            "scopes",
            "updated_at",
        ]
    )


def _set_tokens(shop: Shop, tokens: Tokens) -> None:
    shop.access_token = tokens.access_token
    shop.access_token_expires_at = tokens.access_token_expires_at
    shop.refresh_token = tokens.refresh_token
    shop.refresh_token_expires_at = tokens.refresh_token_expires_at
    shop.scopes = tokens.scopes


def shop_update_details(*, shop: Shop, name: str, currency: str, iana_timezone: str) -> None:
    shop.name, shop.currency, shop.iana_timezone = name, currency, iana_timezone
    shop.save(update_fields=["name", "currency", "iana_timezone", "updated_at"])


def shop_uninstall(*, shop: Shop, at: datetime | None) -> bool:
    """Mark uninstalled and drop the tokens. An uninstall older than the latest install (a late
    delivery after a reinstall) changes nothing; returns whether it applied."""
    at = at or timezone.now()
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.installed_at and at < shop.installed_at:
            return False
        if shop.uninstalled_at is None:
            shop.uninstalled_at = at
        _set_tokens(shop, Tokens(access_token="", scopes=""))
        shop.save()
    return True


# Shops whose storefront this process has recorded in the last hour: the widget asks on every
# page a shopper views, and the dashboard needs to know only that it does.
_seen = ProcessMemo()
SEEN_EVERY = timedelta(hours=1)


def shop_storefront_seen(*, shop: Shop, now: datetime | None = None) -> None:
    """Record that the widget answered `shop`'s storefront (a signed request from the theme's
    app embed, or the script tag's): at most one UPDATE per process and shop an hour, and
    none when another process recorded it within the hour."""
    if _seen.get(shop.pk):
        return
    now = now or timezone.now()
    Shop.objects.filter(pk=shop.pk).filter(
        Q(storefront_seen_at__isnull=True) | Q(storefront_seen_at__lt=now - SEEN_EVERY)
    ).update(storefront_seen_at=now)
    _seen.put(shop.pk, True, seconds=SEEN_EVERY.total_seconds())


def shop_storefront_seen_forget() -> None:
    """Forget which shops this process recorded (tests)."""
    _seen.forget()
