"""The ledger's side of expiry and debt: reversing a credit that partly expired, expiring a
whole balance, what counts as activity, and `points_debt` kept by the ledger and audited."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import (
    IdempotencyKeyReused,
    ledger_credit,
    ledger_debit,
    ledger_expire_balance,
    ledger_expire_due,
    ledger_repay_debt,
    ledger_reverse,
)
from loyalty.members.models import Member

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def day(n):
    return T0 + timedelta(days=n)


def credit(member, points, key, **kwargs):
    kwargs.setdefault("now", T0)
    return ledger_credit(
        member=member, points=points, idempotency_key=key, source_type="test", **kwargs
    ).entry


def debit(member, points, key, **kwargs):
    kwargs.setdefault("now", T0)
    return ledger_debit(
        member=member, points=points, idempotency_key=key, source_type="test", **kwargs
    ).entry


def state(member):
    """(balance, pending, lifetime earned, lifetime spent, debt), checked against the audit."""
    member.refresh_from_db()
    assert ledger_audit_members(members=[member]) == []
    return (
        member.points_balance,
        member.points_pending,
        member.lifetime_earned,
        member.lifetime_spent,
        member.points_debt,
    )


def remaining(entry):
    return LedgerEntry.objects.get(pk=entry.pk).remaining


# --- reversing a credit that partly expired ------------------------------------------------


def test_reversing_a_partly_expired_credit_does_not_take_the_expired_part_again(member):
    # Given a lot of 100: 40 redeemed, the other 60 expired; and a newer lot of 200
    lot = credit(member, 100, "order:1", expires_at=day(10))
    debit(member, 40, "redeem:1", now=day(1))
    ledger_expire_due(member=member, now=day(10))
    newer = credit(member, 200, "order:2", now=day(11))

    # When the whole order is refunded
    reversal = ledger_reverse(
        entry=lot, idempotency_key="refund:1", allow_shortfall=True, now=day(12)
    ).entry

    # Then the expired 60 are not taken again; only the 40 spent come from the newer lot
    assert (reversal.points, reversal.already_expired, reversal.shortfall) == (-40, 60, 0)
    assert remaining(newer) == 160
    assert state(member) == (160, 0, 200, 40, 0)


def test_a_partial_refund_of_a_partly_expired_credit_counts_the_expired_part_first(member):
    lot = credit(member, 100, "order:1", expires_at=day(10))
    debit(member, 40, "redeem:1", now=day(1))
    ledger_expire_due(member=member, now=day(10))
    credit(member, 200, "order:2", now=day(11))

    first = ledger_reverse(entry=lot, points=50, idempotency_key="refund:1", now=day(12)).entry
    second = ledger_reverse(
        entry=lot, points=30, idempotency_key="refund:2", allow_shortfall=True, now=day(12)
    ).entry

    assert (first.points, first.already_expired) == (0, 50)
    # Only 10 expired points are left to count; the other 20 were spent and are taken back.
    assert (second.points, second.already_expired, second.shortfall) == (-20, 10, 0)
    assert state(member) == (180, 0, 220, 40, 0)


def test_reversing_a_credit_with_points_left_in_its_lot_takes_those_first(member):
    lot = credit(member, 100, "order:1", expires_at=day(10))
    credit(member, 50, "order:2")

    reversal = ledger_reverse(entry=lot, points=30, idempotency_key="refund:1", now=day(5)).entry

    assert (reversal.points, reversal.already_expired) == (-30, 0)
    assert remaining(lot) == 70
    assert state(member) == (120, 0, 120, 0, 0)


def test_a_lot_restored_by_goodwill_and_expired_again_counts_as_expired_once(member):
    lot = credit(member, 100, "order:1", expires_at=day(10))
    (expire,) = ledger_expire_due(member=member, now=day(10))
    ledger_reverse(entry=expire, idempotency_key="goodwill:1", now=day(11))
    ledger_expire_due(member=member, now=day(12))  # still past its date: expires again
    credit(member, 100, "order:2", now=day(12))

    reversal = ledger_reverse(entry=lot, idempotency_key="refund:1", now=day(13)).entry

    assert (reversal.points, reversal.already_expired) == (0, 100)
    assert state(member) == (100, 0, 100, 0, 0)


def test_refund_of_a_fully_expired_credit_with_nothing_spent_changes_no_balance(member):
    lot = credit(member, 100, "order:1", expires_at=day(10))
    ledger_expire_due(member=member, now=day(10))
    credit(member, 30, "order:2", now=day(11))

    reversal = ledger_reverse(entry=lot, idempotency_key="refund:1", now=day(12)).entry

    assert (reversal.points, reversal.already_expired, reversal.shortfall) == (0, 100, 0)
    assert state(member) == (30, 0, 30, 0, 0)
    call_command("ledger_audit")  # clean: no CommandError


# --- whole-balance expiry (inactivity) ------------------------------------------------------


def test_expire_balance_consumes_every_open_lot_in_one_entry(member):
    first = credit(member, 100, "a")
    second = credit(member, 50, "b", now=day(1))
    debit(member, 30, "redeem:1", now=day(2))

    result = ledger_expire_balance(
        member=member, idempotency_key="expiry:inactive:x", inactive_since=day(3), now=day(200)
    )

    entry = result.entry
    assert result.created is True
    assert (entry.kind, entry.points, entry.source_type, entry.actor) == (
        "expire",
        -120,
        "inactivity",
        "system",
    )
    assert (remaining(first), remaining(second)) == (0, 0)
    assert state(member) == (0, 0, 150, 30, 0)
    assert member.last_activity_at == day(2)  # the expiry is not the member's activity


def test_expire_balance_replayed_changes_nothing(member):
    credit(member, 100, "a")
    first = ledger_expire_balance(
        member=member, idempotency_key="expiry:inactive:x", inactive_since=day(1), now=day(200)
    ).entry
    # The merchant restores the points; the same idle period never expires them again.
    ledger_reverse(entry=first, idempotency_key="goodwill:1", now=day(201))

    again = ledger_expire_balance(
        member=member, idempotency_key="expiry:inactive:x", inactive_since=day(1), now=day(202)
    )

    assert (again.created, again.entry.pk) == (False, first.pk)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
    assert state(member) == (100, 0, 100, 0, 0)


def test_expire_balance_does_nothing_for_a_member_active_since(member):
    credit(member, 100, "a")
    debit(member, 10, "redeem:1", now=day(150))

    result = ledger_expire_balance(
        member=member, idempotency_key="k", inactive_since=day(100), now=day(200)
    )

    assert result is None
    assert state(member) == (90, 0, 100, 10, 0)
    assert not LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).exists()


def test_expire_balance_does_nothing_when_points_became_spendable_since(member):
    # Earned at T0, spendable only from day 30: the idle clock restarts when they arrive.
    credit(member, 100, "a", available_at=day(30))

    result = ledger_expire_balance(
        member=member, idempotency_key="k", inactive_since=day(20), now=day(40)
    )

    assert result is None
    assert state(member) == (100, 0, 100, 0, 0)


def test_expire_balance_leaves_pending_points_and_writes_nothing_for_an_empty_balance(member):
    credit(member, 100, "a", available_at=day(300))

    result = ledger_expire_balance(
        member=member, idempotency_key="k", inactive_since=day(100), now=day(200)
    )

    assert result is None
    assert state(member) == (0, 100, 100, 0, 0)
    assert LedgerEntry.objects.count() == 1


def test_expire_balance_first_expires_due_lots_on_their_own(member):
    dated = credit(member, 40, "a", expires_at=day(50))
    credit(member, 60, "b")

    result = ledger_expire_balance(
        member=member, idempotency_key="k", inactive_since=day(100), now=day(200)
    )

    assert result.entry.points == -60
    per_lot = LedgerEntry.objects.get(kind=EntryKind.EXPIRE, source_type="lot")
    assert (per_lot.points, per_lot.source_id) == (-40, str(dated.pk))
    assert state(member) == (0, 0, 100, 0, 0)


# --- activity -------------------------------------------------------------------------------


def test_only_earning_and_redeeming_count_as_activity(member):
    earn = credit(member, 200, "a")
    debit(member, 10, "adjust:1", kind=EntryKind.ADJUST, now=day(1))
    redeem = debit(member, 20, "redeem:1", now=day(2))
    ledger_reverse(entry=redeem, idempotency_key="redeem:1:failed", now=day(3))
    ledger_reverse(entry=earn, points=5, idempotency_key="refund:1", now=day(4))

    member.refresh_from_db()

    assert member.last_activity_at == day(2)


def test_a_manual_credit_counts_as_activity(member):
    credit(member, 200, "a")
    credit(member, 5, "goodwill", kind=EntryKind.ADJUST, now=day(9))

    member.refresh_from_db()

    assert member.last_activity_at == day(9)


# --- debt -----------------------------------------------------------------------------------


def test_shortfall_as_debt_is_owed_and_audited(member):
    earn = credit(member, 100, "order:1")
    debit(member, 90, "redeem:1")

    reversal = ledger_reverse(
        entry=earn,
        idempotency_key="refund:1",
        allow_shortfall=True,
        shortfall_as_debt=True,
        now=day(1),
    ).entry

    assert (reversal.points, reversal.shortfall, reversal.debt) == (-10, 90, 90)
    assert state(member) == (0, 0, 0, 90, 90)


def test_a_forgiven_shortfall_is_not_owed(member):
    earn = credit(member, 100, "order:1")
    debit(member, 90, "redeem:1")

    ledger_reverse(entry=earn, idempotency_key="refund:1", allow_shortfall=True, now=day(1))

    assert state(member) == (0, 0, 0, 90, 0)


def test_repay_debt_spends_what_the_balance_allows(member):
    earn = credit(member, 100, "order:1")
    debit(member, 90, "redeem:1")
    ledger_reverse(
        entry=earn,
        idempotency_key="refund:1",
        allow_shortfall=True,
        shortfall_as_debt=True,
        now=day(1),
    )
    credit(member, 50, "order:2", now=day(2))

    result = ledger_repay_debt(member=member, idempotency_key="order:2:repay", now=day(2))

    assert (result.entry.kind, result.entry.points, result.entry.source_type) == (
        "adjust",
        -50,
        "debt",
    )
    assert state(member) == (0, 0, 50, 90, 40)
    assert member.last_activity_at == day(2)  # the credit's, not the repayment's
    # Replayed (nothing left to pay with anyway): the first repayment, nothing more.
    again = ledger_repay_debt(member=member, idempotency_key="order:2:repay", now=day(2))
    assert (again.created, again.entry.pk) == (False, result.entry.pk)
    assert state(member) == (0, 0, 50, 90, 40)


def test_repay_debt_replayed_with_points_returns_the_first_repayment(member):
    earn = credit(member, 100, "order:1")
    debit(member, 90, "redeem:1")
    ledger_reverse(
        entry=earn,
        idempotency_key="refund:1",
        allow_shortfall=True,
        shortfall_as_debt=True,
        now=day(1),
    )
    credit(member, 200, "order:2", now=day(2))
    first = ledger_repay_debt(member=member, idempotency_key="order:2:repay", now=day(2)).entry
    ledger_reverse(entry=first, points=30, idempotency_key="undo:1", now=day(3))  # owed again

    again = ledger_repay_debt(member=member, idempotency_key="order:2:repay", now=day(3))

    assert (again.created, again.entry.pk) == (False, first.pk)
    assert state(member) == (140, 0, 200, 90, 30)


def test_repay_debt_with_nothing_owed_writes_nothing(member):
    credit(member, 100, "a")

    assert ledger_repay_debt(member=member, idempotency_key="k", now=day(1)) is None
    assert LedgerEntry.objects.count() == 1


def test_a_key_reused_by_another_kind_is_still_refused(member):
    credit(member, 100, "a")
    debit(member, 10, "expiry:inactive:x", now=day(1))

    with pytest.raises(IdempotencyKeyReused):
        ledger_expire_balance(
            member=member, idempotency_key="expiry:inactive:x", inactive_since=day(2), now=day(9)
        )

    assert state(member) == (90, 0, 100, 10, 0)


def test_audit_reports_a_tampered_debt(member, capsys):
    earn = credit(member, 100, "order:1")
    debit(member, 90, "redeem:1")
    ledger_reverse(
        entry=earn,
        idempotency_key="refund:1",
        allow_shortfall=True,
        shortfall_as_debt=True,
        now=day(1),
    )
    Member.objects.filter(pk=member.pk).update(points_debt=0)

    with pytest.raises(CommandError):
        call_command("ledger_audit")

    assert f"member={member.pk} points_debt: stored 0, ledger says 90" in capsys.readouterr().out
