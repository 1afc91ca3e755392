from datetime import UTC, datetime, timedelta

import pytest

from loyalty.ledger.models import EntryKind, EntryState, LedgerEntry, LotMovement
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import (
    IdempotencyKeyReused,
    InsufficientPoints,
    NotReversible,
    ledger_credit,
    ledger_debit,
    ledger_expire_due,
    ledger_release_due,
    ledger_reverse,
)
from loyalty.members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def credit(member, points, key, **kwargs):
    kwargs.setdefault("now", T0)
    return ledger_credit(
        member=member, points=points, idempotency_key=key, source_type="test", **kwargs
    )


def debit(member, points, key, **kwargs):
    kwargs.setdefault("now", T0)
    return ledger_debit(
        member=member, points=points, idempotency_key=key, source_type="test", **kwargs
    )


def counters(member):
    member.refresh_from_db()
    return (
        member.points_balance,
        member.points_pending,
        member.lifetime_earned,
        member.lifetime_spent,
    )


def remaining(entry):
    return LedgerEntry.objects.get(pk=entry.pk).remaining


def assert_audit_clean(member):
    member.refresh_from_db()
    assert ledger_audit_members(members=[member]) == []


# --- credit ---------------------------------------------------------------------------------


def test_credit_opens_a_spendable_lot_and_updates_counters(member):
    result = credit(member, 120, "order:1:earn", source_id="1", reason="Order #1001")

    assert result.created is True
    entry = result.entry
    assert (entry.kind, entry.state, entry.points, entry.remaining) == ("earn", "active", 120, 120)
    assert (entry.source_type, entry.source_id, entry.reason, entry.actor) == (
        "test",
        "1",
        "Order #1001",
        "system",
    )
    assert entry.shop_id == member.shop_id
    assert counters(member) == (120, 0, 120, 0)
    assert member.last_activity_at == T0


def test_credit_mirrors_new_counters_on_the_callers_object(member):
    credit(member, 40, "k1")

    assert (member.points_balance, member.lifetime_earned) == (40, 40)


def test_credit_with_future_available_at_is_pending(member):
    result = credit(member, 80, "k1", available_at=T0 + timedelta(days=14))

    assert result.entry.state == EntryState.PENDING
    assert counters(member) == (0, 80, 80, 0)


def test_credit_with_past_available_at_is_active_at_once(member):
    result = credit(member, 80, "k1", available_at=T0 - timedelta(seconds=1))

    assert result.entry.state == EntryState.ACTIVE
    assert counters(member) == (80, 0, 80, 0)


def test_credit_replayed_key_returns_the_original_and_changes_nothing(member):
    first = credit(member, 100, "order:1:earn")

    again = credit(member, 100, "order:1:earn")

    assert again.created is False
    assert again.entry.pk == first.entry.pk
    assert LedgerEntry.objects.count() == 1
    assert counters(member) == (100, 0, 100, 0)


def test_credit_key_reused_for_a_different_amount_is_refused(member):
    credit(member, 100, "order:1:earn")

    with pytest.raises(IdempotencyKeyReused):
        credit(member, 150, "order:1:earn")

    assert LedgerEntry.objects.count() == 1
    assert counters(member) == (100, 0, 100, 0)


def test_same_key_in_another_shop_is_a_different_entry(member):
    other = MemberFactory()

    credit(member, 10, "order:1:earn")
    credit(other, 20, "order:1:earn")

    assert counters(member) == (10, 0, 10, 0)
    assert counters(other) == (20, 0, 20, 0)


@pytest.mark.parametrize("points", [0, -5, 1.5, True, None])
def test_credit_refuses_non_positive_or_non_integer_points(member, points):
    with pytest.raises(ValueError):
        credit(member, points, "k")

    assert LedgerEntry.objects.count() == 0


def test_credit_refuses_a_debit_kind(member):
    with pytest.raises(ValueError):
        credit(member, 10, "k", kind=EntryKind.REDEEM)

    assert LedgerEntry.objects.count() == 0


