"""Real concurrency on PostgreSQL: evaluations of one member racing each other."""

import pytest

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.tiers.models import TierHistory
from loyalty.tiers.services import tier_evaluate
from tests.factories import MemberFactory, TierFactory
from tests.ledger.test_concurrency import race
from tests.tiers.helpers import earned

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_simultaneous_evaluations_upgrade_once_and_credit_the_entry_reward_once(
    no_store_sync,
):
    member = MemberFactory()
    TierFactory(shop=member.shop, name="Gold", threshold=1000, entry_points=200)
    earned(member, 1000, member.enrolled_at)

    outcomes = race(10, lambda i: tier_evaluate(member=member))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert len([o for o in outcomes if o is not None]) == 1
    assert TierHistory.objects.count() == 1
    assert LedgerEntry.objects.filter(source_type="tier").count() == 1
    assert no_store_sync.call_count == 1  # one sync, after the one commit that changed something
    member.refresh_from_db()
    assert (member.tier.name, member.points_balance) == ("Gold", 1200)
    assert ledger_audit_members(members=[member]) == []
