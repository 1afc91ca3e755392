"""Reads for the admin's core pages. Every query is scoped to the shop it is given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet, Sum
from django.utils import timezone

from loyalty.analytics.models import ShopDay
from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member
from loyalty.merchant_admin.keyset import Page, keyset_page
from loyalty.platforms.shopify.models import WebhookDelivery
from loyalty.privacy.models import PrivacyRequest
from loyalty.rewards.models import Redemption
from loyalty.shops.models import Shop
from loyalty.tiers.models import TierHistory

MEMBERS_PER_PAGE = 50
LEDGER_PER_PAGE = 25
DELIVERIES_PER_PAGE = 50


@dataclass(frozen=True)
class MemberSort:
    field: str
    nullable: bool
    # The index's id direction relative to the field's: (shop, -points_balance, id) pairs a
    # descending balance with ascending ids.
    id_same_direction: bool


MEMBER_SORTS = {
    "enrolled": MemberSort("enrolled_at", nullable=False, id_same_direction=True),
    "balance": MemberSort("points_balance", nullable=False, id_same_direction=False),
    "activity": MemberSort("last_activity_at", nullable=True, id_same_direction=True),
}
DEFAULT_MEMBER_SORT = "-enrolled"
GID_CUSTOMER_RE = re.compile(r"^gid://shopify/Customer/(\d+)$")


@dataclass(frozen=True)
class MemberFilters:
    search: str = ""
    tier_id: int | None = None
    no_tier: bool = False
    status: str = ""
    balance_min: int | None = None
    balance_max: int | None = None
    active_after: datetime | None = None
    active_before: datetime | None = None


@dataclass(frozen=True)
class ShopSummary:
    members: int
    points_balance: int
    points_pending: int
    as_of: datetime | None = None  # the roll-up's time; None: counted now


# The analytics task rebuilds today's roll-up every hour; an older one is not shown as current.
ROLLUP_FRESH_FOR = timedelta(hours=2)


def shop_summary(*, shop: Shop, now: datetime | None = None) -> ShopSummary:
    """Members and points outstanding. From today's daily roll-up when it is fresh (a shop with
    a million members is not summed on every visit), otherwise counted now."""
    now = now or timezone.now()
    rollup = (
        ShopDay.objects.filter(shop=shop, computed_at__gte=now - ROLLUP_FRESH_FOR)
        .order_by("-day")
        .only("members_total", "points_balance_end", "points_pending_end", "computed_at")
        .first()
    )
    if rollup is not None:
        return ShopSummary(
            members=rollup.members_total,
            points_balance=rollup.points_balance_end,
            points_pending=rollup.points_pending_end,
            as_of=rollup.computed_at,
        )
    figures = Member.objects.filter(shop=shop).aggregate(
        members=Count("pk"), balance=Sum("points_balance"), pending=Sum("points_pending")
    )
    return ShopSummary(
        members=figures["members"],
        points_balance=figures["balance"] or 0,
        points_pending=figures["pending"] or 0,
    )


def _member_search(search: str) -> Q:
    """Prefix matches that the members indexes serve: a customer id (or its GID) exactly, an
    email from its start, and names word by word from their start."""
    search = search.strip()
    gid = GID_CUSTOMER_RE.match(search)
    if gid:
        return Q(platform_customer_id=gid.group(1))
    if search.isdigit():
        return Q(platform_customer_id=search)
    if "@" in search:
        return Q(email__istartswith=search)
    words = search.split()
    by_name = Q()
    for word in words:
        by_name &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    return by_name | Q(email__istartswith=search)


def member_filter(*, shop: Shop, filters: MemberFilters) -> QuerySet[Member]:
    members = Member.objects.filter(shop=shop)
    if filters.search.strip():
        members = members.filter(_member_search(filters.search))
    if filters.no_tier:
        members = members.filter(tier__isnull=True)
    elif filters.tier_id is not None:
        members = members.filter(tier_id=filters.tier_id)
    if filters.status:
        members = members.filter(status=filters.status)
    if filters.balance_min is not None:
        members = members.filter(points_balance__gte=filters.balance_min)
    if filters.balance_max is not None:
        members = members.filter(points_balance__lte=filters.balance_max)
    if filters.active_after is not None:
        members = members.filter(last_activity_at__gte=filters.active_after)
    if filters.active_before is not None:
        members = members.filter(last_activity_at__lt=filters.active_before)
    return members


def member_list(
    *,
    shop: Shop,
    filters: MemberFilters,
    sort: str = DEFAULT_MEMBER_SORT,
    after: str | None = None,
    size: int = MEMBERS_PER_PAGE,
) -> Page:
    descending = sort.startswith("-")
    key = MEMBER_SORTS[sort.lstrip("-")]
    members = member_filter(shop=shop, filters=filters).select_related("tier")
    return keyset_page(
        members,
        field=key.field,
        after=after,
        size=size,
        descending=descending,
        id_descending=descending if key.id_same_direction else not descending,
        nullable=key.nullable,
    )


def member_ledger(*, member: Member, after: str | None = None, size: int = LEDGER_PER_PAGE) -> Page:
    entries = LedgerEntry.objects.filter(shop_id=member.shop_id, member=member).select_related(
        "reverses"
    )
    return keyset_page(entries, field="created_at", after=after, size=size)


def member_tier_history(*, member: Member, limit: int = 50) -> list[TierHistory]:
    return list(
        TierHistory.objects.filter(shop_id=member.shop_id, member=member).order_by("-at", "-id")[
            :limit
        ]
    )


def member_redemptions(*, member: Member, limit: int = 25) -> list[Redemption]:
    return list(
        Redemption.objects.filter(shop_id=member.shop_id, member=member)
        .select_related("reward")
        .order_by("-created_at", "-id")[:limit]
    )


def webhook_deliveries(
    *, shop: Shop, status: str = "", after: str | None = None, size: int = DELIVERIES_PER_PAGE
) -> Page:
    deliveries = WebhookDelivery.objects.filter(shop_domain=shop.domain).defer("body")
    if status:
        deliveries = deliveries.filter(status=status)
    return keyset_page(deliveries, field="received_at", after=after, size=size)


def privacy_requests(*, shop: Shop, limit: int = 50) -> list[PrivacyRequest]:
    """The shop's privacy requests, newest first; `has_export` without loading the exports."""
    return list(
        PrivacyRequest.objects.filter(shop=shop)
        .defer("export")
        .annotate(has_export=ExpressionWrapper(Q(export__isnull=False), BooleanField()))
        .order_by("-received_at", "-id")[:limit]
    )
