"""Upgrades, downgrades per policy, refunds, hidden and hand-assigned tiers, entry rewards."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_reverse
from loyalty.shops.models import TierBasis, TierDowngrade, TierPeriod
from loyalty.tiers.models import TierHistory
from loyalty.tiers.services import tier_assign, tier_create, tier_evaluate
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.tiers.helpers import earned, paid_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_store_sync")]

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def shop():
    return ShopFactory(iana_timezone="Asia/Kuala_Lumpur", currency="MYR")


@pytest.fixture
def ladder(shop):
    return {
        "Silver": TierFactory(shop=shop, name="Silver", threshold=500, entry_points=50),
        "Gold": TierFactory(shop=shop, name="Gold", threshold=1000, entry_points=200),
        "Platinum": TierFactory(shop=shop, name="Platinum", threshold=5000),
    }


@pytest.fixture
def member(shop):
    return MemberFactory(shop=shop)


def program(shop, **settings):
    for field, value in settings.items():
        setattr(shop.program, field, value)
    shop.program.save()


def history(member):
    return list(
        TierHistory.objects.filter(member=member)
        .order_by("pk")
        .values_list("from_name", "to_name", "reason")
    )


def test_crossing_a_threshold_upgrades_at_once_and_records_it(ladder, member):
    earned(member, 499, NOW - timedelta(days=1))
    assert tier_evaluate(member=member, now=NOW) is None

    earned(member, 501, NOW)  # past Silver, straight to Gold
    change = tier_evaluate(member=member, now=NOW)

    member.refresh_from_db()
    assert (member.tier, member.tier_since, member.tier_by_hand) == (ladder["Gold"], NOW, False)
    assert (change.reason, change.metric, change.basis, change.actor, change.at) == (
        "upgrade",
        Decimal("1000"),
        "points_earned",
        "system",
        NOW,
    )
    assert history(member) == [("", "Gold", "upgrade")]


def test_an_upgrade_credits_the_entry_reward_of_the_tier_reached_once_ever(ladder, member):
    earned(member, 1200, NOW)  # straight past Silver to Gold

    tier_evaluate(member=member, now=NOW)
    tier_assign(member=member, tier=ladder["Silver"], actor="staff:1", now=NOW)
    tier_evaluate(member=member, now=NOW + timedelta(hours=1))  # back to Gold

    rewards = LedgerEntry.objects.filter(member=member, source_type="tier")
    assert list(rewards.values_list("idempotency_key", "points")) == [
        (f"tier:{ladder['Gold'].pk}:entry:{member.pk}", 200),
        (f"tier:{ladder['Silver'].pk}:entry:{member.pk}", 50),
    ]
    member.refresh_from_db()
    assert (member.tier.name, member.points_balance, member.lifetime_earned) == (
        "Gold",
        1450,
        1450,
    )
    assert ledger_audit_members(members=[member]) == []


def test_entry_points_expire_like_any_earn_under_per_lot_expiry(ladder, shop, member):
    program(shop, expiry_mode="per_lot", expiry_days=90)
    earned(member, 600, NOW)

    tier_evaluate(member=member, now=NOW)

    entry = LedgerEntry.objects.get(member=member, source_type="tier")
    assert (entry.points, entry.expires_at) == (50, NOW + timedelta(days=90))


def test_evaluating_twice_changes_nothing_the_second_time(ladder, member, no_store_sync):
    earned(member, 600, NOW)

    first = tier_evaluate(member=member, now=NOW)
    second = tier_evaluate(member=member, now=NOW + timedelta(minutes=1))

    assert (first.to_name, second) == ("Silver", None)
    assert TierHistory.objects.count() == 1
    assert no_store_sync.call_count == 0  # nothing committed yet: the test's transaction is open


def test_hidden_tiers_are_never_reached_by_qualification(shop, member):
    TierFactory(shop=shop, name="Friends", threshold=0, hidden=True)
    earned(member, 100_000, NOW)

    change = tier_evaluate(member=member, now=NOW)

    member.refresh_from_db()
    assert (change, member.tier) == (None, None)


def test_a_member_on_a_hidden_tier_is_never_moved_automatically(ladder, shop, member):
    friends = TierFactory(shop=shop, name="Friends", hidden=True, multiplier=Decimal("2"))
    tier_assign(member=member, tier=friends, actor="staff:7", reason="Founding customer", now=NOW)
    earned(member, 100_000, NOW)

    change = tier_evaluate(member=member, now=NOW + timedelta(days=1))

    member.refresh_from_db()
    assert (change, member.tier, member.tier_by_hand) == (None, friends, True)
    row = TierHistory.objects.get()
    assert (row.reason, row.actor, row.note, row.to_name) == (
        "manual",
        "staff:7",
        "Founding customer",
        "Friends",
    )


def test_a_hand_assigned_tier_is_kept_until_the_member_earns_a_higher_one(ladder, shop, member):
    program(shop, tier_downgrade=TierDowngrade.GRACE, tier_grace_days=0)
    tier_assign(member=member, tier=ladder["Gold"], actor="staff:1", now=NOW)

    kept = tier_evaluate(member=member, now=NOW + timedelta(days=400))
    earned(member, 6000, NOW + timedelta(days=401))
    raised = tier_evaluate(member=member, now=NOW + timedelta(days=401))

    member.refresh_from_db()
    assert (kept, raised.to_name, member.tier_by_hand) == (None, "Platinum", False)


def test_policy_never_keeps_the_tier_when_the_rolling_metric_falls(ladder, shop, member):
    program(shop, tier_period=TierPeriod.ROLLING_12_MONTHS, tier_downgrade=TierDowngrade.NEVER)
    earned(member, 1000, NOW)
    tier_evaluate(member=member, now=NOW)

    change = tier_evaluate(member=member, now=NOW + timedelta(days=800))

    member.refresh_from_db()
    assert (change, member.tier.name) == (None, "Gold")


def test_end_of_period_keeps_a_calendar_year_tier_through_the_next_year_then_drops(
    ladder, shop, member
):
    program(shop, tier_period=TierPeriod.CALENDAR_YEAR, tier_downgrade=TierDowngrade.END_OF_PERIOD)
    earned(member, 1000, datetime(2026, 3, 1, tzinfo=UTC))
    tier_evaluate(member=member, now=datetime(2026, 3, 1, tzinfo=UTC))
    earned(member, 600, datetime(2027, 5, 1, tzinfo=UTC))  # 2027 earns only Silver

    # Kuala Lumpur is UTC+8: 2027 ends there at 2027-12-31 16:00 UTC.
    late_2027 = tier_evaluate(member=member, now=datetime(2027, 12, 31, 15, 59, tzinfo=UTC))
    new_year = tier_evaluate(member=member, now=datetime(2027, 12, 31, 16, 0, tzinfo=UTC))

    member.refresh_from_db()
    assert late_2027 is None
    assert (new_year.reason, new_year.metric, member.tier.name) == (
        "downgrade",
        Decimal("0"),
        "Silver",
    )
    assert history(member) == [("", "Gold", "upgrade"), ("Gold", "Silver", "downgrade")]


def test_end_of_period_on_a_rolling_year_holds_a_tier_12_months_then_follows_the_metric(
    ladder, shop, member
):
    program(
        shop,
        tier_period=TierPeriod.ROLLING_12_MONTHS,
        tier_downgrade=TierDowngrade.END_OF_PERIOD,
    )
    earned(member, 1000, NOW)
    tier_evaluate(member=member, now=NOW)
    earned(member, 500, NOW + timedelta(days=300))

    within = tier_evaluate(member=member, now=NOW + timedelta(days=364))
    after = tier_evaluate(member=member, now=NOW + timedelta(days=366))

    member.refresh_from_db()
    assert (within, after.reason, member.tier.name) == (None, "downgrade", "Silver")


def test_grace_drops_a_member_only_after_the_grace_days_below_the_threshold(ladder, shop, member):
    program(
        shop,
        tier_period=TierPeriod.ROLLING_12_MONTHS,
        tier_downgrade=TierDowngrade.GRACE,
        tier_grace_days=30,
    )
    earned(member, 1000, NOW)
    tier_evaluate(member=member, now=NOW)
    below_from = NOW + timedelta(days=366)  # the 1000 points left the window

    first = tier_evaluate(member=member, now=below_from)
    member.refresh_from_db()
    assert (first, member.tier.name, member.tier_below_since) == (None, "Gold", below_from)

    still = tier_evaluate(member=member, now=below_from + timedelta(days=29, hours=23))
    dropped = tier_evaluate(member=member, now=below_from + timedelta(days=30))

    member.refresh_from_db()
    assert (still, dropped.reason, member.tier, member.tier_below_since) == (
        None,
        "downgrade",
        None,
        None,
    )


def test_grace_forgets_a_dip_once_the_member_is_back_above(ladder, shop, member):
    program(
        shop,
        tier_period=TierPeriod.ROLLING_12_MONTHS,
        tier_downgrade=TierDowngrade.GRACE,
        tier_grace_days=30,
    )
    earned(member, 1000, NOW)
    tier_evaluate(member=member, now=NOW)
    tier_evaluate(member=member, now=NOW + timedelta(days=366))
    earned(member, 1000, NOW + timedelta(days=380))

    tier_evaluate(member=member, now=NOW + timedelta(days=381))

    member.refresh_from_db()
    assert (member.tier.name, member.tier_below_since) == ("Gold", None)


def test_a_refund_that_undoes_the_qualification_drops_the_member_at_once(ladder, shop, member):
    program(shop, tier_downgrade=TierDowngrade.NEVER)
    earned(member, 600, NOW - timedelta(days=30))
    tier_evaluate(member=member, now=NOW - timedelta(days=30))  # Silver
    big_order = earned(member, 500, NOW - timedelta(days=1))
    tier_evaluate(member=member, now=NOW - timedelta(days=1))  # Gold, +200 entry points

    ledger_reverse(entry=big_order, idempotency_key="refund:1", now=NOW)
    change = tier_evaluate(member=member, now=NOW)

    member.refresh_from_db()
    assert (change.reason, change.metric, member.tier.name) == ("refund", Decimal("600"), "Silver")
    # Silver was reached 30 days ago, and stays reached from then.
    assert member.tier_since == NOW - timedelta(days=30)
    assert history(member) == [
        ("", "Silver", "upgrade"),
        ("Silver", "Gold", "upgrade"),
        ("Gold", "Silver", "refund"),
    ]
    gold_reward = LedgerEntry.objects.get(
        idempotency_key=f"tier:{ladder['Gold'].pk}:entry:{member.pk}"
    )
    assert gold_reward.reversals.get().points == -200
    assert (member.points_balance, member.lifetime_earned) == (650, 650)  # 600 + Silver's 50
    # Evaluating again keeps Silver: it is still earned.
    assert tier_evaluate(member=member, now=NOW + timedelta(minutes=1)) is None


def test_a_refund_after_the_upgrade_of_a_later_order_does_not_touch_the_tier(ladder, shop, member):
    earned(member, 1000, NOW - timedelta(days=2))
    tier_evaluate(member=member, now=NOW - timedelta(days=2))
    later = earned(member, 300, NOW - timedelta(days=1))

    ledger_reverse(entry=later, idempotency_key="refund:later", now=NOW)
    change = tier_evaluate(member=member, now=NOW)

    member.refresh_from_db()
    assert (change, member.tier.name) == (None, "Gold")


def test_raising_a_threshold_is_not_mistaken_for_a_refund(ladder, shop, member):
    program(shop, tier_downgrade=TierDowngrade.NEVER)
    earned(member, 1000, NOW - timedelta(days=1))
    tier_evaluate(member=member, now=NOW - timedelta(days=1))
    ladder["Gold"].threshold = 2000
    ladder["Gold"].save()

    change = tier_evaluate(member=member, now=NOW)

    member.refresh_from_db()
    assert (change, member.tier.name) == (None, "Gold")


def test_amount_spent_basis_upgrades_on_shop_money(shop, member):
    program(shop, tier_basis=TierBasis.AMOUNT_SPENT)
    vip = tier_create(shop=shop, name="VIP", threshold=Decimal("250.00"), multiplier="1.5")
    paid_order(member, "249.99", NOW - timedelta(days=1))
    assert tier_evaluate(member=member, now=NOW) is None
    paid_order(member, "0.01", NOW)

    change = tier_evaluate(member=member, now=NOW)

    assert (change.to_tier, change.metric, vip.tag) == (vip, Decimal("250.00"), "vip-vip")


def test_tier_assign_refuses_another_shops_tier(member):
    elsewhere = TierFactory()

    with pytest.raises(Exception, match="another shop"):
        tier_assign(member=member, tier=elsewhere, actor="staff:1")

    member.refresh_from_db()
    assert (member.tier, TierHistory.objects.count()) == (None, 0)
