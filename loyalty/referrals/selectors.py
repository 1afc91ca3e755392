"""Reads for referrals: the program, the offer as shoppers see it, links, claims."""

from __future__ import annotations

from collections.abc import Iterable

from loyalty.referrals.codes import referral_code
from loyalty.referrals.models import FriendDiscountKind, ReferralClaim, ReferralProgram
from loyalty.shops.models import Shop

# The app proxy's path prefix (shopify.app.toml): /apps/setia/... reaches /shopify/proxy/...
PROXY_PREFIX = "/apps/setia"


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


def offer_from(program: ReferralProgram, currency: str) -> dict:
    """What the storefront shows of a program ({} when it is off): part of the storefront's
    catalogue (storefront_widget.state), so it is read with the program, cached with it, and a
    change shows when the program's changes do."""
    if not program.enabled:
        return {}
    return {
        "friend_offer": friend_offer_text(program=program, currency=currency),
        # The same terms for the widget to word in the shopper's language.
        "friend_discount": {
            "kind": program.friend_discount_kind,
            "value": f"{program.friend_discount_value.normalize():f}",
            "currency": currency,
        },
        "points": program.referrer_points,
    }


def referral_codes_claimed(*, shop: Shop, codes: Iterable[str]) -> set[str]:
    """Which of these discount codes are referral codes of the shop (upper case)."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return set()
    return set(
        ReferralClaim.objects.filter(shop=shop, code__in=wanted).values_list("code", flat=True)
    )


def referral_claims_of(*, member, limit: int = 20) -> list[ReferralClaim]:
    """The claims made through `member`'s link, newest first (their shop's, by construction)."""
    return list(
        ReferralClaim.objects.filter(shop_id=member.shop_id, referrer=member).order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def referral_claims_recent(*, shop: Shop, limit: int = 50) -> list[ReferralClaim]:
    return list(
        ReferralClaim.objects.filter(shop=shop)
        .select_related("referrer")
        .order_by("-created_at", "-pk")[:limit]
    )
