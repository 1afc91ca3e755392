"""Expiry rules: when a credit expires, and when an idle member's balance does."""

import pytest

from loyalty.expiry.models import ExpiryModeSince
from loyalty.expiry.services import (
    credit_expires_at,
    expiry_expire_inactive,
    expiry_mode_since,
    inactivity_expires_at,
)
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_credit, ledger_debit, ledger_expire_due
from tests.expiry.conftest import day, set_program

pytestmark = pytest.mark.django_db


def earn(member, points, key, at, **kwargs):
    return ledger_credit(
        member=member, points=points, idempotency_key=key, source_type="test", now=at, **kwargs
    ).entry


def balance(member):
    member.refresh_from_db()
    assert ledger_audit_members(members=[member]) == []
    return member.points_balance


# --- credit_expires_at ----------------------------------------------------------------------


def test_per_lot_credit_expires_expiry_days_after_it_was_earned(per_lot):
    assert credit_expires_at(program=per_lot, earned_at=day(0)) == day(90)


def test_per_lot_pending_credit_expires_expiry_days_after_it_becomes_spendable(per_lot):
    assert credit_expires_at(program=per_lot, earned_at=day(0), available_at=day(14)) == day(104)


def test_an_availability_already_past_counts_from_the_earn(per_lot):
    # A late webhook: the return window closed before the points were credited.
    assert credit_expires_at(program=per_lot, earned_at=day(20), available_at=day(14)) == day(110)


@pytest.mark.parametrize("mode", ["never", "inactivity"])
def test_credits_carry_no_date_unless_the_program_expires_per_lot(shop, mode):
    program = set_program(shop, expiry_mode=mode, expiry_days=30)

    assert credit_expires_at(program=program, earned_at=day(0), available_at=day(14)) is None


# --- the mode's start -----------------------------------------------------------------------


def test_mode_since_is_the_first_time_a_mode_is_seen_and_moves_when_it_changes(shop):
    program = set_program(shop, expiry_mode="inactivity", expiry_days=30)
    assert expiry_mode_since(program=program, now=day(0)) == day(0)
    assert expiry_mode_since(program=program, now=day(5)) == day(0)

    program = set_program(shop, expiry_mode="per_lot")

    assert expiry_mode_since(program=program, now=day(7)) == day(7)
    assert ExpiryModeSince.objects.get(shop=shop).mode == "per_lot"


# --- inactivity -----------------------------------------------------------------------------


def test_idle_balance_expires_expiry_days_after_the_last_activity(inactivity, shopper):
    earn(shopper, 100, "order:1", day(0))
    ledger_debit(
        member=shopper, points=30, idempotency_key="redeem:1", source_type="test", now=day(10)
    )

    too_early = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(189)
    )
    result = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(190)
    )

    assert too_early is None
    entry = result.entry
    assert (entry.kind, entry.points, entry.idempotency_key) == (
        "expire",
        -70,
        f"expiry:inactive:{shopper.pk}:2026-03-11",
    )
    assert entry.reason == "Points expired after 180 days without activity"
    assert balance(shopper) == 0


def test_idle_expiry_run_twice_expires_once(inactivity, shopper):
    earn(shopper, 100, "order:1", day(0))
    first = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(181)
    )

    again = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(182)
    )

    assert (again.created, again.entry.pk) == (False, first.entry.pk)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
    assert balance(shopper) == 0


def test_activity_after_an_expiry_starts_a_new_period(inactivity, shopper):
    earn(shopper, 100, "order:1", day(0))
    expiry_expire_inactive(member=shopper, program=inactivity, mode_since=day(-400), now=day(181))
    earn(shopper, 40, "order:2", day(200))

    assert (
        expiry_expire_inactive(
            member=shopper, program=inactivity, mode_since=day(-400), now=day(379)
        )
        is None
    )
    result = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(380)
    )

    assert result.entry.idempotency_key == f"expiry:inactive:{shopper.pk}:2026-09-17"
    assert result.entry.points == -40
    assert balance(shopper) == 0


def test_switching_to_inactivity_gives_idle_members_the_full_period(shop, shopper):
    # Points earned long ago under "never"; the program switches on day 300.
    earn(shopper, 100, "order:1", day(0))
    program = set_program(shop, expiry_mode="inactivity", expiry_days=180)
    since = expiry_mode_since(program=program, now=day(300))

    assert (
        expiry_expire_inactive(member=shopper, program=program, mode_since=since, now=day(301))
        is None
    )
    assert balance(shopper) == 100
    result = expiry_expire_inactive(member=shopper, program=program, mode_since=since, now=day(480))
    assert result.entry.idempotency_key == f"expiry:inactive:{shopper.pk}:2026-12-26"
    assert balance(shopper) == 0


def test_inactivity_counts_from_when_pending_points_became_spendable(inactivity, shopper):
    earn(shopper, 100, "order:1", day(0), available_at=day(200))

    at = inactivity_expires_at(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(250)
    )
    early = expiry_expire_inactive(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(250)
    )

    assert at == day(380)
    assert early is None
    assert not LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).exists()


def test_a_member_never_active_counts_from_enrolment(inactivity, shopper):
    # Points imported by the merchant as a system credit would still be activity; here the
    # member has none at all (enrolled on day -10, see the fixture).
    assert inactivity_expires_at(
        member=shopper, program=inactivity, mode_since=day(-400), now=day(0)
    ) == day(170)


def test_inactivity_expiry_does_nothing_under_another_mode(per_lot, shopper):
    earn(shopper, 100, "order:1", day(0))

    assert (
        expiry_expire_inactive(member=shopper, program=per_lot, mode_since=day(-400), now=day(999))
        is None
    )


# --- per lot --------------------------------------------------------------------------------


def test_switching_never_to_per_lot_does_not_expire_older_points(shop, shopper):
    old = earn(shopper, 100, "order:1", day(0))
    program = set_program(shop, expiry_mode="per_lot", expiry_days=90)
    new = earn(
        shopper,
        50,
        "order:2",
        day(200),
        expires_at=credit_expires_at(program=program, earned_at=day(200)),
    )

    expired = ledger_expire_due(member=shopper, now=day(290))

    assert old.expires_at is None
    assert [(e.points, e.source_id) for e in expired] == [(-50, str(new.pk))]
    assert balance(shopper) == 100
