"""The period figures, from the roll-ups of tests/analytics/conftest.py's history; every
expected value is worked out by hand in the comments."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.analytics.models import CustomerDay, ShopDay
from loyalty.analytics.selectors import (
    analytics_figures,
    analytics_point_value,
    analytics_top_members,
)
from loyalty.analytics.services import analytics_rollup_day, analytics_rollup_range
from loyalty.rewards.models import Reward, RewardKind
from loyalty.tiers.models import Tier
from tests.analytics.conftest import DAY1, DAY2, DAY3
from tests.factories import RewardFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rolled(history):
    analytics_rollup_range(shop=history.shop, first=DAY1, last=DAY3)
    analytics_rollup_range(shop=history.other, first=DAY1, last=DAY3)
    return history


def test_the_three_days(rolled):
    f = analytics_figures(shop=rolled.shop, first=DAY1, last=DAY3)

    assert f.has_data
    assert (f.members_total, f.members_enrolled, f.members_active) == (4, 3, 4)
    # Who ordered: Adam (2 orders), the guest x@example.com (2, whatever the case of the
    # address), customer 900 (2), Dina (1), Chen (1): 5 customers, 3 of them members.
    assert (f.ordering_customers, f.ordering_members) == (5, 3)
    assert f.enrolment_rate == Decimal("0.6000")
    # Points: issued 390 + 30 + 20, redeemed 100 + 60, expired 40, taken back 10 + 30.
    assert (f.points_issued, f.points_redeemed, f.points_expired, f.points_taken_back) == (
        440,
        160,
        40,
        40,
    )
    assert (f.points_pending, f.points_balance) == (0, 200)
    assert f.redemption_rate == Decimal("0.3636")  # 160 / 440
    assert (f.redemptions, f.redemptions_value) == (2, Decimal("16.00"))
    # A point: "5 off" (5.00 for 100 points, the active fixed-amount reward costing the fewest
    # points; "12 off" costs 200, the two used rewards are switched off) = 0.05.
    assert f.point_value.per_point == Decimal("0.050000")
    assert (f.point_value.reward_name, f.point_value.source) == ("5 off", RewardKind.AMOUNT_OFF)
    assert f.liability == Decimal("10.00")  # 200 x 0.05
    # Breakage: 40 expired / (40 expired + 160 redeemed) = 0.2, of 10.00.
    assert (f.history_expired, f.history_redeemed) == (40, 160)
    assert f.breakage_rate == Decimal("0.2000")
    assert f.breakage_estimate == Decimal("2.00")
    # Orders: members 40 + 60 + 80 + 30 = 210.00 in 4; others 25 + 35 + 15 + 45 = 120.00 in 4.
    assert (f.member_orders, f.member_revenue, f.member_aov) == (
        4,
        Decimal("210.00"),
        Decimal("52.50"),
    )
    assert (f.nonmember_orders, f.nonmember_revenue, f.nonmember_aov) == (
        4,
        Decimal("120.00"),
        Decimal("30.00"),
    )
    # Repeat buyers: Adam of 3 members; the guest and customer 900 of 2 others.
    assert (f.member_buyers, f.member_repeat_buyers, f.member_repeat_rate) == (
        3,
        1,
        Decimal("0.3333"),
    )
    assert (f.nonmember_buyers, f.nonmember_repeat_buyers, f.nonmember_repeat_rate) == (
        2,
        2,
        Decimal("1.0000"),
    )
    # Order 1006 used Adam's code: 60.00 of 330.00.
    assert (f.reward_orders, f.reward_revenue, f.reward_revenue_share) == (
        1,
        Decimal("60.00"),
        Decimal("0.1818"),
    )
    silver, gold = (Tier.objects.get(shop=rolled.shop, name=n).pk for n in ("Silver", "Gold"))
    assert f.tiers == [
        {"tier_id": None, "name": "", "members": 2},
        {"tier_id": silver, "name": "Silver", "members": 1},
        {"tier_id": gold, "name": "Gold", "members": 1},
    ]
    assert [d.day for d in f.days] == [DAY1, DAY2, DAY3]


def test_distinct_customers_are_counted_over_the_period_not_added_up_by_day(rolled):
    f = analytics_figures(shop=rolled.shop, first=DAY2, last=DAY3)

    # Day 2 active: Adam, Chen, Dina; day 3: Chen again. Buyers: Adam, the guest, Dina, Chen,
    # customer 900, each once.
    assert f.members_active == 3
    assert (f.ordering_customers, f.ordering_members) == (5, 3)
    assert (f.member_repeat_buyers, f.nonmember_repeat_buyers) == (0, 0)
    assert (f.member_repeat_rate, f.nonmember_repeat_rate) == (Decimal("0"), Decimal("0"))
    # Enrolled in the period: Chen; the total is the state at its end.
    assert (f.members_enrolled, f.members_total) == (1, 4)


def test_the_state_at_period_end_and_breakage_over_history_up_to_it(rolled):
    f = analytics_figures(shop=rolled.shop, first=DAY1, last=DAY1)

    assert (f.points_pending, f.points_balance) == (50, 240)
    assert f.liability == Decimal("12.00")  # 240 x 0.05
    # Nothing had expired by day 1: breakage 0 of 100 redeemed.
    assert (f.breakage_rate, f.breakage_estimate) == (Decimal("0.0000"), Decimal("0.00"))
    assert f.redemption_rate == Decimal("0.2564")  # 100 / 390


def test_another_shops_figures_are_its_own(rolled):
    f = analytics_figures(shop=rolled.other, first=DAY1, last=DAY3)

    assert (f.members_total, f.points_issued, f.points_redeemed) == (1, 5700, 10)
    assert (f.member_revenue, f.nonmember_revenue, f.reward_orders) == (
        Decimal("999.00"),
        Decimal("500.00"),
        1,  # its code was used in its own order 1002
    )
    assert f.point_value.per_point == Decimal("0.100000")  # its 1.00 for 10 points


def test_a_shop_without_roll_ups_has_no_ratio_and_no_division_by_zero(db):
    shop = ShopFactory()

    f = analytics_figures(shop=shop, first=DAY1, last=DAY3)

    assert not f.has_data
    assert f.computed_at is None
    assert (f.members_total, f.points_issued, f.points_balance) == (0, 0, 0)
    for ratio in (
        f.enrolment_rate,
        f.redemption_rate,
        f.breakage_rate,
        f.member_aov,
        f.nonmember_aov,
        f.member_repeat_rate,
        f.nonmember_repeat_rate,
        f.reward_revenue_share,
    ):
        assert ratio is None
    assert (f.point_value, f.liability, f.breakage_estimate) == (None, None, None)
    assert (f.tiers, f.days) == ([], [])


def test_the_point_value_falls_back_on_the_points_to_money_rate(db):
    shop = ShopFactory()
    RewardFactory(shop=shop, kind=RewardKind.PERCENT_OFF, points_cost=50, value=Decimal("10"))
    RewardFactory(shop=shop, kind=RewardKind.AMOUNT_OFF, points_cost=10, enabled=False)
    RewardFactory(
        shop=shop, name="Cash", kind=RewardKind.POINTS_TO_MONEY, points_cost=300, value=Decimal("2")
    )

    value = analytics_point_value(shop=shop)

    assert (value.source, value.reward_name, value.per_point) == (
        RewardKind.POINTS_TO_MONEY,
        "Cash",
        Decimal("0.006667"),  # 2.00 / 300
    )


def test_a_reward_outside_its_dates_gives_no_value(db):
    shop = ShopFactory()
    RewardFactory(shop=shop, starts_at=date(2099, 1, 1).isoformat() + "T00:00:00Z")

    assert analytics_point_value(shop=shop) is None
    assert Reward.objects.filter(shop=shop).count() == 1


def test_top_members_are_the_highest_lifetime_earners_of_the_shop(rolled):
    top = analytics_top_members(shop=rolled.shop)

    # Dina 200 + 40; Adam 100 - 30 refunded; Bella 50 and Chen 50 (then by id).
    assert [(m.first_name, m.lifetime_earned) for m in top] == [
        ("Dina", 240),
        ("Adam", 70),
        ("Bella", 50),
        ("Chen", 50),
    ]
    assert [m.tier.name if m.tier else None for m in top] == ["Gold", "Silver", None, None]


def test_each_days_roll_up_stores_the_distinct_customers_of_the_7_30_and_90_days_to_it(rolled):
    day3 = ShopDay.objects.get(shop=rolled.shop, day=DAY3)
    # Nothing happened before day 1: every window to day 3 holds the three days' customers.
    whole = {
        "active_members": 4,
        "buyers": 5,
        "member_buyers": 3,
        "member_repeat_buyers": 1,
        "nonmember_buyers": 2,
        "nonmember_repeat_buyers": 2,
    }
    assert day3.windows == {"7": whole, "30": whole, "90": whole}
    # A range stores them for its last day only (the page reads today's); a day alone, always.
    assert ShopDay.objects.get(shop=rolled.shop, day=DAY2).windows == {}
    day2 = analytics_rollup_day(shop=rolled.shop, day=DAY2)
    # To day 2: Adam, Bella, Dina, Chen active; buyers Adam (2), the guest (2), 900, Dina.
    assert day2.windows["7"] == {
        "active_members": 4,
        "buyers": 4,
        "member_buyers": 2,
        "member_repeat_buyers": 1,
        "nonmember_buyers": 2,
        "nonmember_repeat_buyers": 1,
    }


def test_a_preset_period_reads_the_stored_window_and_any_other_counts_live(rolled):
    day3 = ShopDay.objects.get(shop=rolled.shop, day=DAY3)
    day3.windows["7"]["buyers"] = 999  # marks the stored figure
    day3.save()

    week = analytics_figures(shop=rolled.shop, first=DAY3 - timedelta(days=6), last=DAY3)
    eight_days = analytics_figures(shop=rolled.shop, first=DAY3 - timedelta(days=7), last=DAY3)

    assert week.ordering_customers == 999
    assert eight_days.ordering_customers == 5
    assert week.enrolment_rate == Decimal("0.0030")  # 3 / 999


def test_a_chosen_periods_customers_are_counted_once_per_roll_up_of_its_days(rolled):
    first, last = DAY3 - timedelta(days=7), DAY3  # eight days: no stored window
    assert analytics_figures(shop=rolled.shop, first=first, last=last).ordering_customers == 5

    # Rows changed behind the roll-up's back are not counted again: the figures are kept ...
    CustomerDay.objects.filter(shop=rolled.shop, day=DAY3).delete()
    assert analytics_figures(shop=rolled.shop, first=first, last=last).ordering_customers == 5
    # ... until a day of the period is rolled up again (it rebuilds the day's customers).
    analytics_rollup_day(shop=rolled.shop, day=DAY3)
    assert analytics_figures(shop=rolled.shop, first=first, last=last).ordering_customers == 5
    CustomerDay.objects.filter(shop=rolled.shop, day=DAY3).delete()
    ShopDay.objects.filter(shop=rolled.shop, day=DAY3).update(computed_at=timezone.now())
    assert analytics_figures(shop=rolled.shop, first=first, last=last).ordering_customers < 5
