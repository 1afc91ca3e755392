"""On PostgreSQL, with real threads and the stand-in over HTTP: many redemptions at once on
one balance spend exactly what it allows, and each success has exactly one code."""

import pytest
from django.test import override_settings

from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import InsufficientPoints
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import reward_redeem
from tests.factories import RewardFactory
from tests.ledger.test_concurrency import race
from tests.platforms.shopify.helpers import SHOP

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@override_settings(REWARDS_RATE_LIMIT=100)
def test_twenty_simultaneous_redemptions_never_overspend(shopify_standin, standin_member):
    # given 2000 points and a reward of 300: room for exactly 6
    member = standin_member(points=2000)
    reward = RewardFactory(shop=member.shop, points_cost=300)

    # when 20 redemptions arrive at once, each with its own key
    outcomes = race(
        20, lambda i: reward_redeem(member=member, reward=reward, idempotency_key=f"tap-{i}")
    )

    # then 6 are issued, 14 refused for points, and nothing else happened
    issued = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, InsufficientPoints)]
    assert [o.redemption.status for o in issued] == [RedemptionStatus.ISSUED] * 6
    assert len(refused) == 14
    member.refresh_from_db()
    assert (member.points_balance, member.lifetime_spent) == (200, 1800)
    assert Redemption.objects.count() == 6
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 6
    codes = sorted(d.code for d in shopify_standin.shop(SHOP).discounts)
    assert codes == sorted(o.redemption.code for o in issued)
    assert ledger_audit_members(members=[member]) == []


@override_settings(REWARDS_RATE_LIMIT=100)
def test_ten_simultaneous_retries_of_one_key_spend_once_and_make_one_code(
    shopify_standin, standin_member
):
    member = standin_member(points=2000)
    reward = RewardFactory(shop=member.shop, points_cost=300)

    outcomes = race(
        10, lambda i: reward_redeem(member=member, reward=reward, idempotency_key="tap")
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(o.created for o in outcomes) == [False] * 9 + [True]
    assert len({o.redemption.code for o in outcomes}) == 1
    assert len(shopify_standin.shop(SHOP).discounts) == 1
    member.refresh_from_db()
    assert member.points_balance == 1700
    assert ledger_audit_members(members=[member]) == []
