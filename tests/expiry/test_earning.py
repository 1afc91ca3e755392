"""Points earned from orders and actions carry the program's per-lot expiry, and expire through
the ledger's periodic task; refunds after a partial expiry take nothing twice."""

import pytest

from loyalty.earning.actions import action_claim
from loyalty.earning.models import ActionRule
from loyalty.earning.services import order_event_received, refund_received
from loyalty.ledger import tasks as ledger_tasks
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_debit
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from tests.expiry.conftest import day, set_program

pytestmark = pytest.mark.django_db

CUSTOMER = 6001
SHIRT = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 2, "sku": "SH-1"}


def paid(shop, *, order_id=5001, at):
    payload = payloads.order_payload(
        order_id=order_id,
        customer_id=CUSTOMER,
        email="aisyah@example.com",
        line_items=[SHIRT],
        updated_at=at.isoformat(),
    )
    event = translate.to_event(
        topic="orders/paid", payload=payload, shop_id=shop.pk, occurred_at=at, source_id="t"
    )
    return order_event_received(shop=shop, event=event, now=at)


def refunded(shop, *, order_id=5001, quantity, at):
    base = payloads.order_payload(order_id=order_id, customer_id=CUSTOMER, line_items=[SHIRT])
    payload = payloads.refund_payload(
        order_id=order_id,
        refund_id=905,
        refund_line_items=[{"line_item": base["line_items"][0], "quantity": quantity}],
    )
    event = translate.to_event(
        topic="refunds/create", payload=payload, shop_id=shop.pk, occurred_at=at, source_id="t"
    )
    return refund_received(shop=shop, event=event, now=at)


def order_credit(shop):
    return LedgerEntry.objects.get(shop=shop, source_type="order", kind=EntryKind.EARN)


def test_an_order_credit_expires_expiry_days_after_it_was_earned(per_lot):
    paid(per_lot.shop, at=day(0))

    credit = order_credit(per_lot.shop)

    assert (credit.points, credit.available_at, credit.expires_at) == (100, None, day(90))


def test_a_pending_order_credit_expires_expiry_days_after_the_return_window(shop):
    program = set_program(shop, expiry_mode="per_lot", expiry_days=90, pending_days=14)

    paid(program.shop, at=day(0))

    credit = order_credit(shop)
    assert (credit.state, credit.available_at, credit.expires_at) == (
        "pending",
        day(14),
        day(104),
    )


def test_order_credits_under_never_or_inactivity_carry_no_date(inactivity):
    paid(inactivity.shop, at=day(0))

    assert order_credit(inactivity.shop).expires_at is None


def test_an_action_credit_expires_expiry_days_after_it_was_claimed(per_lot, shopper):
    ActionRule.objects.create(shop=per_lot.shop, action="newsletter", name="News", points=25)

    (claim,) = action_claim(shop=per_lot.shop, member=shopper, action="newsletter", now=day(3))

    assert (claim.entry.points, claim.entry.expires_at) == (25, day(93))


def test_the_periodic_task_expires_order_points_and_the_audit_stays_clean(per_lot):
    paid(per_lot.shop, at=day(0))
    paid(per_lot.shop, order_id=5002, at=day(50))
    member = Member.objects.get(shop=per_lot.shop)

    expired = ledger_tasks.expire_due_lots.delay(now=day(90).isoformat()).get()

    member.refresh_from_db()
    assert expired == 1
    assert (member.points_balance, member.lifetime_earned) == (100, 200)
    assert ledger_audit_members(members=[member]) == []
    assert ledger_tasks.expire_due_lots.delay(now=day(91).isoformat()).get() == 0


def test_a_refund_after_part_of_the_order_expired_takes_back_only_what_was_spent(per_lot):
    paid(per_lot.shop, at=day(0))  # 100 points, expiring on day 90
    member = Member.objects.get(shop=per_lot.shop)
    ledger_debit(
        member=member, points=40, idempotency_key="redeem:1", source_type="test", now=day(10)
    )
    ledger_tasks.expire_due_lots.delay(now=day(90).isoformat()).get()  # the other 60 expire
    paid(per_lot.shop, order_id=5002, at=day(91))  # 100 new points

    refunded(per_lot.shop, quantity=2, at=day(92))  # the whole first order

    member.refresh_from_db()
    reversal = LedgerEntry.objects.get(kind=EntryKind.REVERSE)
    assert (reversal.points, reversal.already_expired, reversal.shortfall) == (-40, 60, 0)
    assert (member.points_balance, member.points_debt, member.lifetime_earned) == (60, 0, 100)
    assert ledger_audit_members(members=[member]) == []
