"""Orders, refunds, cancellations and edits, as Shopify sends them, become the right points."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import EarnRule, OrderRecord
from loyalty.ledger.models import EntryState, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_debit, ledger_release_due
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from loyalty.shops.models import Program
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
CUSTOMER = 6001
ORDER = 5001
SHIRT = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 2, "sku": "SH-1"}
SCARF = {"id": 12, "product_id": 102, "price": "30.00", "quantity": 1, "sku": "SC-1"}


@pytest.fixture
def shop():
    return ShopFactory(
        domain="batik.myshopify.com", currency="MYR", installed_at=T0 - timedelta(days=30)
    )


def order(**kwargs):
    kwargs.setdefault("order_id", ORDER)
    kwargs.setdefault("customer_id", CUSTOMER)
    kwargs.setdefault("email", "aisyah@example.com")
    kwargs.setdefault("line_items", [SHIRT, SCARF])
    kwargs.setdefault("currency", "MYR")
    kwargs.setdefault("updated_at", "2026-11-20T10:00:00Z")
    return payloads.order_payload(**kwargs)


def refund(*lines, refund_id, **kwargs):
    base = order()
    by_id = {li["id"]: li for li in base["line_items"]}
    return payloads.refund_payload(
        order_id=ORDER,
        refund_id=refund_id,
        currency="MYR",
        refund_line_items=[
            {"line_item": by_id[line_id], "quantity": qty} for line_id, qty in lines
        ],
        **kwargs,
    )


def deliver(shop, topic, payload, *, at=T0):
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=at, source_id="t"
    )
    return handle_event(event, shop=shop, records=PlatformRecords())


def member_points(shop, customer=CUSTOMER):
    member = Member.objects.filter(shop=shop, platform_customer_id=str(customer)).first()
    if member is None:
        return None
    assert ledger_audit_members(members=[member]) == []
    return (member.points_balance, member.points_pending, member.lifetime_earned)


# --- paid -----------------------------------------------------------------------------------


def test_paid_order_enrols_the_customer_and_awards_the_subtotal_after_discounts(shop):
    payload = order(
        discount_codes=[{"code": "RAYA10", "amount": "13.00"}],
        shipping="8.00",
        tax="10.00",
        presentment_currency="USD",
        exchange_rate="0.21",
    )

    outcome = deliver(shop, "orders/paid", payload)

    assert outcome == "awarded 117 points (+117)"  # 130 - 13, shop money, no shipping or tax
    member = Member.objects.get(shop=shop)
    assert (member.platform_customer_id, member.email) == (
        str(CUSTOMER),
        payload["customer"]["email"],
    )
    assert member_points(shop) == (117, 0, 117)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.source_type, entry.source_id, entry.reason) == (
        "earn",
        "order",
        str(ORDER),
        f"Order {payload['name']}",
    )
    record = OrderRecord.objects.get()
    assert record.award_lines[0]["code"] == "base"
    assert record.award_lines[0]["values"]["basis"] == "117.00"


def test_the_same_paid_event_twice_awards_once(shop):
    deliver(shop, "orders/paid", order())
    deliver(shop, "orders/paid", order())

    assert member_points(shop) == (130, 0, 130)
    assert LedgerEntry.objects.count() == 1


def test_order_created_but_not_paid_earns_nothing_yet(shop):
    deliver(shop, "orders/create", order(financial_status="pending"))

    assert member_points(shop) is None
    assert OrderRecord.objects.get().awarded == 0


def test_test_orders_never_earn(shop):
    deliver(shop, "orders/paid", order(test=True))

    assert member_points(shop) is None


def test_pending_period_holds_points_until_the_return_window_closes(shop):
    Program.objects.filter(shop=shop).update(pending_days=14)

    deliver(shop, "orders/paid", order(), at=T0)

    assert member_points(shop) == (0, 130, 130)
    member = Member.objects.get(shop=shop)
    assert LedgerEntry.objects.get().available_at == T0 + timedelta(days=14)
    ledger_release_due(member=member, now=T0 + timedelta(days=14))
    assert member_points(shop) == (130, 0, 130)


def test_earning_on_fulfilment_waits_for_the_fulfilled_event(shop):
    Program.objects.filter(shop=shop).update(earn_trigger="order_fulfilled")

    deliver(shop, "orders/paid", order())
    assert member_points(shop) is None

    deliver(shop, "orders/fulfilled", order(fulfillment_status="fulfilled"))
    assert member_points(shop) == (130, 0, 130)


# --- refunds, cancellations, edits ----------------------------------------------------------


def test_partial_refund_takes_back_in_proportion_line_by_line(shop):
    deliver(shop, "orders/paid", order())

    deliver(shop, "refunds/create", refund((11, 1), refund_id=901))

    assert member_points(shop) == (80, 0, 80)  # one of two shirts: 50 back


def test_refund_values_points_with_the_rules_as_they_were_at_earn_time(shop):
    rule = EarnRule.objects.create(
        shop=shop,
        name="Double shirts",
        kind="product",
        effect="multiply",
        target="sku",
        values=["SH-1"],
        multiplier=Decimal("2"),
    )
    deliver(shop, "orders/paid", order())
    assert member_points(shop) == (230, 0, 230)  # 100 x2 + 30
    rule.multiplier = Decimal("5")  # the merchant changes the rule afterwards
    rule.save()

    deliver(shop, "refunds/create", refund((11, 1), refund_id=901))

    assert member_points(shop) == (130, 0, 130)  # 100 back (50 x2), not 250 (50 x5)


def test_shipping_only_refund_takes_nothing(shop):
    deliver(shop, "orders/paid", order(shipping="8.00"))

    deliver(shop, "refunds/create", refund(refund_id=902, shipping="8.00"))

    assert member_points(shop) == (130, 0, 130)


def test_full_refund_then_cancellation_takes_back_everything_once(shop):
    deliver(shop, "orders/paid", order())

    deliver(shop, "refunds/create", refund((11, 2), (12, 1), refund_id=903))
    deliver(
        shop,
        "orders/cancelled",
        order(cancelled_at="2026-11-21T10:00:00Z", financial_status="refunded"),
    )

    assert member_points(shop) == (0, 0, 0)


def test_cancellation_takes_back_what_is_left(shop):
    deliver(shop, "orders/paid", order())
    deliver(shop, "refunds/create", refund((12, 1), refund_id=904))

    deliver(shop, "orders/cancelled", order(cancelled_at="2026-11-21T10:00:00Z"))

    assert member_points(shop) == (0, 0, 0)


def test_edit_that_removes_an_item_adjusts_to_the_difference(shop):
    deliver(shop, "orders/paid", order())
    edited = order(updated_at="2026-11-20T12:00:00Z")
    edited["line_items"][0]["current_quantity"] = 1

    deliver(shop, "orders/updated", edited)

    assert member_points(shop) == (80, 0, 80)


def test_an_older_update_arriving_late_does_not_undo_a_newer_one(shop):
    newer = order(updated_at="2026-11-20T12:00:00Z")
    newer["line_items"][0]["current_quantity"] = 1
    older = order(updated_at="2026-11-20T11:00:00Z")

    deliver(shop, "orders/paid", newer)
    deliver(shop, "orders/updated", older)

    assert member_points(shop) == (80, 0, 80)


def test_refund_before_the_paid_event_ends_where_the_natural_order_does(shop):
    deliver(shop, "refunds/create", refund((11, 1), refund_id=905))
    assert member_points(shop) is None

    deliver(shop, "orders/paid", order())

    assert member_points(shop) == (80, 0, 80)


def test_take_back_of_spent_points_never_overdraws_and_becomes_debt(shop):
    deliver(shop, "orders/paid", order())
    member = Member.objects.get(shop=shop)
    ledger_debit(member=member, points=120, idempotency_key="redeem:1", source_type="redemption")

    deliver(shop, "refunds/create", refund((11, 2), refund_id=906))  # takes back 100; 10 left

    member.refresh_from_db()
    assert (member.points_balance, member.points_debt) == (0, 90)
    reversal = LedgerEntry.objects.get(kind="reverse")
    assert (reversal.points, reversal.shortfall) == (-10, 90)

    # The next order repays the debt first.
    deliver(shop, "orders/paid", order(order_id=5002, line_items=[{"id": 21, "price": "200.00"}]))

    member.refresh_from_db()
    assert (member.points_balance, member.points_debt) == (110, 0)
    assert ledger_audit_members(members=[member]) == []


def test_forgive_policy_records_the_shortfall_but_no_debt(shop):
    Program.objects.filter(shop=shop).update(shortfall_policy="forgive")
    deliver(shop, "orders/paid", order())
    member = Member.objects.get(shop=shop)
    ledger_debit(member=member, points=130, idempotency_key="redeem:1", source_type="redemption")

    deliver(shop, "orders/cancelled", order(cancelled_at="2026-11-21T10:00:00Z"))

    member.refresh_from_db()
    assert (member.points_balance, member.points_debt) == (0, 0)
    assert LedgerEntry.objects.get(kind="reverse").shortfall == 130


# --- guests ---------------------------------------------------------------------------------


def test_guest_order_is_credited_when_the_shopper_opens_an_account_with_that_email(shop):
    deliver(shop, "orders/paid", order(customer_id=None, email="Siti@Example.com"))
    assert Member.objects.count() == 0
    assert OrderRecord.objects.get().award_lines[0]["points"] == 130

    outcome = deliver(
        shop,
        "customers/create",
        payloads.customer_payload(customer_id=7777, email="siti@example.com"),
    )

    assert outcome == "not a member; 1 guest order(s) claimed"
    assert member_points(shop, customer=7777) == (130, 0, 130)


def test_guest_orders_do_not_earn_when_the_program_says_so(shop):
    Program.objects.filter(shop=shop).update(guest_orders_earn=False)
    deliver(shop, "orders/paid", order(customer_id=None, email="siti@example.com"))

    deliver(
        shop,
        "customers/create",
        payloads.customer_payload(customer_id=7777, email="siti@example.com"),
    )

    assert member_points(shop, customer=7777) is None


# --- milestones -----------------------------------------------------------------------------


def test_first_order_and_every_third_order_bonuses(shop):
    EarnRule.objects.create(
        shop=shop, name="Welcome", kind="milestone", points=100, first_order=True
    )
    EarnRule.objects.create(shop=shop, name="Every 3rd", kind="milestone", points=300, every_nth=3)

    for n in range(1, 5):
        deliver(
            shop,
            "orders/paid",
            order(order_id=6000 + n, line_items=[{"id": 30 + n, "price": "10.00"}]),
        )

    # 4 x 10 base, +100 first, +300 third
    assert member_points(shop) == (440, 0, 440)


# --- any order, any duplicates --------------------------------------------------------------


EVENTS = [
    ("orders/paid", lambda: order(financial_status="paid")),
    ("refunds/create", lambda: refund((11, 1), refund_id=801)),
    ("refunds/create", lambda: refund((12, 1), refund_id=802)),
    (
        "orders/updated",
        lambda: order(
            updated_at="2026-11-20T12:00:00Z",
            financial_status="partially_refunded",
            refunds=[refund((11, 1), refund_id=801)],
        ),
    ),
]


def natural_balance():
    return 50  # 130 - one shirt (50) - the scarf (30)


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(len(EVENTS)))))
def test_every_arrival_order_ends_in_the_same_balance(shop, permutation):
    for i in permutation:
        topic, build = EVENTS[i]
        deliver(shop, topic, build())

    assert member_points(shop) == (natural_balance(), 0, natural_balance())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=st.lists(st.sampled_from(range(len(EVENTS) + 1)), min_size=1, max_size=10))
def test_any_sequence_with_duplicates_ends_where_its_facts_say(sequence):
    shop = ShopFactory(installed_at=T0 - timedelta(days=1))
    cancel = len(EVENTS)
    for i in sequence:
        if i == cancel:
            deliver(shop, "orders/cancelled", order(cancelled_at="2026-11-21T10:00:00Z"))
        else:
            deliver(shop, *(lambda t, b: (t, b()))(*EVENTS[i]))

    seen = set(sequence)
    paid = seen & {0, 3, cancel}  # the cancelled payload says paid too, as Shopify's would
    if not paid:
        expected = None  # nobody has paid: nobody is enrolled
    elif cancel in seen:
        expected = 0
    else:
        expected = 130 - (50 if seen & {1, 3} else 0) - (30 if 2 in seen else 0)
    points = member_points(shop)
    if expected is None:
        assert points is None
    else:
        assert points == (expected, 0, expected)
    assert LedgerEntry.objects.filter(state=EntryState.PENDING).count() == 0
