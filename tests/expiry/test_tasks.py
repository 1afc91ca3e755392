"""The periodic inactivity expiry: per shop, in batches, once per idle period, audit clean."""

import pytest
from django.core.management import call_command

from loyalty.expiry import tasks
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member
from tests.expiry.conftest import day, set_program
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db


def earn(member, points, at):
    return ledger_credit(
        member=member,
        points=points,
        idempotency_key=f"order:{member.pk}:{at:%j}",
        source_type="test",
        now=at,
    ).entry


def run(at):
    return tasks.expire_inactive_balances.delay(now=at.isoformat()).get()


def balances(members):
    return [Member.objects.get(pk=m.pk).points_balance for m in members]


def test_idle_members_of_inactivity_shops_expire_in_batches(inactivity, monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 2)
    run(day(-365))  # the task first sees the program's mode
    idle = [MemberFactory(shop=inactivity.shop, enrolled_at=day(-1)) for _ in range(5)]
    for member in idle:
        earn(member, 100, day(0))
    active = MemberFactory(shop=inactivity.shop, enrolled_at=day(-1))
    earn(active, 100, day(0))
    earn(active, 10, day(100))
    never_shop = ShopFactory(installed_at=day(-400))
    elsewhere = MemberFactory(shop=never_shop, enrolled_at=day(-1))
    earn(elsewhere, 100, day(0))

    assert run(day(181)) == 1  # one shop in inactivity mode

    assert balances(idle) == [0, 0, 0, 0, 0]
    assert balances([active, elsewhere]) == [110, 100]
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 5
    call_command("ledger_audit")  # clean: raises on any mismatch


def test_running_again_expires_nothing_more(inactivity, shopper):
    run(day(-365))
    earn(shopper, 100, day(0))
    run(day(181))

    run(day(181))
    run(day(200))

    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
    assert balances([shopper]) == [0]


def test_a_program_switched_to_inactivity_expires_no_one_for_a_whole_period(shop, shopper):
    earn(shopper, 100, day(-400))
    set_program(shop, expiry_mode="inactivity", expiry_days=180)

    run(day(0))  # first seen in inactivity mode
    run(day(179))
    assert balances([shopper]) == [100]

    run(day(180))
    assert balances([shopper]) == [0]


def test_switching_away_and_back_restarts_the_period(inactivity, shopper):
    run(day(-365))
    earn(shopper, 100, day(0))
    set_program(inactivity.shop, expiry_mode="never")
    run(day(100))  # notices the switch to never
    set_program(inactivity.shop, expiry_mode="inactivity")

    run(day(200))  # back to inactivity: counted from here
    assert balances([shopper]) == [100]
    run(day(380))
    assert balances([shopper]) == [0]


def test_a_paused_program_expires_nothing(inactivity, shopper):
    run(day(-365))
    earn(shopper, 100, day(0))
    set_program(inactivity.shop, is_active=False)

    run(day(400))

    assert balances([shopper]) == [100]
