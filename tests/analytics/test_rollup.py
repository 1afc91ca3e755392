"""analytics_rollup_day against the hand-computed history of tests/analytics/conftest.py."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.analytics.models import CustomerDay, ShopDay
from loyalty.analytics.services import analytics_rollup_day, day_bounds, shop_today
from loyalty.analytics.tasks import rollup_recent_days
from loyalty.ledger.services import ledger_credit
from loyalty.tiers.models import Tier
from tests.analytics.conftest import DAY1, DAY2, DAY3, at, order
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db

FIGURES = (
    "members_enrolled",
    "members_total",
    "members_active",
    "points_issued",
    "points_redeemed",
    "points_expired",
    "points_taken_back",
    "points_pending_end",
    "points_balance_end",
    "redemptions",
    "redemptions_value",
    "member_orders",
    "member_revenue",
    "nonmember_orders",
    "nonmember_revenue",
    "reward_orders",
    "reward_revenue",
    "tiers",
)


def figures(row: ShopDay) -> dict:
    return {name: getattr(row, name) for name in FIGURES}


def tier_id(shop, name):
    return Tier.objects.get(shop=shop, name=name).pk


def customer_days(shop, day):
    return sorted(
        CustomerDay.objects.filter(shop=shop, day=day).values_list(
            "customer_key", "member_id", "orders", "revenue", "points_activity"
        )
    )


def test_day_one(history):
    row = analytics_rollup_day(shop=history.shop, day=DAY1)

    assert figures(row) == {
        "members_enrolled": 2,  # Adam, Bella
        "members_total": 3,  # and Dina
        "members_active": 3,  # all three earned
        "points_issued": 390,  # 100 + 50 + 200 + 40
        "points_redeemed": 100,
        "points_expired": 0,
        "points_taken_back": 0,
        "points_pending_end": 50,  # Bella's
        "points_balance_end": 240,  # 390 - 100 - 50
        "redemptions": 1,
        "redemptions_value": Decimal("10.00"),
        "member_orders": 1,  # Adam's; Dina's was cancelled
        "member_revenue": Decimal("40.00"),
        "nonmember_orders": 2,  # the guest's and customer 900's; the test order is not counted
        "nonmember_revenue": Decimal("60.00"),
        "reward_orders": 0,
        "reward_revenue": Decimal("0.00"),
        "tiers": [
            {"tier_id": None, "name": "", "members": 2},
            {"tier_id": tier_id(history.shop, "Silver"), "name": "Silver", "members": 1},
        ],
    }
    # The row read back holds the same.
    assert figures(ShopDay.objects.get(shop=history.shop, day=DAY1)) == figures(row)


def test_day_one_customers(history):
    analytics_rollup_day(shop=history.shop, day=DAY1)

    adam, bella, dina = history.adam.pk, history.bella.pk, history.dina.pk
    assert customer_days(history.shop, DAY1) == sorted(
        [
            ("c900", None, 1, Decimal("35.00"), False),
            ("ex@example.com", None, 1, Decimal("25.00"), False),
            (f"m{adam}", adam, 1, Decimal("40.00"), True),
            (f"m{bella}", bella, 0, Decimal("0.00"), True),
            (f"m{dina}", dina, 0, Decimal("0.00"), True),
        ]
    )


def test_day_two(history):
    row = analytics_rollup_day(shop=history.shop, day=DAY2)

    assert figures(row) == {
        "members_enrolled": 1,  # Chen
        "members_total": 4,
        "members_active": 3,  # Adam and Dina redeemed and ordered, Chen earned
        "points_issued": 30,
        "points_redeemed": 60,  # 60 + 50 - the failed redemption's 50 returned
        "points_expired": 40,
        "points_taken_back": 10,  # deducted by hand
        "points_pending_end": 50,
        "points_balance_end": 160,  # 240 + 30 - 60 - 40 - 10
        "redemptions": 1,  # the failed one is not counted
        "redemptions_value": Decimal("6.00"),
        "member_orders": 2,
        "member_revenue": Decimal("140.00"),
        "nonmember_orders": 1,  # the guest's at 00:30 local, still day 1 in UTC
        "nonmember_revenue": Decimal("15.00"),
        "reward_orders": 1,  # order 1006 used Adam's code; the other shop's 1002 is not ours
        "reward_revenue": Decimal("60.00"),
        "tiers": [
            {"tier_id": None, "name": "", "members": 2},
            {"tier_id": tier_id(history.shop, "Silver"), "name": "Silver", "members": 1},
            {"tier_id": tier_id(history.shop, "Gold"), "name": "Gold", "members": 1},
        ],
    }


def test_day_three(history):
    row = analytics_rollup_day(shop=history.shop, day=DAY3)

    assert figures(row) == {
        "members_enrolled": 0,
        "members_total": 4,
        "members_active": 1,  # Chen; a refund is not Adam's doing
        "points_issued": 20,  # at 07:00 local, still day 2 in UTC
        "points_redeemed": 0,
        "points_expired": 0,
        "points_taken_back": 30,
        "points_pending_end": 0,  # Bella's 50 became spendable at 11:00
        "points_balance_end": 200,
        "redemptions": 0,
        "redemptions_value": Decimal("0.00"),
        "member_orders": 1,
        "member_revenue": Decimal("30.00"),
        "nonmember_orders": 1,
        "nonmember_revenue": Decimal("45.00"),
        "reward_orders": 0,
        "reward_revenue": Decimal("0.00"),
        "tiers": [
            {"tier_id": None, "name": "", "members": 2},
            {"tier_id": tier_id(history.shop, "Silver"), "name": "Silver", "members": 1},
            {"tier_id": tier_id(history.shop, "Gold"), "name": "Gold", "members": 1},
        ],
    }


def test_the_balance_at_day_end_matches_the_members_counters(history):
    """The points held at day end, from the ledger, agree with the members' counters."""
    row = analytics_rollup_day(shop=history.shop, day=DAY3)

    members = [history.adam, history.bella, history.chen, history.dina]
    for member in members:
        member.refresh_from_db()
    # The counters release pending points lazily (Bella's 50 are still "pending" there).
    held = sum(m.points_balance + m.points_pending for m in members)
    assert row.points_balance_end + row.points_pending_end == held == 200


