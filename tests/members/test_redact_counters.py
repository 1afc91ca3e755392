"""Redaction erases personal data only: the ledger's cached counters are never written from a
stale copy of the member."""

import pytest

from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_credit
from loyalty.members import services
from loyalty.members.models import Member, MemberStatus
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_a_ledger_write_landing_while_a_member_is_redacted_is_kept(monkeypatch):
    # given a member with 100 points, and an earn that commits after redaction read the row
    member = MemberFactory(platform_customer_id="42", email="a@example.com")
    ledger_credit(member=member, points=100, idempotency_key="seed", source_type="test")
    stand_in_id = services.redacted_customer_id

    def earn_meanwhile(*, shop, platform_customer_id):
        ledger_credit(
            member=Member.objects.get(pk=member.pk),
            points=40,
            idempotency_key="order:7",
            source_type="order",
        )
        return stand_in_id(shop=shop, platform_customer_id=platform_customer_id)

    monkeypatch.setattr(services, "redacted_customer_id", earn_meanwhile)

    # when the member is redacted
    services.member_redact(shop=member.shop, platform_customer_id="42")

    # then the personal data is gone and both credits are in the balance
    member.refresh_from_db()
    assert (member.status, member.email) == (MemberStatus.REDACTED, "")
    assert (member.points_balance, member.lifetime_earned) == (140, 140)
    assert ledger_audit_members(members=[member]) == []
