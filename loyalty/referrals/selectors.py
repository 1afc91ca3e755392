"""Reads for referrals: the program, the offer as shoppers see it, links, claims."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache

from loyalty.referrals.codes import referral_code
from loyalty.referrals.models import FriendDiscountKind, ReferralClaim, ReferralProgram
from loyalty.shops.models import Shop

# The app proxy's path prefix (shopify.app.toml): /apps/setia/... reaches /shopify/proxy/...
PROXY_PREFIX = "/apps/setia"
OFFER_CACHE_SECONDS = 86400
logger = logging.getLogger(__name__)


def referral_program(*, shop: Shop) -> ReferralProgram:
    """The shop's terms; the defaults (off) when the merchant never saved any."""
    return ReferralProgram.objects.filter(shop=shop).first() or ReferralProgram(shop=shop)


def friend_offer_text(*, program: ReferralProgram, currency: str) -> str:
    value = program.friend_discount_value.normalize()
    if program.friend_discount_kind == FriendDiscountKind.PERCENT:
        text = f"{value:f}% off your first order"
    else:
        text = f"{value:f} {currency} off your first order"
    if program.friend_minimum_subtotal:
        text += f" of {program.friend_minimum_subtotal.normalize():f} {currency} or more"
    return text


def referral_link(*, shop: Shop, member_id: int) -> str:
    code = referral_code(shop_id=shop.pk, member_id=member_id)
    return f"https://{shop.domain}{PROXY_PREFIX}/r/{code}"


def offer_cache_key(shop_id: int) -> str:
    return f"referrals:offer:{shop_id}"


def offer_cache_put(shop_id: int, offer: dict) -> None:
    try:
        cache.set(offer_cache_key(shop_id), offer, timeout=OFFER_CACHE_SECONDS)
    except Exception:  # the cache is down: read back from the database once it is up
        logger.warning("referral offer cache unavailable", exc_info=True)


def offer_from(program: ReferralProgram, currency: str) -> dict:
    """What the storefront shows of a program ({} when it is off), as the cache keeps it."""
    if not program.enabled:
        return {}
    return {
        "friend_offer": friend_offer_text(program=program, currency=currency),
        "points": program.referrer_points,
    }


def referral_for_member(*, shop: Shop, member) -> dict | None:
    """The `customer.referral` entry of the storefront's `state`: the member's link, the
    friend's offer and the referrer's points; None for a non-member or when referrals are off.

    The storefront's member path reads no table for it: the link is derived from the member's
    id, and the offer is kept in the shared cache, written when the merchant saves the program.
    When the cache has lost it, it is read back from the database only while the storefront's
    caches are on (STOREFRONT_CACHE_SECONDS > 0); with them off (tests) the answer is counted
    to the statement, and the offer shows only once saved."""
    if member is None:
        return None
    key = offer_cache_key(shop.pk)
    try:
        offer = cache.get(key)
    except Exception:  # the cache is down: no link rather than a failed page
        return None
    if offer is None and settings.STOREFRONT_CACHE_SECONDS > 0:
        offer = offer_from(referral_program(shop=shop), shop.currency)
        offer_cache_put(shop.pk, offer)
    if not offer:
        return None
    return {"url": referral_link(shop=shop, member_id=member.pk), **offer}


def referral_state_entry(*, shop: Shop, member) -> dict:
    """`{"referral": ...}` for the storefront's `customer`, or nothing (see above)."""
    referral = referral_for_member(shop=shop, member=member)
    return {"referral": referral} if referral else {}


def referral_codes_claimed(*, shop: Shop, codes: Iterable[str]) -> set[str]:
    """Which of these discount codes are referral codes of the shop (upper case)."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return set()
    return set(
        ReferralClaim.objects.filter(shop=shop, code__in=wanted).values_list("code", flat=True)
    )


def referral_claims_recent(*, shop: Shop, limit: int = 50) -> list[ReferralClaim]:
    return list(
        ReferralClaim.objects.filter(shop=shop)
        .select_related("referrer")
        .order_by("-created_at", "-pk")[:limit]
    )
