"""Reads for referrals: the program, the offer as shoppers see it, links, claims."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Sum

from loyalty.earning.models import OrderRecord
from loyalty.referrals.codes import referral_code
from loyalty.referrals.models import (
    ClaimStatus,
    FriendDiscountKind,
    ReferralClaim,
    ReferralProgram,
)
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


def referral_figures(*, shop: Shop, start, end) -> dict | None:
    """The analytics page's referral figures between two instants (the period's bounds on the
    shop's clock): friends who claimed a code, referrals rewarded, points credited to
    referrers, and the revenue of the rewarded first orders. None for a shop that never had a
    claim (the page leaves the card out). Read live: claims are few next to orders."""
    claims = ReferralClaim.objects.filter(shop=shop)
    if not claims.exists():
        return None
    rewarded = claims.filter(rewarded_at__gte=start, rewarded_at__lt=end).exclude(
        status=ClaimStatus.REVERSED
    )
    totals = rewarded.aggregate(count=Count("pk"), points=Sum("points", default=0))
    revenue = OrderRecord.objects.filter(
        shop=shop, order_id__in=rewarded.values("order_id")
    ).aggregate(total=Sum("net_amount", default=Decimal("0")))["total"]
    return {
        "claimed": claims.filter(created_at__gte=start, created_at__lt=end).count(),
        "rewarded": totals["count"],
        "points": totals["points"],
        "revenue": revenue,
    }
