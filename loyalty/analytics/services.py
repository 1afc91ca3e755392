"""Building the daily roll-ups (`ShopDay`, `CustomerDay`) from the ledger, the orders, the
redemptions and the tier history.

`analytics_rollup_day` recomputes one day of one shop from scratch, with a handful of
set-based aggregates (the database does the counting; nothing loops over members in Python),
and replaces that day's rows: running it twice gives the same rows.

How the ledger's entries are classed (each entry in exactly one class, so that the points held
change each day by issued - redeemed - expired - taken back):
- issued: credits (earn, positive adjust);
- redeemed: redeem debits, less reversals of them (a failed or expired code's points returned);
- expired: expire debits, less reversals of them;
- taken back: reversals of credits (refunds), negative adjustments (by hand, debt repayments),
  less reversals of those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Lower
from django.utils import timezone

from loyalty.analytics.models import CustomerDay, ShopDay
from loyalty.analytics.selectors import WINDOWS, analytics_customer_figures
from loyalty.earning.models import OrderRecord
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.members.models import Member
from loyalty.members.services import redacted_customer_id
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.shops.models import Shop
from loyalty.tiers.models import Tier, TierHistory

ZERO = Decimal("0")
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=16, decimal_places=2)

# Member activity, as the ledger defines it: earning (any credit) or redeeming.
ACTIVITY = Q(kind__in=(EntryKind.EARN, EntryKind.ADJUST), points__gt=0) | Q(kind=EntryKind.REDEEM)
ISSUED = Q(kind__in=(EntryKind.EARN, EntryKind.ADJUST), points__gt=0)
REDEEMED = Q(kind=EntryKind.REDEEM) | Q(kind=EntryKind.REVERSE, reverses__kind=EntryKind.REDEEM)
EXPIRED = Q(kind=EntryKind.EXPIRE) | Q(kind=EntryKind.REVERSE, reverses__kind=EntryKind.EXPIRE)
TAKEN_BACK = Q(kind=EntryKind.ADJUST, points__lt=0) | (
    Q(kind=EntryKind.REVERSE) & ~Q(reverses__kind__in=(EntryKind.REDEEM, EntryKind.EXPIRE))
)


@dataclasses.dataclass(frozen=True)
class DayBounds:
    day: date
    start: datetime
    end: datetime


def shop_zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.iana_timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def shop_today(*, shop: Shop, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(shop_zone(shop)).date()


def day_bounds(*, shop: Shop, day: date) -> DayBounds:
    """The day's first instant and the next day's, in the shop's zone (23 or 25 hours long on
    a daylight-saving change)."""
    zone = shop_zone(shop)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return DayBounds(day=day, start=start, end=end)


def counted_orders(*, shop: Shop):
    """Orders that count as sales: paid, not cancelled, something kept (`net_amount` is 0 for
    tests, cancellations and orders refunded in full). Revenue is `net_amount`: goods after
    discounts and refunds, without shipping, tax or gift cards."""
    return OrderRecord.objects.filter(
        shop=shop, paid_at__isnull=False, cancelled_at__isnull=True, net_amount__gt=0
    )


def analytics_rollup_day(
    *, shop: Shop, day: date, now: datetime | None = None, windows: bool = True
) -> ShopDay:
    """Recompute `shop`'s figures for `day` (its own calendar) and replace its rows.

    `windows`: also count the distinct customers of the 7, 30 and 90 days ending with `day`
    (the page's presets read them from the day that ends them: today). The slow part of a
    roll-up, so a range computes them for its last day only."""
    now = now or timezone.now()
    bounds = day_bounds(shop=shop, day=day)
    with transaction.atomic():
        # The day's row first, locked: two roll-ups of the same day take turns.
        ShopDay.objects.get_or_create(shop=shop, day=day, defaults={"computed_at": now})
        row = ShopDay.objects.select_for_update().get(shop=shop, day=day)
        before = CustomerDay.objects.filter(shop=shop, day=day)
        keys = set(before.values_list("customer_key", flat=True))
        before.delete()
        _insert_customer_days(shop, bounds)
        keys.update(before.values_list("customer_key", flat=True))
        link_customer_days(shop_id=shop.pk, keys=keys)
        figures = {
            **_member_figures(shop, bounds),
            **_points_figures(shop, bounds),
            **_redemption_figures(shop, bounds),
            **_order_figures(shop, bounds),
            "tiers": _tier_distribution(shop, bounds),
            "windows": _windows(shop, day) if windows else {},
            "computed_at": now,
        }
        for name, value in figures.items():
            setattr(row, name, value)
        row.save()
    return row


def analytics_rollup_range(*, shop: Shop, first: date, last: date) -> int:
    """Roll up every day from `first` to `last` inclusive, in date order (a backfill; the
    periodic task's yesterday and today); the last day with its windows. Returns how many."""
    days = 0
    day = first
    while day <= last:
        analytics_rollup_day(shop=shop, day=day, windows=day == last)
        day += timedelta(days=1)
        days += 1
    return days


# --- the figures ------------------------------------------------------------------------------


def _member_figures(shop: Shop, bounds: DayBounds) -> dict:
    members = Member.objects.filter(shop=shop, enrolled_at__lt=bounds.end).aggregate(
        total=Count("id"), enrolled=Count("id", filter=Q(enrolled_at__gte=bounds.start))
    )
    active = CustomerDay.objects.filter(
        Q(orders__gt=0) | Q(points_activity=True),
        shop=shop,
        day=bounds.day,
        member__isnull=False,
    ).count()
    return {
        "members_total": members["total"],
        "members_enrolled": members["enrolled"],
        "members_active": active,
    }


def _points_figures(shop: Shop, bounds: DayBounds) -> dict:
    in_day = Q(created_at__gte=bounds.start)
    # Pending at day end: credits not yet available then, and the reversals of such credits.
    pending = Q(ISSUED, available_at__gt=bounds.end) | Q(
        kind=EntryKind.REVERSE, reverses__points__gt=0, reverses__available_at__gt=bounds.end
    )
    sums = LedgerEntry.objects.filter(shop=shop, created_at__lt=bounds.end).aggregate(
        held=Sum("points", default=0),
        pending=Sum("points", filter=pending, default=0),
        issued=Sum("points", filter=in_day & ISSUED, default=0),
        redeemed=Sum("points", filter=in_day & REDEEMED, default=0),
        expired=Sum("points", filter=in_day & EXPIRED, default=0),
        taken_back=Sum("points", filter=in_day & TAKEN_BACK, default=0),
    )
    return {
        "points_issued": sums["issued"],
        "points_redeemed": -sums["redeemed"],
        "points_expired": -sums["expired"],
        "points_taken_back": -sums["taken_back"],
        "points_pending_end": sums["pending"],
        "points_balance_end": sums["held"] - sums["pending"],
    }


def _redemption_figures(shop: Shop, bounds: DayBounds) -> dict:
    sums = (
        Redemption.objects.filter(
            shop=shop, created_at__gte=bounds.start, created_at__lt=bounds.end
        )
        .exclude(status=RedemptionStatus.FAILED)
        .aggregate(count=Count("id"), value=Sum("money_value", default=ZERO))
    )
    return {"redemptions": sums["count"], "redemptions_value": _money(sums["value"])}


def _order_figures(shop: Shop, bounds: DayBounds) -> dict:
    used_reward = Exists(
        Redemption.objects.filter(
            shop=shop, status=RedemptionStatus.USED, order_id=OuterRef("order_id")
        )
    )
    member = Q(member__isnull=False)
    sums = (
        counted_orders(shop=shop)
        .filter(paid_at__gte=bounds.start, paid_at__lt=bounds.end)
        .annotate(used_reward=used_reward)
        .aggregate(
            member_orders=Count("id", filter=member),
            member_revenue=Sum("net_amount", filter=member, default=ZERO),
            nonmember_orders=Count("id", filter=~member),
            nonmember_revenue=Sum("net_amount", filter=~member, default=ZERO),
            reward_orders=Count("id", filter=Q(used_reward=True)),
            reward_revenue=Sum("net_amount", filter=Q(used_reward=True), default=ZERO),
        )
    )
    return {name: _money(v) if isinstance(v, Decimal) else v for name, v in sums.items()}


def _money(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT)


def _windows(shop: Shop, day: date) -> dict[str, dict]:
    """The distinct-customer figures of the 7, 30 and 90 days ending with `day`, from the
    customer days already rolled up (earlier days first: a backfill goes in date order)."""
    return {
        str(n): analytics_customer_figures(shop=shop, first=day - timedelta(days=n - 1), last=day)
        for n in WINDOWS
    }


def _tier_distribution(shop: Shop, bounds: DayBounds) -> list[dict]:
    """Members enrolled by day end, by the tier their latest tier change before then put them
    in (no change yet: no tier)."""
    latest = TierHistory.objects.filter(member=OuterRef("pk"), at__lt=bounds.end).order_by(
        "-at", "-pk"
    )
    rows = (
        Member.objects.filter(shop=shop, enrolled_at__lt=bounds.end)
        .annotate(
            tier_then=Subquery(latest.values("to_tier_id")[:1]),
            name_then=Subquery(latest.values("to_name")[:1]),
        )
        .values("tier_then", "name_then")
        .annotate(members=Count("id"))
        .order_by()
    )
    tiers = list(Tier.objects.filter(shop=shop).values_list("pk", "name"))  # by threshold
    rank = {pk: i for i, (pk, _) in enumerate(tiers)}
    names = dict(tiers)
    counts: dict[tuple, dict] = {}
    for row in rows:  # one row per tier (and the name it had then), not per member
        tier_id = row["tier_then"] if row["tier_then"] in names else None
        name = names[tier_id] if tier_id is not None else (row["name_then"] or "")
        entry = counts.setdefault((tier_id, name), {"tier_id": tier_id, "name": name, "members": 0})
        entry["members"] += row["members"]

    def position(entry: dict) -> tuple:
        if entry["tier_id"] is not None:
            return (1, rank[entry["tier_id"]], "")
        # No tier first; tiers deleted since (known by name only) last.
        return (0, 0, "") if not entry["name"] else (2, 0, entry["name"])

    return sorted(counts.values(), key=position)


# --- customers of the day ---------------------------------------------------------------------

# Keys per relinking statement (a day of a big shop has tens of thousands of customers; SQLite
# takes at most 32,766 parameters).
LINK_CHUNK = 2_000

# Each of a customer's days with its neighbours, by window functions over the customer's days
# (CASE rather than FILTER: SQLite 3.40 applies a window aggregate's FILTER wrongly over a
# frame), written only where they changed.
_LINK_SQL = """
UPDATE {table} SET prev_order_day = w.prev_order, next_order_day = w.next_order,
    prev_active_day = w.prev_active
FROM (
    SELECT id,
        MAX(CASE WHEN orders > 0 THEN day END) OVER before_ AS prev_order,
        MIN(CASE WHEN orders > 0 THEN day END) OVER after_ AS next_order,
        MAX(CASE WHEN orders > 0 OR points_activity THEN day END) OVER before_ AS prev_active
    FROM {table}
    WHERE shop_id = %s {keys}
    WINDOW before_ AS (PARTITION BY customer_key ORDER BY day
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
           after_ AS (PARTITION BY customer_key ORDER BY day
                      ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
) AS w
WHERE {table}.id = w.id AND (
    {table}.prev_order_day IS DISTINCT FROM w.prev_order
    OR {table}.next_order_day IS DISTINCT FROM w.next_order
    OR {table}.prev_active_day IS DISTINCT FROM w.prev_active
)
"""


def analytics_customer_redact(
    *, shop: Shop, platform_customer_id: str, emails: Iterable[str] = ()
) -> int:
    """Erase who a customer was from the customer days: the days keyed by their customer id,
    and their guest orders' days keyed by one of `emails`, are keyed by the stand-in their
    order records get (`c` + the erased id), so a day rolled up again agrees; a guest day on a
    day the customer also ordered signed in is merged into that day's row. Returns how many
    rows changed. Members' days are keyed by member id: nothing to erase."""
    target = "c" + redacted_customer_id(shop=shop, platform_customer_id=platform_customer_id)
    rows = CustomerDay.objects.filter(shop=shop)
    changed = rows.filter(customer_key=f"c{platform_customer_id}").update(customer_key=target)
    guest_keys = {f"e{e.strip().lower()}" for e in emails if e and e.strip()}
    for guest in rows.filter(customer_key__in=guest_keys).select_for_update().order_by("pk"):
        same_day = rows.filter(customer_key=target, day=guest.day).first()
        if same_day is None:
            guest.customer_key = target
            guest.save(update_fields=["customer_key"])
        else:
            same_day.orders += guest.orders
            same_day.revenue += guest.revenue
            same_day.points_activity = same_day.points_activity or guest.points_activity
            same_day.member_id = same_day.member_id or guest.member_id
            same_day.save(update_fields=["orders", "revenue", "points_activity", "member"])
            guest.delete()
        changed += 1
    if changed:
        link_customer_days(shop_id=shop.pk, keys={target})
    return changed


def link_customer_days(*, shop_id: int, keys: set[str] | None = None) -> None:
    """Set the neighbouring days (`prev_order_day`, `next_order_day`, `prev_active_day`) of
    the customer days of `keys` (the customers of a day just rolled up, before and after), or
    of every customer of the shop (`keys` None: a backfill, the migration)."""
    table = connection.ops.quote_name(CustomerDay._meta.db_table)
    with connection.cursor() as cursor:
        if keys is None:
            cursor.execute(_LINK_SQL.format(table=table, keys=""), [shop_id])
            return
        ordered = sorted(keys)
        for start in range(0, len(ordered), LINK_CHUNK):
            chunk = ordered[start : start + LINK_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                _LINK_SQL.format(table=table, keys=f"AND customer_key IN ({marks})"),
                [shop_id, *chunk],
            )


def _insert_customer_days(shop: Shop, bounds: DayBounds) -> None:
    """One INSERT ... SELECT: the day's kept orders per customer, and the members who earned
    or redeemed, merged per customer by the database."""
    orders = (
        counted_orders(shop=shop)
        .filter(paid_at__gte=bounds.start, paid_at__lt=bounds.end)
        .annotate(
            c_key=Case(
                When(
                    member__isnull=False,
                    then=Concat(Value("m"), Cast("member_id", CharField())),
                ),
                When(
                    ~Q(platform_customer_id=""),
                    then=Concat(Value("c"), F("platform_customer_id")),
                ),
                When(~Q(email=""), then=Concat(Value("e"), Lower("email"))),
                default=Concat(Value("o"), F("order_id")),
                output_field=CharField(),
            ),
            c_member=F("member_id"),
        )
        .values("c_key", "c_member")
        .annotate(
            c_orders=Count("id"),
            c_revenue=Coalesce(Sum("net_amount"), Value(ZERO), output_field=MONEY),
            c_active=Value(0, output_field=IntegerField()),
        )
        .order_by()
    )
    active = (
        LedgerEntry.objects.filter(
            ACTIVITY, shop=shop, created_at__gte=bounds.start, created_at__lt=bounds.end
        )
        .annotate(
            c_key=Concat(Value("m"), Cast("member_id", CharField()), output_field=CharField()),
            c_member=F("member_id"),
        )
        .values("c_key", "c_member")
        .annotate(
            c_orders=Value(0, output_field=IntegerField()),
            c_revenue=Value(ZERO, output_field=MONEY),
            c_active=Value(1, output_field=IntegerField()),
        )
        .order_by()
        .distinct()
    )
    orders_sql, orders_params = orders.query.sql_with_params()
    active_sql, active_params = active.query.sql_with_params()
    table = CustomerDay._meta.db_table
    q = connection.ops.quote_name
    # Only quoted names and the ORM's own compiled SQL are put in the text; values are params.
    sql = (
        f"INSERT INTO {q(table)} "  # noqa: S608
        f"({q('shop_id')}, {q('day')}, {q('customer_key')}, {q('member_id')}, {q('orders')}, "
        f"{q('revenue')}, {q('points_activity')}) "
        f"SELECT %s, %s, u.c_key, MAX(u.c_member), SUM(u.c_orders), SUM(u.c_revenue), "
        f"MAX(u.c_active) > 0 "
        f"FROM ({orders_sql} UNION ALL {active_sql}) u GROUP BY u.c_key"
    )
    params = (
        shop.pk,
        connection.ops.adapt_datefield_value(bounds.day),
        *orders_params,
        *active_params,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
