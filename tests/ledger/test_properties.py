"""Property: whatever sequence of credits, debits, reversals (shortfalls forgiven or owed),
releases, expiries (per lot and of an idle balance) and debt repayments happens, the cached
counters (debt included) equal those recomputed from the entries, every lot agrees with its
movements, and no balance is ever negative. A refused operation changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import (
    LedgerError,
    ledger_credit,
    ledger_debit,
    ledger_expire_balance,
    ledger_expire_due,
    ledger_release_due,
    ledger_repay_debt,
    ledger_reverse,
)
from tests.factories import MemberFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)

credit_op = st.tuples(
    st.just("credit"),
    st.integers(1, 300),
    st.sampled_from([None, 0, 3, 10]),  # pending for N days
    st.sampled_from([None, 5, 20]),  # expires after N days
    st.sampled_from(["earn", "adjust"]),
)
debit_op = st.tuples(
    st.just("debit"), st.integers(1, 400), st.sampled_from(["redeem", "adjust", "expire"])
)
reverse_op = st.tuples(
    st.just("reverse"),
    st.integers(0, 50),
    st.one_of(st.none(), st.integers(1, 300)),
    st.booleans(),
    st.booleans(),  # the shortfall becomes debt
)
tick_op = st.tuples(st.just("tick"), st.integers(0, 8))
release_op = st.tuples(st.just("release"))
expire_op = st.tuples(st.just("expire"))
replay_op = st.tuples(st.just("replay"), st.integers(0, 50))
idle_op = st.tuples(st.just("idle"), st.integers(0, 10))  # expire if idle for N days
repay_op = st.tuples(st.just("repay"))

operations = st.lists(
    st.one_of(
        credit_op,
        debit_op,
        reverse_op,
        tick_op,
        release_op,
        expire_op,
        replay_op,
        idle_op,
        repay_op,
    ),
    min_size=1,
    max_size=30,
)


def snapshot(member):
    member.refresh_from_db()
    return (
        member.points_balance,
        member.points_pending,
        member.lifetime_earned,
        member.lifetime_spent,
        member.points_debt,
        LedgerEntry.objects.filter(member=member).count(),
    )


@pytest.mark.django_db
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_counters_always_match_the_ledger(ops):
    member = MemberFactory()
    now = T0
    calls = []  # (function, kwargs) of successful calls, for replays

    for n, op in enumerate(ops):
        before = snapshot(member)
        try:
            if op[0] == "credit":
                _, points, pending_days, expires_days, kind = op
                kwargs = {
                    "member": member,
                    "points": points,
                    "kind": kind,
                    "idempotency_key": f"c{n}",
                    "source_type": "test",
                    "now": now,
                    "available_at": None
                    if pending_days is None
                    else now + timedelta(days=pending_days),
                    "expires_at": None
                    if expires_days is None
                    else now + timedelta(days=expires_days),
                }
                ledger_credit(**kwargs)
                calls.append((ledger_credit, kwargs))
            elif op[0] == "debit":
                _, points, kind = op
                kwargs = {
                    "member": member,
                    "points": points,
                    "kind": kind,
                    "idempotency_key": f"d{n}",
                    "source_type": "test",
                    "now": now,
                }
                ledger_debit(**kwargs)
                calls.append((ledger_debit, kwargs))
            elif op[0] == "reverse":
                _, index, points, allow_shortfall, as_debt = op
                entries = list(LedgerEntry.objects.filter(member=member).order_by("pk"))
                if not entries:
                    continue
                kwargs = {
                    "entry": entries[index % len(entries)],
                    "points": points,
                    "allow_shortfall": allow_shortfall,
                    "shortfall_as_debt": as_debt,
                    "idempotency_key": f"r{n}",
                    "now": now,
                }
                ledger_reverse(**kwargs)
                calls.append((ledger_reverse, kwargs))
            elif op[0] == "tick":
                now += timedelta(days=op[1])
            elif op[0] == "release":
                ledger_release_due(member=member, now=now)
            elif op[0] == "expire":
                ledger_expire_due(member=member, now=now)
            elif op[0] in ("idle", "repay"):
                fn, kwargs = (
                    (
                        ledger_expire_balance,
                        {"inactive_since": now - timedelta(days=op[1]), "idempotency_key": f"i{n}"},
                    )
                    if op[0] == "idle"
                    else (ledger_repay_debt, {"idempotency_key": f"p{n}"})
                )
                kwargs = {**kwargs, "member": member, "now": now}
                if fn(**kwargs) is not None:
                    calls.append((fn, kwargs))
            elif op[0] == "replay" and calls:
                fn, kwargs = calls[op[1] % len(calls)]
                result = fn(**{**kwargs, "now": now})
                assert result.created is False
                assert snapshot(member) == before
        except LedgerError:
            assert snapshot(member) == before, f"refused {op} changed something"

        member.refresh_from_db()
        assert member.points_balance >= 0
        assert member.points_pending >= 0
        assert ledger_audit_members(members=[member]) == [], f"after {ops[: n + 1]}"