def test_credit_requires_an_idempotency_key(member):
    with pytest.raises(ValueError):
        credit(member, 10, "")

    assert LedgerEntry.objects.count() == 0


# --- debit ----------------------------------------------------------------------------------


def test_debit_consumes_lots_oldest_first(member):
    old = credit(member, 50, "a", now=T0).entry
    mid = credit(member, 50, "b", now=T0 + timedelta(days=1)).entry
    new = credit(member, 50, "c", now=T0 + timedelta(days=2)).entry

    result = debit(member, 70, "redeem:1", now=T0 + timedelta(days=3))

    assert result.created is True
    assert (result.entry.kind, result.entry.points) == ("redeem", -70)
    assert (remaining(old), remaining(mid), remaining(new)) == (0, 30, 50)
    moved = sorted(LotMovement.objects.filter(entry=result.entry).values_list("lot_id", "points"))
    assert moved == [(old.pk, 50), (mid.pk, 20)]
    assert counters(member) == (80, 0, 150, 70)
    assert_audit_clean(member)


def test_debit_refused_when_points_do_not_suffice_and_writes_nothing(member):
    lot = credit(member, 100, "a").entry

    with pytest.raises(InsufficientPoints) as refused:
        debit(member, 101, "redeem:1")

    assert (refused.value.needed, refused.value.available) == (101, 100)
    assert LedgerEntry.objects.count() == 1
    assert LotMovement.objects.count() == 0
    assert remaining(lot) == 100
    assert counters(member) == (100, 0, 100, 0)


def test_debit_cannot_spend_pending_points(member):
    credit(member, 100, "a", available_at=T0 + timedelta(days=30))

    with pytest.raises(InsufficientPoints):
        debit(member, 1, "redeem:1")

    assert counters(member) == (0, 100, 100, 0)


def test_refused_debit_can_be_retried_with_the_same_key_once_points_suffice(member):
    credit(member, 50, "a")
    with pytest.raises(InsufficientPoints):
        debit(member, 60, "redeem:1")
    credit(member, 10, "b")

    result = debit(member, 60, "redeem:1")

    assert result.created is True
    assert counters(member) == (0, 0, 60, 60)


def test_debit_replay_returns_the_original_even_when_the_balance_is_now_low(member):
    credit(member, 100, "a")
    first = debit(member, 100, "redeem:1")

    again = debit(member, 100, "redeem:1")

    assert again.created is False
    assert again.entry.pk == first.entry.pk
    assert counters(member) == (0, 0, 100, 100)


def test_debit_replay_changes_nothing_even_when_points_have_come_due_since(member):
    credit(member, 100, "a")
    credit(member, 50, "b", available_at=T0 + timedelta(days=7))
    credit(member, 20, "c", expires_at=T0 + timedelta(days=7))
    first = debit(member, 10, "redeem:1")

    again = debit(member, 10, "redeem:1", now=T0 + timedelta(days=8))

    assert again.entry.pk == first.entry.pk
    assert counters(member) == (110, 50, 170, 10)
    assert (member.points_balance, member.points_pending) == (110, 50)
    assert LedgerEntry.objects.count() == 4


def test_reverse_replay_changes_nothing_even_when_points_have_come_due_since(member):
    earn = credit(member, 100, "a").entry
    credit(member, 50, "b", available_at=T0 + timedelta(days=7))
    first = ledger_reverse(entry=earn, points=10, idempotency_key="refund:1", now=T0)

    again = ledger_reverse(
        entry=earn, points=10, idempotency_key="refund:1", now=T0 + timedelta(days=8)
    )

    assert again.entry.pk == first.entry.pk
    assert counters(member) == (90, 50, 140, 0)
    assert LedgerEntry.objects.count() == 3


def test_debit_key_reused_for_another_member_is_refused(member):
    other = MemberFactory(shop=member.shop)
    credit(member, 100, "a")
    credit(other, 100, "b")
    debit(member, 10, "redeem:1")

    with pytest.raises(IdempotencyKeyReused):
        debit(other, 10, "redeem:1")

    assert counters(other) == (100, 0, 100, 0)


