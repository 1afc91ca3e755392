from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.ledger.services import ledger_credit, ledger_debit, ledger_reverse
from loyalty.members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def busy_member():
    member = MemberFactory()
    earn = ledger_credit(member=member, points=300, idempotency_key="e1", source_type="t", now=T0)
    ledger_credit(
        member=member,
        points=50,
        idempotency_key="e2",
        source_type="t",
        now=T0,
        available_at=T0 + timedelta(days=30),
    )
    ledger_debit(member=member, points=120, idempotency_key="d1", source_type="t", now=T0)
    ledger_reverse(entry=earn.entry, points=100, idempotency_key="r1", now=T0)
    return member


def test_audit_passes_when_every_counter_matches_the_ledger(capsys):
    busy_member()
    busy_member()

    call_command("ledger_audit")

    assert "2 member(s) checked, all balances match the ledger." in capsys.readouterr().out


def test_audit_reports_a_tampered_balance_and_exits_1(capsys):
    member = busy_member()
    untouched = busy_member()
    Member.objects.filter(pk=member.pk).update(points_balance=999)

    with pytest.raises(CommandError) as failed:
        call_command("ledger_audit")

    assert failed.value.returncode == 1
    assert "1 mismatch(es) in 2 member(s)" in str(failed.value)
    out = capsys.readouterr().out
    assert f"member={member.pk} points_balance: stored 999, ledger says 80" in out
    assert f"member={untouched.pk}" not in out


def test_audit_reports_a_lot_whose_remaining_disagrees_with_its_movements(capsys):
    from django.db import connection

    member = busy_member()
    lot_id = member.ledger_entries.get(idempotency_key="e2").pk
    with connection.cursor() as cursor:  # corrupt behind the ORM's (and the trigger's) back
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # skips user triggers
        cursor.execute("UPDATE ledger_ledgerentry SET points = 60 WHERE id = %s", [lot_id])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")

    with pytest.raises(CommandError):
        call_command("ledger_audit")

    out = capsys.readouterr().out
    assert f"lot {lot_id} remaining: stored 50, ledger says 60" in out


def test_audit_can_be_limited_to_one_shop(capsys):
    member = busy_member()
    other = busy_member()
    Member.objects.filter(pk=other.pk).update(points_balance=1)

    call_command("ledger_audit", shop=member.shop.domain.upper())

    assert "1 member(s) checked" in capsys.readouterr().out


def test_audit_through_manage_py_exits_1_on_mismatch(capsys):
    from django.core.management import ManagementUtility

    member = busy_member()
    Member.objects.filter(pk=member.pk).update(lifetime_spent=0)

    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "ledger_audit"]).execute()

    assert exited.value.code == 1
    assert "lifetime_spent: stored 0, ledger says 120" in capsys.readouterr().out
