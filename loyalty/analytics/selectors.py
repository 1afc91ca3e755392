"""The analytics figures over a period, read from the daily roll-ups only (`ShopDay`,
`CustomerDay`), plus two small live reads: the program's money value of a point (the rewards
catalogue) and the top members (an index on the members table). Every ratio is None when its
denominator is 0."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone

from loyalty.analytics.models import CustomerDay, ShopDay
from loyalty.members.models import Member
from loyalty.rewards.models import Reward, RewardKind
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
CENT = Decimal("0.01")
TOP_MEMBERS = 10
# Periods whose distinct-customer figures each day's roll-up stores (the page's presets).
WINDOWS = (7, 30, 90)
# How precisely a point's money value is kept (a point is often worth a cent or less).
POINT_VALUE_PLACES = Decimal("0.000001")


@dataclasses.dataclass(frozen=True)
class PointValue:
    """What one point is worth in shop money, and the reward it was read from."""

    per_point: Decimal
    source: str  # RewardKind.AMOUNT_OFF or RewardKind.POINTS_TO_MONEY
    reward_name: str
    points_cost: int
    value: Decimal


@dataclasses.dataclass(frozen=True)
class Figures:
    first: date
    last: date
    has_data: bool
    computed_at: datetime | None
    # Members.
    members_total: int
    members_enrolled: int
    members_active: int
    ordering_customers: int
    ordering_members: int
    enrolment_rate: Decimal | None
    # Points.
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_taken_back: int
    points_pending: int
    points_balance: int
    redemption_rate: Decimal | None
    redemptions: int
    redemptions_value: Decimal
    # Liability and breakage.
    point_value: PointValue | None
    liability: Decimal | None
    breakage_rate: Decimal | None
    breakage_estimate: Decimal | None
    history_expired: int
    history_redeemed: int
    # Orders.
    member_orders: int
    member_revenue: Decimal
    nonmember_orders: int
    nonmember_revenue: Decimal
    member_aov: Decimal | None
    nonmember_aov: Decimal | None
    member_buyers: int
    member_repeat_buyers: int
    member_repeat_rate: Decimal | None
    nonmember_buyers: int
    nonmember_repeat_buyers: int
    nonmember_repeat_rate: Decimal | None
    reward_orders: int
    reward_revenue: Decimal
    reward_revenue_share: Decimal | None
    # Tiers at period end, and the days for the charts.
    tiers: list[dict]
    days: list[ShopDay]


def ratio(numerator, denominator) -> Decimal | None:
    """numerator / denominator as a Decimal fraction (4 places), or None when nothing to
    divide by."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def money_ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(CENT, ROUND_HALF_UP)


