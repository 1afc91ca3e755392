"""What counts toward tiers: each basis over each period, net of refunds, time set by the test."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.ledger.services import ledger_credit, ledger_reverse
from loyalty.shops.models import TierBasis, TierPeriod
from loyalty.tiers.selectors import member_tier_metric, months_after, qualifying_window
from tests.factories import MemberFactory, ShopFactory
from tests.tiers.helpers import earned, paid_order

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def member():
    shop = ShopFactory(iana_timezone="Asia/Kuala_Lumpur", currency="MYR")
    return MemberFactory(shop=shop)


def metric(member, *, basis, period, at=NOW):
    program = member.shop.program
    program.tier_basis, program.tier_period = basis, period
    window = qualifying_window(program=program, shop=member.shop, at=at)
    return member_tier_metric(member_id=member.pk, basis=basis, window=window)


def test_points_earned_counts_order_and_action_credits_net_of_their_reversals(member):
    order_credit = earned(member, 300, NOW - timedelta(days=3))
    earned(member, 50, NOW - timedelta(days=2), source_type="action")
    ledger_reverse(entry=order_credit, points=120, idempotency_key="refund-1", now=NOW)
    # Neither entry rewards nor staff adjustments are "earned".
    earned(member, 500, NOW - timedelta(days=1), source_type="tier")
    ledger_credit(
        member=member,
        points=70,
        kind="adjust",
        idempotency_key="staff-1",
        source_type="staff",
        now=NOW,
    )

    value = metric(member, basis=TierBasis.POINTS_EARNED, period=TierPeriod.LIFETIME)

    assert value == Decimal("230")  # 300 - 120 + 50


def test_points_earned_over_the_calendar_year_of_the_shops_timezone(member):
    # 2026-12-31 17:00 UTC is 2027-01-01 01:00 in Kuala Lumpur (UTC+8).
    earned(member, 100, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    earned(member, 40, datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    earned(member, 7, datetime(2025, 12, 31, 12, 0, tzinfo=UTC))

    in_2027 = metric(
        member,
        basis=TierBasis.POINTS_EARNED,
        period=TierPeriod.CALENDAR_YEAR,
        at=datetime(2027, 3, 1, tzinfo=UTC),
    )
    in_2026 = metric(
        member,
        basis=TierBasis.POINTS_EARNED,
        period=TierPeriod.CALENDAR_YEAR,
        at=datetime(2026, 12, 31, 15, 59, 30, tzinfo=UTC),
    )

    assert (in_2027, in_2026) == (Decimal("40"), Decimal("100"))


def test_points_earned_over_a_rolling_12_months(member):
    earned(member, 100, NOW - timedelta(days=366))
    earned(member, 30, months_after(NOW, -12))  # the first instant of the window counts
    earned(member, 20, NOW - timedelta(days=200))
    earned(member, 5, NOW + timedelta(seconds=1))  # after `now`: not yet

    value = metric(member, basis=TierBasis.POINTS_EARNED, period=TierPeriod.ROLLING_12_MONTHS)

    assert value == Decimal("50")


def test_amount_spent_sums_what_paid_orders_kept_in_the_period(member):
    paid_order(member, "120.50", NOW - timedelta(days=400))
    paid_order(member, "80.25", NOW - timedelta(days=10))
    paid_order(member, "0", NOW - timedelta(days=5), items=0)  # refunded in full or cancelled

    lifetime = metric(member, basis=TierBasis.AMOUNT_SPENT, period=TierPeriod.LIFETIME)
    rolling = metric(member, basis=TierBasis.AMOUNT_SPENT, period=TierPeriod.ROLLING_12_MONTHS)

    assert (lifetime, rolling) == (Decimal("200.75"), Decimal("80.25"))


def test_orders_count_leaves_out_fully_refunded_and_cancelled_orders(member):
    paid_order(member, "10.00", datetime(2026, 1, 5, tzinfo=UTC))
    paid_order(member, "10.00", datetime(2026, 6, 5, tzinfo=UTC), items=3)
    paid_order(member, "0", datetime(2026, 7, 5, tzinfo=UTC), items=0)
    paid_order(member, "10.00", datetime(2025, 6, 5, tzinfo=UTC))

    value = metric(member, basis=TierBasis.ORDERS_COUNT, period=TierPeriod.CALENDAR_YEAR)

    assert value == Decimal("2")


def test_months_after_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert months_after(datetime(2026, 3, 31, 9, tzinfo=UTC), -1) == datetime(
        2026, 2, 28, 9, tzinfo=UTC
    )
    assert months_after(datetime(2028, 2, 29, tzinfo=UTC), 12) == datetime(2029, 2, 28, tzinfo=UTC)
    assert months_after(datetime(2026, 11, 20, tzinfo=UTC), -12) == datetime(
        2025, 11, 20, tzinfo=UTC
    )
