"""What the widget is told: claimable and locked rewards, and recent redemptions with codes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import RewardKind
from loyalty.rewards.selectors import donations_by_cause, recent_redemptions, rewards_for_member
from loyalty.rewards.services import reward_redeem
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory
from tests.rewards.conftest import refused

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def ids(items):
    return [(i["name"], i.get("locked_reason"), i.get("points_needed")) for i in items]


def test_rewards_split_into_claimable_and_locked_with_points_needed():
    shop = ShopFactory(currency="MYR")
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=600, idempotency_key="seed", source_type="test")
    member.refresh_from_db()
    RewardFactory(shop=shop, name="RM5 off", points_cost=500)
    RewardFactory(shop=shop, name="RM20 off", points_cost=2000, value=Decimal("20"))
    RewardFactory(shop=shop, name="Gold only", points_cost=100, tiers=["gold"])
    RewardFactory(shop=shop, name="Off", enabled=False)
    RewardFactory(shop=shop, name="Later", starts_at=NOW + timedelta(days=1))
    RewardFactory(name="Other shop")

    catalogue = rewards_for_member(shop=shop, member=member, now=NOW)

    assert ids(catalogue["available"]) == [("RM5 off", None, None)]
    assert ids(catalogue["locked"]) == [("Gold only", "tier", 0), ("RM20 off", "points", 1400)]
    assert catalogue["available"][0] == {
        "id": catalogue["available"][0]["id"],
        "name": "RM5 off",
        "kind": "amount_off",
        "points_cost": 500,
        "value": "5.00",
        "currency": "MYR",
        "minimum_subtotal": None,
        "code_expiry_days": None,
    }


def test_a_member_of_the_tier_may_claim_a_tier_reward_named_by_tag_name_or_id():
    shop = ShopFactory()
    gold = TierFactory(shop=shop, name="Gold", tag="VIP-Gold")
    member = MemberFactory(shop=shop, tier=gold)
    ledger_credit(member=member, points=600, idempotency_key="seed", source_type="test")
    member.refresh_from_db()
    for name, tiers in (("by tag", ["vip-gold"]), ("by name", ["Gold"]), ("by id", [gold.pk])):
        RewardFactory(shop=shop, name=name, points_cost=100, tiers=tiers)
    RewardFactory(shop=shop, name="silver", points_cost=100, tiers=["Silver"])

    catalogue = rewards_for_member(shop=shop, member=member, now=NOW)

    assert sorted(i["name"] for i in catalogue["available"]) == ["by id", "by name", "by tag"]
    assert ids(catalogue["locked"]) == [("silver", "tier", 0)]


def test_a_guest_sees_every_active_reward_locked_for_sign_in():
    shop = ShopFactory()
    RewardFactory(shop=shop, name="RM5 off")
    RewardFactory(
        shop=shop,
        name="Convert",
        kind=RewardKind.POINTS_TO_MONEY,
        points_cost=100,
        value=Decimal("1"),
        min_points=300,
        max_points=1000,
    )

    catalogue = rewards_for_member(shop=shop, member=None, now=NOW)

    assert catalogue["available"] == []
    assert ids(catalogue["locked"]) == [("Convert", "sign_in", 300), ("RM5 off", "sign_in", 500)]
    assert (catalogue["locked"][0]["min_points"], catalogue["locked"][0]["max_points"]) == (
        300,
        1000,
    )


def test_a_reward_claimed_up_to_its_limit_is_locked(gateway):
    shop = ShopFactory()
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=2000, idempotency_key="seed", source_type="test")
    reward = RewardFactory(shop=shop, name="Once", per_customer_limit=1)
    reward_redeem(member=member, reward=reward, idempotency_key="k1")
    member.refresh_from_db()

    catalogue = rewards_for_member(shop=shop, member=member)

    assert ids(catalogue["locked"]) == [("Once", "limit_reached", 0)]


def test_recent_redemptions_newest_first_with_codes_and_without_failures(gateway):
    shop = ShopFactory(domain="batik.myshopify.com")
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=5000, idempotency_key="seed", source_type="test")
    reward = RewardFactory(shop=shop, points_cost=100)
    first = reward_redeem(member=member, reward=reward, idempotency_key="a", now=NOW).redemption
    gateway.create_script = [refused()]
    reward_redeem(member=member, reward=reward, idempotency_key="b", now=NOW + timedelta(seconds=1))
    second = reward_redeem(
        member=member, reward=reward, idempotency_key="c", now=NOW + timedelta(seconds=2)
    ).redemption

    recent = recent_redemptions(member=member, limit=5)

    assert [(r["id"], r["code"], r["status"]) for r in recent] == [
        (str(second.pk), second.code, "issued"),
        (str(first.pk), first.code, "issued"),
    ]
    assert recent[0]["apply_url"] == f"https://batik.myshopify.com/discount/{second.code}"
    assert len(recent_redemptions(member=member, limit=1)) == 1


def test_donations_are_reported_per_cause_in_money(gateway):
    shop = ShopFactory(currency="MYR")
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=5000, idempotency_key="seed", source_type="test")
    trees = RewardFactory(
        shop=shop,
        kind=RewardKind.CHARITY,
        cause="Hutan Lestari",
        points_cost=200,
        value=Decimal("2"),
    )
    meals = RewardFactory(
        shop=shop, kind=RewardKind.CHARITY, cause="Food Aid", points_cost=100, value=Decimal("1.50")
    )
    for i, reward in enumerate((trees, trees, meals)):
        reward_redeem(member=member, reward=reward, idempotency_key=f"d{i}")

    assert donations_by_cause(shop=shop) == [
        {"cause": "Food Aid", "donations": 1, "points": 100, "money": "1.50", "currency": "MYR"},
        {
            "cause": "Hutan Lestari",
            "donations": 2,
            "points": 400,
            "money": "4.00",
            "currency": "MYR",
        },
    ]