def analytics_point_value(*, shop: Shop, now: datetime | None = None) -> PointValue | None:
    """The money value of a point: the cheapest (fewest points) active amount-off reward's
    value / cost; failing that, the cheapest active points-to-money reward's rate; else None."""
    now = now or timezone.now()
    active = (
        Reward.objects.filter(shop=shop, enabled=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    )
    for kind in (RewardKind.AMOUNT_OFF, RewardKind.POINTS_TO_MONEY):
        reward = active.filter(kind=kind, value__gt=0).order_by("points_cost", "pk").first()
        if reward is not None:
            return PointValue(
                per_point=(reward.value / reward.points_cost).quantize(POINT_VALUE_PLACES),
                source=kind,
                reward_name=reward.name,
                points_cost=reward.points_cost,
                value=reward.value,
            )
    return None


def analytics_figures(
    *, shop: Shop, first: date, last: date, now: datetime | None = None
) -> Figures:
    """The figures of `shop` from day `first` to day `last` inclusive (its calendar)."""
    rows = ShopDay.objects.filter(shop=shop)
    days = list(rows.filter(day__gte=first, day__lte=last).order_by("day"))
    end = rows.filter(day__lte=last).order_by("-day").first()  # the state at period end
    sums = _sum_days(days)
    customers = _stored_window(end, first, last) or _customer_figures_kept(
        shop=shop, first=first, last=last, days=days
    )
    history = rows.filter(day__lte=last).aggregate(
        expired=Sum("points_expired", default=0), redeemed=Sum("points_redeemed", default=0)
    )
    point_value = analytics_point_value(shop=shop, now=now)
    balance = end.points_balance_end if end else 0
    liability = (balance * point_value.per_point).quantize(CENT) if point_value else None
    breakage_rate = ratio(history["expired"], history["expired"] + history["redeemed"])
    breakage_estimate = (
        (liability * breakage_rate).quantize(CENT, ROUND_HALF_UP)
        if liability is not None and breakage_rate is not None
        else None
    )
    revenue = sums["member_revenue"] + sums["nonmember_revenue"]
    return Figures(
        first=first,
        last=last,
        has_data=bool(days),
        computed_at=max((d.computed_at for d in days), default=None),
        members_total=end.members_total if end else 0,
        members_enrolled=sums["members_enrolled"],
        members_active=customers["active_members"],
        ordering_customers=customers["buyers"],
        ordering_members=customers["member_buyers"],
        enrolment_rate=ratio(customers["member_buyers"], customers["buyers"]),
        points_issued=sums["points_issued"],
        points_redeemed=sums["points_redeemed"],
        points_expired=sums["points_expired"],
        points_taken_back=sums["points_taken_back"],
        points_pending=end.points_pending_end if end else 0,
        points_balance=balance,
        redemption_rate=ratio(sums["points_redeemed"], sums["points_issued"]),
        redemptions=sums["redemptions"],
        redemptions_value=sums["redemptions_value"],
        point_value=point_value,
        liability=liability,
        breakage_rate=breakage_rate,
        breakage_estimate=breakage_estimate,
        history_expired=history["expired"],
        history_redeemed=history["redeemed"],
        member_orders=sums["member_orders"],
        member_revenue=sums["member_revenue"],
        nonmember_orders=sums["nonmember_orders"],
        nonmember_revenue=sums["nonmember_revenue"],
        member_aov=money_ratio(sums["member_revenue"], sums["member_orders"]),
        nonmember_aov=money_ratio(sums["nonmember_revenue"], sums["nonmember_orders"]),
        member_buyers=customers["member_buyers"],
        member_repeat_buyers=customers["member_repeat_buyers"],
        member_repeat_rate=ratio(customers["member_repeat_buyers"], customers["member_buyers"]),
        nonmember_buyers=customers["nonmember_buyers"],
        nonmember_repeat_buyers=customers["nonmember_repeat_buyers"],
        nonmember_repeat_rate=ratio(
            customers["nonmember_repeat_buyers"], customers["nonmember_buyers"]
        ),
        reward_orders=sums["reward_orders"],
        reward_revenue=sums["reward_revenue"],
        reward_revenue_share=ratio(sums["reward_revenue"], revenue),
        tiers=list(end.tiers) if end else [],
        days=days,
    )


def analytics_top_members(*, shop: Shop, limit: int = TOP_MEMBERS) -> list[Member]:
    """The shop's highest lifetime earners, live (index `member_shop_top_earners`)."""
    return list(
        Member.objects.filter(shop=shop, lifetime_earned__gt=0)
        .select_related("tier")
        .order_by("-lifetime_earned", "id")[:limit]
    )


# --- internals --------------------------------------------------------------------------------

SUMMED = (
    "members_enrolled",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_taken_back",
    "redemptions",
    "redemptions_value",
    "member_orders",
    "member_revenue",
    "nonmember_orders",
    "nonmember_revenue",
    "reward_orders",
    "reward_revenue",
)


def _sum_days(days: list[ShopDay]) -> dict:
    """The period's totals from its day rows (already loaded for the charts: at most a few
    hundred rows, so summing them here saves a query)."""
    return {name: sum((getattr(d, name) for d in days), start=0) for name in SUMMED}


def _stored_window(end: ShopDay | None, first: date, last: date) -> dict | None:
    """The distinct-customer figures of a 7, 30 or 90-day period, as the roll-up of its last
    day stored them (counting distinct customers over many days is the slow part)."""
    if end is None or end.day != last:
        return None
    return end.windows.get(str((last - first).days + 1))


# How long a chosen period's distinct-customer figures are kept in the shared cache. They are
# kept under the period's latest roll-up time: rolling up any day of the period again (the only
# way its rows change what they count) gives a new key.
KEPT_SECONDS = 24 * 3600


def _customer_figures_kept(*, shop: Shop, first: date, last: date, days: list[ShopDay]) -> dict:
    """`analytics_customer_figures` of a chosen period (not a preset the roll-ups store),
    computed once per roll-up of its days: a merchant looking again, or a colleague, reads the
    shared cache. Without a working cache, computed every time."""
    stamp = max((d.computed_at for d in days), default=None)
    key = f"analytics-customers:{shop.pk}:{first}:{last}:{stamp.isoformat() if stamp else '-'}"
    try:
        kept = cache.get(key)
    except Exception:  # the cache is down: count
        logger.warning("analytics cache unavailable", exc_info=True)
        kept = None
    if kept is not None:
        return kept
    figures = analytics_customer_figures(shop=shop, first=first, last=last)
    try:
        cache.set(key, figures, timeout=KEPT_SECONDS)
    except Exception:
        logger.warning("analytics cache unavailable", exc_info=True)
    return figures


def analytics_customer_figures(*, shop: Shop, first: date, last: date) -> dict:
    """Distinct customers over the period: who ordered (members and not), who ordered twice
    or more, which members were active. A customer is a member when their orders were a
    member's (`member_id` set).

    One pass over the period's customer days, counting without grouping: each customer is
    counted on their first order day in the period (their previous order day, if any, is
    before it), a one-order customer on a day with one order that is also their last order day
    in the period (the next is after it), an active member on their first active day in it."""
    rows = CustomerDay.objects.filter(shop=shop, day__gte=first, day__lte=last)
    first_order = Q(orders__gt=0) & (Q(prev_order_day__isnull=True) | Q(prev_order_day__lt=first))
    only_order = (
        first_order & Q(orders=1) & (Q(next_order_day__isnull=True) | Q(next_order_day__gt=last))
    )
    member = Q(member__isnull=False)
    first_active = (
        member
        & (Q(orders__gt=0) | Q(points_activity=True))
        & (Q(prev_active_day__isnull=True) | Q(prev_active_day__lt=first))
    )
    counts = rows.aggregate(
        active_members=Count("day", filter=first_active),
        member_buyers=Count("day", filter=first_order & member),
        member_once=Count("day", filter=only_order & member),
        nonmember_buyers=Count("day", filter=first_order & ~member),
        nonmember_once=Count("day", filter=only_order & ~member),
    )
    return {
        "active_members": counts["active_members"],
        "buyers": counts["member_buyers"] + counts["nonmember_buyers"],
        "member_buyers": counts["member_buyers"],
        "member_repeat_buyers": counts["member_buyers"] - counts["member_once"],
        "nonmember_buyers": counts["nonmember_buyers"],
        "nonmember_repeat_buyers": counts["nonmember_buyers"] - counts["nonmember_once"],
    }