def test_adjust_debit_is_not_counted_as_spent(member):
    credit(member, 100, "a")

    debit(
        member, 30, "adjust:1", kind=EntryKind.ADJUST, reason="Duplicate account", actor="staff:7"
    )

    assert counters(member) == (70, 0, 100, 0)


def test_debit_first_releases_due_pending_points(member):
    credit(member, 100, "a", available_at=T0 + timedelta(days=14))

    debit(member, 60, "redeem:1", now=T0 + timedelta(days=15))

    assert counters(member) == (40, 0, 100, 60)


def test_debit_does_not_spend_lots_past_their_expiry(member):
    credit(member, 100, "a", expires_at=T0 + timedelta(days=10))
    credit(member, 30, "b", now=T0 + timedelta(days=1))

    with pytest.raises(InsufficientPoints) as refused:
        debit(member, 50, "redeem:1", now=T0 + timedelta(days=11))

    assert refused.value.available == 30
    # The expiry the debit found due stands on its own (it was rolled back with the refusal
    # here, and is written again by the next settle or by the periodic task).
    assert counters(member) == (130, 0, 130, 0)


# --- reverse --------------------------------------------------------------------------------


def test_reverse_credit_in_full_takes_back_the_lot(member):
    earn = credit(member, 100, "order:1:earn").entry

    result = ledger_reverse(entry=earn, idempotency_key="order:1:cancel", now=T0)

    assert result.created is True
    reversal = result.entry
    assert (reversal.kind, reversal.points, reversal.shortfall, reversal.reverses_id) == (
        "reverse",
        -100,
        0,
        earn.pk,
    )
    assert remaining(earn) == 0
    assert LedgerEntry.objects.get(pk=earn.pk).reversed_points == 100
    assert counters(member) == (0, 0, 0, 0)
    assert_audit_clean(member)


def test_reverse_credit_partially_and_then_the_rest(member):
    earn = credit(member, 100, "order:1:earn").entry

    ledger_reverse(entry=earn, points=30, idempotency_key="refund:1", now=T0)
    ledger_reverse(entry=earn, idempotency_key="refund:2", now=T0)

    assert remaining(earn) == 0
    assert LedgerEntry.objects.get(pk=earn.pk).reversed_points == 100
    assert list(
        LedgerEntry.objects.filter(reverses=earn).order_by("pk").values_list("points", flat=True)
    ) == [-30, -70]
    assert counters(member) == (0, 0, 0, 0)


def test_reverse_more_than_is_left_is_refused_and_writes_nothing(member):
    earn = credit(member, 100, "order:1:earn").entry
    ledger_reverse(entry=earn, points=80, idempotency_key="refund:1", now=T0)

    with pytest.raises(NotReversible):
        ledger_reverse(entry=earn, points=21, idempotency_key="refund:2", now=T0)

    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1
    assert counters(member) == (20, 0, 20, 0)


def test_reverse_of_a_fully_reversed_entry_is_refused(member):
    earn = credit(member, 100, "order:1:earn").entry
    ledger_reverse(entry=earn, idempotency_key="cancel:1", now=T0)

    with pytest.raises(NotReversible):
        ledger_reverse(entry=earn, idempotency_key="cancel:2", now=T0)

    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).count() == 1


def test_reverse_replay_returns_the_first_reversal(member):
    earn = credit(member, 100, "order:1:earn").entry
    first = ledger_reverse(entry=earn, points=40, idempotency_key="refund:1", now=T0)

    again = ledger_reverse(entry=earn, points=40, idempotency_key="refund:1", now=T0)

    assert again.created is False
    assert again.entry.pk == first.entry.pk
    assert counters(member) == (60, 0, 60, 0)


def test_reverse_credit_takes_from_other_lots_when_its_own_was_spent(member):
    earn = credit(member, 100, "order:1:earn", now=T0).entry
    later = credit(member, 100, "order:2:earn", now=T0 + timedelta(days=1)).entry
    debit(member, 100, "redeem:1", now=T0 + timedelta(days=2))  # spends the first lot

    ledger_reverse(entry=earn, points=60, idempotency_key="refund:1", now=T0 + timedelta(days=3))

    assert (remaining(earn), remaining(later)) == (0, 40)
    assert counters(member) == (40, 0, 140, 100)
    assert_audit_clean(member)


