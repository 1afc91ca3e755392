"""Real concurrency on PostgreSQL: threads with their own connections race on one member."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import InsufficientPoints, ledger_credit, ledger_debit
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(n, fn):
    """Run fn(i) in n threads released at the same instant; return results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=10)
            return fn(i)
        except Exception as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_twenty_simultaneous_redemptions_of_60_from_100_leave_one_success_and_40():
    member = MemberFactory()
    ledger_credit(member=member, points=100, idempotency_key="seed", source_type="test")

    outcomes = race(
        20,
        lambda i: ledger_debit(
            member=member, points=60, idempotency_key=f"redeem:{i}", source_type="test"
        ),
    )

    successes = [o for o in outcomes if not isinstance(o, Exception)]
    refusals = [o for o in outcomes if isinstance(o, InsufficientPoints)]
    assert len(successes) == 1
    assert len(refusals) == 19
    member.refresh_from_db()
    assert (member.points_balance, member.lifetime_spent) == (40, 60)
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 1
    assert ledger_audit_members(members=[member]) == []


def test_ten_threads_replaying_one_key_leave_exactly_one_entry():
    member = MemberFactory()

    outcomes = race(
        10,
        lambda i: ledger_credit(
            member=member, points=50, idempotency_key="order:1:earn", source_type="test"
        ),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(o.created for o in outcomes) == [False] * 9 + [True]
    assert len({o.entry.pk for o in outcomes}) == 1
    assert LedgerEntry.objects.count() == 1
    member.refresh_from_db()
    assert (member.points_balance, member.lifetime_earned) == (50, 50)


def test_ten_threads_replaying_one_redemption_key_spend_once():
    member = MemberFactory()
    ledger_credit(member=member, points=100, idempotency_key="seed", source_type="test")

    outcomes = race(
        10,
        lambda i: ledger_debit(
            member=member, points=30, idempotency_key="redeem:abc", source_type="test"
        ),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert [o.created for o in outcomes].count(True) == 1
    member.refresh_from_db()
    assert member.points_balance == 70


def test_earns_racing_debits_lose_neither():
    member = MemberFactory()
    ledger_credit(member=member, points=100, idempotency_key="seed", source_type="test")

    def earn_or_spend(i):
        if i % 2:
            return ledger_credit(
                member=member, points=10, idempotency_key=f"earn:{i}", source_type="test"
            )
        return ledger_debit(
            member=member, points=10, idempotency_key=f"spend:{i}", source_type="test"
        )

    outcomes = race(16, earn_or_spend)

    assert not [o for o in outcomes if isinstance(o, Exception)]
    member.refresh_from_db()
    # 8 earns and 8 debits of 10 from 100: every one of them landed.
    assert (member.points_balance, member.lifetime_earned, member.lifetime_spent) == (100, 180, 80)
    assert LedgerEntry.objects.count() == 17
    assert ledger_audit_members(members=[member]) == []


def test_database_trigger_refuses_to_rewrite_an_entry():
    from django.db import DatabaseError, transaction

    member = MemberFactory()
    entry = ledger_credit(
        member=member, points=100, idempotency_key="seed", source_type="test"
    ).entry

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_ledgerentry SET points = 1000 WHERE id = %s", [entry.pk])

    assert LedgerEntry.objects.get(pk=entry.pk).points == 100


def test_an_earn_racing_an_inactivity_expiry_is_never_expired():
    from datetime import timedelta

    from django.utils import timezone

    from loyalty.ledger.services import ledger_expire_balance

    now = timezone.now()
    member = MemberFactory(enrolled_at=now - timedelta(days=400))
    ledger_credit(
        member=member,
        points=100,
        idempotency_key="old",
        source_type="test",
        now=now - timedelta(days=300),
    )

    def expire_or_earn(i):
        if i % 2:
            return ledger_credit(
                member=member, points=10, idempotency_key=f"earn:{i}", source_type="test"
            )
        return ledger_expire_balance(
            member=member,
            idempotency_key="expiry:inactive:old",
            inactive_since=now - timedelta(days=180),
            now=now,
        )

    outcomes = race(8, expire_or_earn)

    assert not [o for o in outcomes if isinstance(o, Exception)]
    member.refresh_from_db()
    expired = LedgerEntry.objects.filter(kind=EntryKind.EXPIRE)
    # Either the expiry came first (the 100 old points) or an earn did (nothing expires);
    # the new points are never part of an expiry.
    assert [e.points for e in expired] in ([], [-100])
    assert member.points_balance == 140 + sum(e.points for e in expired)
    assert ledger_audit_members(members=[member]) == []


def test_database_trigger_protects_debt_and_already_expired():
    from django.db import DatabaseError, transaction

    member = MemberFactory()
    entry = ledger_credit(
        member=member, points=100, idempotency_key="seed", source_type="test"
    ).entry

    for column in ("debt", "already_expired"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                f"UPDATE ledger_ledgerentry SET {column} = 5 WHERE id = %s",  # noqa: S608
                [entry.pk],
            )
