from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.ledger import tasks
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_release_due_points_releases_only_what_is_due():
    now = timezone.now()
    due = MemberFactory()
    later = MemberFactory()
    ledger_credit(
        member=due,
        points=70,
        idempotency_key="a",
        source_type="t",
        now=now - timedelta(days=15),
        available_at=now - timedelta(days=1),
    )
    ledger_credit(
        member=later,
        points=30,
        idempotency_key="b",
        source_type="t",
        now=now,
        available_at=now + timedelta(days=14),
    )

    released = tasks.release_due_points.delay()

    assert released.get() == 70
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.points_balance, due.points_pending) == (70, 0)
    assert (later.points_balance, later.points_pending) == (0, 30)


def test_expire_due_lots_expires_across_members():
    now = timezone.now()
    members = [MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        ledger_credit(
            member=member,
            points=10 * (i + 1),
            idempotency_key="a",
            source_type="t",
            now=now - timedelta(days=400),
            expires_at=now - timedelta(days=35),
        )
    keeper = MemberFactory()
    ledger_credit(
        member=keeper,
        points=5,
        idempotency_key="a",
        source_type="t",
        expires_at=now + timedelta(days=1),
    )

    assert tasks.expire_due_lots.delay().get() == 3

    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 3
    for member in members:
        member.refresh_from_db()
        assert member.points_balance == 0
    keeper.refresh_from_db()
    assert keeper.points_balance == 5
    assert tasks.expire_due_lots.delay().get() == 0


def test_expire_due_lots_works_through_every_batch_in_member_order(monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 2)
    now = timezone.now()
    members = [MemberFactory() for _ in range(5)]
    for member in members:
        ledger_credit(
            member=member,
            points=10,
            idempotency_key="a",
            source_type="t",
            now=now - timedelta(days=10),
            expires_at=now - timedelta(days=1),
        )

    first_batch = tasks.expire_due_lots.delay(now=now.isoformat()).get()

    # The first run expires two; its follow-ups (run in-process here) the other three.
    assert first_batch == 2
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 5
    assert tasks.expire_due_lots.delay(now=now.isoformat()).get() == 0


def test_a_member_that_fails_to_expire_does_not_stop_the_others(monkeypatch):
    from loyalty.ledger import services

    now = timezone.now()
    broken, fine = MemberFactory(), MemberFactory()
    for member in (broken, fine):
        ledger_credit(
            member=member,
            points=10,
            idempotency_key="a",
            source_type="t",
            now=now - timedelta(days=10),
            expires_at=now - timedelta(days=1),
        )
    real = services.ledger_expire_due

    def failing_for_broken(*, member, now):
        if member.pk == broken.pk:
            raise RuntimeError("boom")
        return real(member=member, now=now)

    monkeypatch.setattr(services, "ledger_expire_due", failing_for_broken)

    assert tasks.expire_due_lots.delay(now=now.isoformat()).get() == 1

    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.points_balance, fine.points_balance) == (10, 0)