def test_reverse_credit_already_spent_is_refused_without_shortfall_allowed(member):
    earn = credit(member, 100, "order:1:earn").entry
    debit(member, 100, "redeem:1")

    with pytest.raises(InsufficientPoints) as refused:
        ledger_reverse(entry=earn, idempotency_key="cancel:1", now=T0)

    assert (refused.value.needed, refused.value.available) == (100, 0)
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).count() == 0
    assert counters(member) == (0, 0, 100, 100)


def test_reverse_credit_with_shortfall_takes_what_it_can_and_records_the_rest(member):
    earn = credit(member, 100, "order:1:earn").entry
    debit(member, 70, "redeem:1")

    reversal = ledger_reverse(
        entry=earn, idempotency_key="cancel:1", allow_shortfall=True, now=T0
    ).entry

    assert (reversal.points, reversal.shortfall) == (-30, 70)
    assert counters(member) == (0, 0, 0, 70)
    assert_audit_clean(member)


def test_reverse_pending_credit_voids_it(member):
    earn = credit(member, 100, "order:1:earn", available_at=T0 + timedelta(days=14)).entry

    ledger_reverse(entry=earn, idempotency_key="cancel:1", now=T0)

    stored = LedgerEntry.objects.get(pk=earn.pk)
    assert (stored.state, stored.remaining, stored.reversed_points) == ("void", 0, 100)
    assert counters(member) == (0, 0, 0, 0)
    assert ledger_release_due(member=member, now=T0 + timedelta(days=15)) == 0
    assert counters(member) == (0, 0, 0, 0)


def test_reverse_pending_credit_partially_keeps_it_pending(member):
    earn = credit(member, 100, "order:1:earn", available_at=T0 + timedelta(days=14)).entry

    ledger_reverse(entry=earn, points=25, idempotency_key="refund:1", now=T0)

    stored = LedgerEntry.objects.get(pk=earn.pk)
    assert (stored.state, stored.remaining) == ("pending", 75)
    assert counters(member) == (0, 75, 75, 0)


def test_reverse_debit_returns_points_to_the_lots_it_consumed(member):
    first = credit(member, 50, "a", now=T0, expires_at=T0 + timedelta(days=365)).entry
    second = credit(member, 50, "b", now=T0 + timedelta(days=1)).entry
    third = credit(member, 50, "c", now=T0 + timedelta(days=2)).entry
    redeem = debit(member, 80, "redeem:1", now=T0 + timedelta(days=3)).entry

    result = ledger_reverse(
        entry=redeem, idempotency_key="redeem:1:failed", now=T0 + timedelta(days=3)
    )

    assert result.entry.points == 80
    assert (remaining(first), remaining(second), remaining(third)) == (50, 50, 50)
    assert counters(member) == (150, 0, 150, 0)
    assert_audit_clean(member)


def test_reverse_debit_partially_gives_back_the_newest_lot_first(member):
    first = credit(member, 50, "a", now=T0).entry
    second = credit(member, 50, "b", now=T0 + timedelta(days=1)).entry
    redeem = debit(member, 80, "redeem:1", now=T0 + timedelta(days=2)).entry

    ledger_reverse(entry=redeem, points=20, idempotency_key="r1", now=T0 + timedelta(days=2))

    assert (remaining(first), remaining(second)) == (0, 40)
    assert counters(member) == (40, 0, 100, 60)
    assert_audit_clean(member)


def test_reverse_debit_in_two_parts_restores_every_lot(member):
    first = credit(member, 50, "a", now=T0).entry
    second = credit(member, 50, "b", now=T0 + timedelta(days=1)).entry
    redeem = debit(member, 80, "redeem:1", now=T0 + timedelta(days=2)).entry

    ledger_reverse(entry=redeem, points=20, idempotency_key="r1", now=T0 + timedelta(days=2))
    ledger_reverse(entry=redeem, idempotency_key="r2", now=T0 + timedelta(days=2))

    assert (remaining(first), remaining(second)) == (50, 50)
    assert counters(member) == (100, 0, 100, 0)