def test_rolling_up_twice_gives_the_same_rows(history):
    first = figures(analytics_rollup_day(shop=history.shop, day=DAY2))
    first_customers = customer_days(history.shop, DAY2)

    again = analytics_rollup_day(shop=history.shop, day=DAY2)

    assert figures(again) == first
    assert customer_days(history.shop, DAY2) == first_customers
    assert ShopDay.objects.filter(shop=history.shop).count() == 1
    assert CustomerDay.objects.filter(shop=history.shop, day=DAY2).count() == 4


def test_a_late_order_replaces_the_days_figures_on_the_next_roll_up(history):
    analytics_rollup_day(shop=history.shop, day=DAY2)
    order(history.shop, "1011", "12.50", at(DAY2, 20), customer="900")

    row = analytics_rollup_day(shop=history.shop, day=DAY2)

    assert (row.nonmember_orders, row.nonmember_revenue) == (2, Decimal("27.50"))
    assert CustomerDay.objects.get(shop=history.shop, day=DAY2, customer_key="c900").orders == 1


def test_another_shops_day_counts_only_its_own(history):
    row = analytics_rollup_day(shop=history.other, day=DAY2)

    assert (row.members_total, row.points_issued, row.points_redeemed) == (1, 700, 10)
    assert (row.points_pending_end, row.points_balance_end) == (5000, 690)
    assert (row.member_orders, row.member_revenue, row.nonmember_orders) == (
        1,
        Decimal("999.00"),
        0,
    )
    assert (row.reward_orders, row.redemptions, row.tiers) == (
        0,
        1,
        [{"tier_id": None, "name": "", "members": 1}],
    )


def test_a_shop_with_nothing_rolls_up_zeros(db):
    shop = ShopFactory()

    row = analytics_rollup_day(shop=shop, day=DAY1)

    assert figures(row) == {
        **{name: 0 for name in FIGURES},
        "redemptions_value": Decimal("0.00"),
        "member_revenue": Decimal("0.00"),
        "nonmember_revenue": Decimal("0.00"),
        "reward_revenue": Decimal("0.00"),
        "tiers": [],
    }
    assert not CustomerDay.objects.filter(shop=shop).exists()


# --- the shop's calendar ----------------------------------------------------------------------

NY = ZoneInfo("America/New_York")


