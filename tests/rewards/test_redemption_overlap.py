"""Overlapping store calls for one redemption (a retry while the first request is still out)."""

import pytest

from loyalty.core.platform import IssuedCode
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import redemption_settle, reward_redeem
from tests.factories import MemberFactory, RewardFactory
from tests.rewards.conftest import server_error, unanswered

pytestmark = pytest.mark.django_db


def member_with(points, **kwargs):
    member = MemberFactory(**kwargs)
    ledger_credit(member=member, points=points, idempotency_key="seed", source_type="test")
    member.refresh_from_db()
    return member


def test_an_answered_failure_does_not_clear_the_doubt_of_a_retry_still_in_flight(
    gateway, monkeypatch
):
    # given a redemption whose first store call (request A) is still out when the shopper's
    # retry (request B, same key) makes a second call that goes unanswered
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    retry = {}
    calls = []

    def overlapping_calls(*, shop, spec):
        calls.append(spec.code)
        if len(calls) == 1:  # request A's call; while it is out, the shopper retries (B)
            retry["result"] = reward_redeem(member=member, reward=reward, idempotency_key="tap")
            raise server_error()  # then A's call is answered: a 500, applied nowhere
        raise unanswered()  # B's call: no answer, it may still land at the store

    monkeypatch.setattr(gateway, "discount_code_create", overlapping_calls)

    # when request A finishes after B, with the store still showing no code
    first = reward_redeem(member=member, reward=reward, idempotency_key="tap")

    # then B's call is still in doubt: the points stay held, nothing is refunded
    assert retry["result"].redemption.status == RedemptionStatus.PENDING
    assert first.redemption.status == RedemptionStatus.PENDING
    redemption = Redemption.objects.get()
    assert (redemption.status, redemption.refund_entry_id) == (RedemptionStatus.PENDING, None)
    assert redemption.in_doubt_since is not None
    member.refresh_from_db()
    assert member.points_balance == 700

    # and when B's call lands after all, the sweeper's look-up issues the code
    gateway.codes[redemption.code] = IssuedCode(redemption.code, "gid://shopify/DiscountCodeNode/2")
    settled = redemption_settle(redemption=redemption, create=False)

    assert settled.status == RedemptionStatus.ISSUED
    assert calls == [redemption.code, redemption.code]
    member.refresh_from_db()
    assert member.points_balance == 700
    assert ledger_audit_members(members=[member]) == []