def test_a_reversal_cannot_be_reversed(member):
    earn = credit(member, 100, "a").entry
    reversal = ledger_reverse(entry=earn, points=10, idempotency_key="r1", now=T0).entry

    with pytest.raises(NotReversible):
        ledger_reverse(entry=reversal, idempotency_key="r2", now=T0)

    assert counters(member) == (90, 0, 90, 0)


# --- release and expiry ---------------------------------------------------------------------


def test_release_due_makes_pending_points_spendable(member):
    credit(member, 100, "a", available_at=T0 + timedelta(days=14))
    credit(member, 40, "b", available_at=T0 + timedelta(days=20))

    released = ledger_release_due(member=member, now=T0 + timedelta(days=14))

    assert released == 100
    assert counters(member) == (100, 40, 140, 0)
    assert member.last_activity_at == T0  # the system's doing, not the member's
    assert ledger_release_due(member=member, now=T0 + timedelta(days=14)) == 0
    assert counters(member) == (100, 40, 140, 0)


def test_expire_due_writes_one_expire_entry_per_lot(member):
    lot = credit(member, 100, "a", expires_at=T0 + timedelta(days=10)).entry
    credit(member, 30, "b")
    debit(member, 40, "redeem:1")  # 60 left in the expiring lot

    expired = ledger_expire_due(member=member, now=T0 + timedelta(days=10))

    assert [(e.kind, e.points, e.source_type, e.source_id) for e in expired] == [
        ("expire", -60, "lot", str(lot.pk))
    ]
    assert remaining(lot) == 0
    assert counters(member) == (30, 0, 130, 40)
    assert ledger_expire_due(member=member, now=T0 + timedelta(days=11)) == []
    assert_audit_clean(member)


def test_expire_due_leaves_lots_not_yet_due(member):
    credit(member, 100, "a", expires_at=T0 + timedelta(days=10))

    assert ledger_expire_due(member=member, now=T0 + timedelta(days=9)) == []
    assert counters(member) == (100, 0, 100, 0)


def test_reversed_debit_into_an_expired_lot_expires_again(member):
    lot = credit(member, 100, "a", expires_at=T0 + timedelta(days=10)).entry
    redeem = debit(member, 100, "redeem:1", now=T0 + timedelta(days=5)).entry
    ledger_reverse(entry=redeem, idempotency_key="redeem:1:failed", now=T0 + timedelta(days=5))
    ledger_expire_due(member=member, now=T0 + timedelta(days=10))
    assert counters(member) == (0, 0, 100, 0)

    # An expire entry, once reversed (a merchant's goodwill), can expire again later.
    expire = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    ledger_reverse(entry=expire, idempotency_key="goodwill:1", now=T0 + timedelta(days=11))
    assert counters(member) == (100, 0, 100, 0)
    second = ledger_expire_due(member=member, now=T0 + timedelta(days=12))

    assert [e.idempotency_key for e in second] == [f"expire:lot:{lot.pk}:2"]
    assert counters(member) == (0, 0, 100, 0)
    assert_audit_clean(member)


# --- append-only ----------------------------------------------------------------------------


def test_entries_cannot_be_updated_or_deleted_through_the_orm(member):
    from loyalty.ledger.models import AppendOnlyError

    entry = credit(member, 100, "a").entry

    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(points=1000)
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk)._update_lot_bookkeeping(points=1000)
    assert LedgerEntry.objects.get(pk=entry.pk).points == 100


def test_database_refuses_a_negative_balance(member):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(points_balance=-1)


def test_deleting_a_shop_removes_its_ledger(member):
    credit(member, 100, "a")
    debit(member, 10, "b")

    member.shop.delete()

    assert LedgerEntry.objects.count() == 0
    assert LotMovement.objects.count() == 0
    assert Member.objects.count() == 0
