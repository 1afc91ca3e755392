"""Reads for tiers: the qualification metric, the shop's ladder, a member's progress."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from django.db.models import F, Sum
from django.utils import timezone

from loyalty.earning.models import OrderRecord
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.members.models import Member
from loyalty.shops.models import Program, Shop, TierBasis, TierPeriod
from loyalty.tiers.models import Tier

# Ledger sources whose earn credits count as "points earned": not entry rewards, not staff
# adjustments.
QUALIFYING_SOURCES = ("order", "action")


@dataclasses.dataclass(frozen=True)
class TierLadder:
    """A shop's visible tiers, lowest threshold first. Hidden tiers are not on it."""

    tiers: tuple[Tier, ...]

    @classmethod
    def of(cls, *, shop_id: int) -> TierLadder:
        return cls(tuple(Tier.objects.filter(shop_id=shop_id, hidden=False).order_by("threshold")))

    def reached(self, metric: Decimal) -> Tier | None:
        """The highest tier whose threshold `metric` reaches."""
        return next((t for t in reversed(self.tiers) if t.threshold <= metric), None)

    def rank(self, tier: Tier | None) -> int:
        """-1 for no tier (and for a tier not on the ladder)."""
        if tier is None:
            return -1
        return next((i for i, t in enumerate(self.tiers) if t.pk == tier.pk), -1)

    def highest(self, *tiers: Tier | None) -> Tier | None:
        """The highest of `tiers`; the first one named wins a tie."""
        return max(tiers, key=self.rank)

    def next_above(self, tier: Tier | None) -> Tier | None:
        rank = self.rank(tier)
        return self.tiers[rank + 1] if rank + 1 < len(self.tiers) else None


@dataclasses.dataclass(frozen=True)
class Window:
    start: datetime | None  # inclusive; None: since the beginning
    end: datetime  # inclusive


def qualifying_window(*, program: Program, shop: Shop, at: datetime) -> Window:
    """The program's qualifying period that contains `at`, up to `at`."""
    match program.tier_period:
        case TierPeriod.CALENDAR_YEAR:
            return Window(_year_start(shop, at), at)
        case TierPeriod.ROLLING_12_MONTHS:
            return Window(months_after(at, -12), at)
    return Window(None, at)


def previous_year_window(*, shop: Shop, at: datetime) -> Window:
    """The whole calendar year before the one containing `at`, in the shop's timezone."""
    this_year = _year_start(shop, at)
    last_year = _year_start(shop, this_year - timedelta(days=1))
    return Window(last_year, this_year - timedelta(microseconds=1))


def months_after(at: datetime, months: int) -> datetime:
    """`at` moved by whole calendar months; a day the target month lacks (the 31st, 29 Feb)
    becomes its last day."""
    index = at.year * 12 + (at.month - 1) + months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def member_tier_metric(*, member_id: int, basis: str, window: Window) -> Decimal:
    """What counts toward tiers in `window`, net of refunds: points earned from orders and
    actions (credits less what reversals took back), amount spent, or orders kept."""
    if basis == TierBasis.POINTS_EARNED:
        credits = LedgerEntry.objects.filter(
            member_id=member_id,
            kind=EntryKind.EARN,
            source_type__in=QUALIFYING_SOURCES,
            created_at__lte=window.end,
        )
        if window.start is not None:
            credits = credits.filter(created_at__gte=window.start)
        net = credits.aggregate(net=Sum(F("points") - F("reversed_points")))["net"]
        return Decimal(net or 0)
    orders = OrderRecord.objects.filter(
        member_id=member_id, paid_at__lte=window.end, net_items__gt=0
    )
    if window.start is not None:
        orders = orders.filter(paid_at__gte=window.start)
    if basis == TierBasis.AMOUNT_SPENT:
        return orders.aggregate(total=Sum("net_amount"))["total"] or Decimal("0")
    return Decimal(orders.count())


def member_tier_progress(
    *,
    member: Member,
    now: datetime | None = None,
    ladder: TierLadder | None = None,
    program: Program | None = None,
) -> dict:
    """For the widget: the member's tier and what is left to reach the next one.

    `{"tier": None | {"name", "multiplier", "perks"},
      "next_tier": None | {"name", "threshold", "remaining", "basis"}}`; multiplier is a decimal
    string ("1.5"); threshold and remaining are integers for points and orders, decimal strings
    ("120.50") for amounts in shop currency.

    The metric is the one the last evaluation stored (every order, refund and customer event
    evaluates), so a page view does not sum the member's history; a member never evaluated
    has it computed. `ladder` and `program`: the caller's (cached) copies, to save the reads.
    """
    tier = member.tier
    current = (
        None
        if tier is None
        else {
            "name": tier.name,
            "multiplier": _plain(tier.multiplier),
            "perks": list(tier.perks),
        }
    )
    if tier is not None and tier.hidden:
        return {"tier": current, "next_tier": None}  # hand-assigned: not on the ladder
    ladder = ladder or TierLadder.of(shop_id=member.shop_id)
    following = ladder.next_above(tier)
    if following is None:
        return {"tier": current, "next_tier": None}
    program = program or Program.objects.select_related("shop").get(shop_id=member.shop_id)
    if member.tier_metric_at is not None:
        metric = member.tier_metric
    else:
        window = qualifying_window(program=program, shop=program.shop, at=now or timezone.now())
        metric = member_tier_metric(member_id=member.pk, basis=program.tier_basis, window=window)
    remaining = max(following.threshold - metric, Decimal("0"))
    as_value = _money if program.tier_basis == TierBasis.AMOUNT_SPENT else _count
    return {
        "tier": current,
        "next_tier": {
            "name": following.name,
            "threshold": as_value(following.threshold),
            "remaining": as_value(remaining),
            "basis": program.tier_basis,
        },
    }


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _count(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _year_start(shop: Shop, at: datetime) -> datetime:
    try:
        zone = ZoneInfo(shop.iana_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    return datetime(local.year, 1, 1, tzinfo=zone).astimezone(UTC)