def test_days_follow_the_shops_time_zone_across_a_daylight_saving_change(db):
    """New York falls back on 2026-11-01: that day is 25 hours long, 04:00Z to 05:00Z next."""
    shop = ShopFactory(iana_timezone="America/New_York")
    member = MemberFactory(shop=shop, enrolled_at=datetime(2026, 10, 1, tzinfo=UTC))
    for points, when in (
        (1, datetime(2026, 11, 1, 3, 30, tzinfo=UTC)),  # Oct 31, 23:30 EDT
        (10, datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),  # Nov 1, 00:30 EDT
        (100, datetime(2026, 11, 2, 4, 30, tzinfo=UTC)),  # Nov 1, 23:30 EST
        (1000, datetime(2026, 11, 2, 5, 30, tzinfo=UTC)),  # Nov 2, 00:30 EST
    ):
        ledger_credit(
            member=member, points=points, idempotency_key=str(points), source_type="t", now=when
        )
    order(shop, "1", "7.00", datetime(2026, 11, 2, 4, 59, tzinfo=UTC), member=member)
    order(shop, "2", "9.00", datetime(2026, 11, 2, 5, 0, tzinfo=UTC), member=member)

    oct31, nov1, nov2 = (
        analytics_rollup_day(shop=shop, day=date(2026, month, day))
        for month, day in ((10, 31), (11, 1), (11, 2))
    )

    bounds = day_bounds(shop=shop, day=date(2026, 11, 1))
    assert bounds.start.astimezone(UTC) == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert bounds.end.astimezone(UTC) == datetime(2026, 11, 2, 5, tzinfo=UTC)
    assert [d.points_issued for d in (oct31, nov1, nov2)] == [1, 110, 1000]
    assert [d.points_balance_end for d in (oct31, nov1, nov2)] == [1, 111, 1111]
    assert [d.member_revenue for d in (oct31, nov1, nov2)] == [
        Decimal("0.00"),
        Decimal("7.00"),
        Decimal("9.00"),
    ]


def test_an_unknown_time_zone_counts_days_in_utc(db):
    shop = ShopFactory(iana_timezone="Mars/Olympus_Mons")

    bounds = day_bounds(shop=shop, day=DAY1)

    assert bounds.start == datetime(2026, 3, 2, tzinfo=UTC)
    assert shop_today(shop=shop, now=datetime(2026, 3, 2, 23, 59, tzinfo=UTC)) == DAY1


# --- the periodic task and the backfill -------------------------------------------------------


def test_the_periodic_task_rolls_up_yesterday_and_today_of_installed_shops(db):
    installed = ShopFactory(iana_timezone="Pacific/Kiritimati")  # UTC+14
    ShopFactory(uninstalled_at=datetime(2026, 1, 1, tzinfo=UTC))
    ShopFactory(installed_at=None)

    assert rollup_recent_days() == 1

    today = shop_today(shop=installed)
    assert sorted(ShopDay.objects.values_list("shop_id", "day")) == [
        (installed.pk, date.fromordinal(today.toordinal() - 1)),
        (installed.pk, today),
    ]


def test_the_backfill_command_rolls_up_each_day_of_the_range(history, capsys):
    call_command(
        "analytics_backfill",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-04",
        "--shop",
        history.shop.domain,
    )

    assert list(
        ShopDay.objects.filter(shop=history.shop)
        .order_by("day")
        .values_list("day", "points_balance_end")
    ) == [(date(2026, 3, 1), 0), (DAY1, 240), (DAY2, 160), (DAY3, 200)]
    assert not ShopDay.objects.filter(shop=history.other).exists()
    assert f"{history.shop.domain}: 4 days rolled up" in capsys.readouterr().out


def test_the_backfill_command_refuses_a_range_backwards(db):
    with pytest.raises(CommandError, match="before"):
        call_command("analytics_backfill", "--from", "2026-03-04", "--to", "2026-03-01")

    assert not ShopDay.objects.exists()


def test_the_backfill_command_without_a_shop_rolls_up_every_installed_shop(db, capsys):
    first, second = ShopFactory(), ShopFactory()
    ShopFactory(uninstalled_at=datetime(2026, 1, 1, tzinfo=UTC))

    call_command("analytics_backfill", "--from", "2026-03-01", "--to", "2026-03-02")

    assert sorted(ShopDay.objects.values_list("shop_id", "day")) == [
        (first.pk, date(2026, 3, 1)),
        (first.pk, DAY1),
        (second.pk, date(2026, 3, 1)),
        (second.pk, DAY1),
    ]
