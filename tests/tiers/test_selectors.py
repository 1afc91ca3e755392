"""What the widget shows: the member's tier, the next one and what is left to reach it."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.shops.models import TierBasis
from loyalty.tiers.selectors import member_tier_progress
from loyalty.tiers.services import tier_assign, tier_evaluate
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.tiers.helpers import earned, paid_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_store_sync")]

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture
def shop():
    shop = ShopFactory()
    TierFactory(shop=shop, name="Silver", threshold=500, perks=["Free shipping over 100"])
    TierFactory(
        shop=shop,
        name="Gold",
        threshold=1000,
        multiplier=Decimal("1.5"),
        perks=["Free shipping", "Birthday gift"],
    )
    return shop


def test_a_member_without_a_tier_sees_the_first_one_and_what_is_left(shop):
    member = MemberFactory(shop=shop)
    earned(member, 120, NOW - timedelta(days=1))

    progress = member_tier_progress(member=member, now=NOW)

    assert progress == {
        "tier": None,
        "next_tier": {
            "name": "Silver",
            "threshold": 500,
            "remaining": 380,
            "basis": "points_earned",
        },
    }


def test_a_member_on_a_tier_sees_its_multiplier_and_perks_and_the_next_tier(shop):
    member = MemberFactory(shop=shop)
    earned(member, 640, NOW - timedelta(days=1))
    tier_evaluate(member=member, now=NOW)

    progress = member_tier_progress(member=member, now=NOW)

    assert progress == {
        "tier": {"name": "Silver", "multiplier": "1", "perks": ["Free shipping over 100"]},
        "next_tier": {
            "name": "Gold",
            "threshold": 1000,
            "remaining": 360,
            "basis": "points_earned",
        },
    }


def test_the_top_tier_has_no_next_tier(shop):
    member = MemberFactory(shop=shop)
    earned(member, 1500, NOW - timedelta(days=1))
    tier_evaluate(member=member, now=NOW)

    progress = member_tier_progress(member=member, now=NOW)

    assert progress == {
        "tier": {
            "name": "Gold",
            "multiplier": "1.5",
            "perks": ["Free shipping", "Birthday gift"],
        },
        "next_tier": None,
    }


def test_amounts_are_shown_in_shop_money(shop):
    shop.program.tier_basis = TierBasis.AMOUNT_SPENT
    shop.program.save()
    member = MemberFactory(shop=shop)
    paid_order(member, "123.45", NOW - timedelta(days=1))

    progress = member_tier_progress(member=member, now=NOW)

    assert progress["next_tier"] == {
        "name": "Silver",
        "threshold": "500.00",
        "remaining": "376.55",
        "basis": "amount_spent",
    }


def test_a_hidden_tier_shows_no_next_tier(shop):
    member = MemberFactory(shop=shop)
    insiders = TierFactory(shop=shop, name="Insiders", hidden=True, multiplier=Decimal("2"))
    tier_assign(member=member, tier=insiders, actor="staff:1")

    progress = member_tier_progress(member=member, now=NOW)

    assert progress == {
        "tier": {"name": "Insiders", "multiplier": "2", "perks": []},
        "next_tier": None,
    }
