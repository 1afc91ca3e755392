"""The referrer's points: the friend's first paid order with their code, through the normal
webhook path; refusals keep their reason; cancellation and refunds take the points back."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.core.dispatch import PlatformRecords, handle_event, handle_order_events
from loyalty.ledger.models import EntryKind, EntryState, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from loyalty.referrals.models import ClaimStatus, ReferralClaim
from loyalty.shops.models import Program
from tests.factories import ShopFactory
from tests.platforms.shopify.helpers import order_payload, post_webhook
from tests.referrals.conftest import claim_of, enable, referrer_of

pytestmark = pytest.mark.django_db

FRIEND = 555
CODE = "REF-TEST-0001"
LINE = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 2, "sku": "SH-1"}
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def friend_order(*, order_id=9001, customer_id=FRIEND, email="friend@example.com", code=CODE, **kw):
    kw.setdefault("line_items", [LINE])
    return payloads.order_payload(
        order_id=order_id,
        customer_id=customer_id,
        email=email,
        currency="MYR",
        discount_codes=[{"code": code, "amount": "15.00", "type": "fixed_amount"}] if code else [],
        updated_at=kw.pop("updated_at", "2026-11-20T10:00:00Z"),
        **kw,
    )


def deliver(shop, topic, payload, *, at=T0):
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=at, source_id="t"
    )
    return handle_event(event, shop=shop, records=PlatformRecords())


def referral_entries(referrer):
    return list(
        LedgerEntry.objects.filter(member=referrer, source_type="referral")
        .order_by("pk")
        .values_list("kind", "points", "idempotency_key")
    )


def test_a_signed_orders_paid_webhook_with_the_code_credits_the_referrer_once(client, shop):
    # given a friend's welcome code
    enable(shop, referrer_points=300)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)
    payload = order_payload(order_id=9001, customer_id=FRIEND, email="friend@example.com")
    payload["discount_codes"] = [{"code": CODE.lower(), "amount": "20.00", "type": "fixed_amount"}]

    # when their first order is paid, and the same order's webhook comes twice
    first = post_webhook(client, "orders/paid", payload)
    again = post_webhook(client, "orders/paid", payload)

    # then the referrer is credited once, under the claim's key
    assert (first.status_code, again.status_code) == (200, 200)
    claim.refresh_from_db()
    assert (claim.status, claim.order_id, claim.friend_customer_id, claim.points) == (
        ClaimStatus.REWARDED,
        "9001",
        str(FRIEND),
        300,
    )
    assert referral_entries(referrer) == [(EntryKind.EARN, 300, f"referral:{claim.pk}")]
    referrer.refresh_from_db()
    assert referrer.points_balance == 300
    assert ledger_audit_members(members=[referrer]) == []


def test_a_second_order_with_the_same_code_credits_nothing_more(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)

    deliver(shop, "orders/paid", friend_order(order_id=9001))
    deliver(shop, "orders/paid", friend_order(order_id=9002))

    claim.refresh_from_db()
    assert (claim.status, claim.order_id) == (ClaimStatus.REWARDED, "9001")
    assert len(referral_entries(referrer)) == 1


def test_an_unpaid_order_marks_the_code_used_and_payment_credits(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)

    deliver(shop, "orders/create", friend_order(financial_status="pending"))
    claim.refresh_from_db()
    assert (claim.status, referral_entries(referrer)) == (ClaimStatus.USED, [])

    deliver(shop, "orders/paid", friend_order(updated_at="2026-11-20T11:00:00Z"))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REWARDED


def test_the_credit_waits_the_programs_pending_days(shop):
    enable(shop)
    Program.objects.filter(shop=shop).update(pending_days=14)
    referrer = referrer_of(shop)
    claim_of(shop, referrer)

    deliver(shop, "orders/paid", friend_order())

    entry = LedgerEntry.objects.get(member=referrer, source_type="referral")
    assert entry.state == EntryState.PENDING
    assert entry.available_at == T0 + timedelta(days=14)


def test_cancelling_the_order_reverses_the_credit_once(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)
    deliver(shop, "orders/paid", friend_order())

    cancelled = friend_order(cancelled_at="2026-11-21T10:00:00Z", updated_at="2026-11-21T10:00:00Z")
    deliver(shop, "orders/cancelled", cancelled)
    deliver(shop, "orders/cancelled", cancelled)

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REVERSED
    assert referral_entries(referrer) == [
        (EntryKind.EARN, 300, f"referral:{claim.pk}"),
        (EntryKind.REVERSE, -300, f"referral:{claim.pk}:reverse"),
    ]
    referrer.refresh_from_db()
    assert referrer.points_balance == 0
    assert ledger_audit_members(members=[referrer]) == []


def test_a_full_refund_reverses_the_credit_and_a_partial_one_does_not(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)
    deliver(shop, "orders/paid", friend_order())
    line = friend_order()["line_items"][0]

    def refund(quantity, refund_id):
        return payloads.refund_payload(
            order_id=9001,
            refund_id=refund_id,
            currency="MYR",
            refund_line_items=[{"line_item": line, "quantity": quantity}],
        )

    deliver(shop, "refunds/create", refund(1, 1))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REWARDED

    deliver(shop, "refunds/create", refund(1, 2))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REVERSED
    referrer.refresh_from_db()
    assert referrer.points_balance == 0


@pytest.mark.parametrize(
    ("customer_id", "email"),
    [("7001", "someone@example.com"), (None, "sitiaminah+2@googlemail.com")],
)
def test_the_referrer_using_the_code_themselves_is_refused(shop, customer_id, email):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)

    deliver(shop, "orders/paid", friend_order(customer_id=customer_id, email=email))

    claim.refresh_from_db()
    assert (claim.status, claim.reason) == (
        ClaimStatus.REFUSED,
        "The referrer placed the order themselves.",
    )
    assert referral_entries(referrer) == []


def address(street, zip_="50450"):
    return {"address1": street, "address2": "", "zip": zip_, "country_code": "MY"}


def test_an_order_shipping_to_the_referrers_own_address_is_refused(shop):
    # given the referrer's earlier order, shipped home
    enable(shop)
    referrer = referrer_of(shop)
    deliver(
        shop,
        "orders/paid",
        friend_order(
            order_id=7000,
            customer_id=7001,
            email="siti.aminah@gmail.com",
            code=None,
            shipping_address=address("12 Jalan Ampang, #3-1"),
        ),
    )
    claim = claim_of(shop, referrer)
    other = claim_of(shop, referrer, code="REF-TEST-0002", email="real.friend@example.com")

    # when a "friend" with a new email orders to the same address, written differently
    deliver(
        shop,
        "orders/paid",
        friend_order(billing_address=address("12 JALAN AMPANG #31"), shipping_address=None),
    )
    # and a real friend orders to another address
    deliver(
        shop,
        "orders/paid",
        friend_order(
            order_id=9002,
            customer_id=556,
            email="real.friend@example.com",
            code="REF-TEST-0002",
            shipping_address=address("7 Jalan Bukit Bintang"),
        ),
    )

    # then the first is refused with the reason, the second credited
    claim.refresh_from_db()
    other.refresh_from_db()
    assert (claim.status, claim.reason) == (
        ClaimStatus.REFUSED,
        "The order ships or bills to the referrer's address.",
    )
    assert other.status == ClaimStatus.REWARDED
    assert [points for _, points, _ in referral_entries(referrer)] == [300]


def test_erasing_a_customer_drops_their_address_fingerprints(client, shop):
    from loyalty.earning.models import OrderRecord

    deliver(
        shop,
        "orders/paid",
        friend_order(code=None, shipping_address=address("12 Jalan Ampang")),
    )
    assert OrderRecord.objects.get(order_id="9001").facts["address_keys"]

    post_webhook(client, "customers/redact", {"customer": {"id": FRIEND}, "orders_to_redact": []})

    assert OrderRecord.objects.get(order_id="9001").facts["address_keys"] == []


def test_not_the_friends_first_paid_order_is_refused(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)
    deliver(shop, "orders/paid", friend_order(order_id=8000, code=None))

    deliver(shop, "orders/paid", friend_order(order_id=9001))

    claim.refresh_from_db()
    assert (claim.status, claim.reason) == (
        ClaimStatus.REFUSED,
        "Not the friend's first paid order.",
    )
    assert referral_entries(referrer) == []


def test_the_monthly_cap_refuses_once_reached(shop):
    enable(shop, monthly_cap=1)
    referrer = referrer_of(shop)
    first = claim_of(shop, referrer, code="REF-AAAA-0001", email="a@example.com")
    second = claim_of(shop, referrer, code="REF-AAAA-0002", email="b@example.com")

    deliver(
        shop,
        "orders/paid",
        friend_order(order_id=1, customer_id=1, email="a@example.com", code=first.code),
    )
    deliver(
        shop,
        "orders/paid",
        friend_order(order_id=2, customer_id=2, email="b@example.com", code=second.code),
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ClaimStatus.REWARDED
    assert (second.status, second.reason) == (
        ClaimStatus.REFUSED,
        "The referrer reached the monthly cap of 1 referrals.",
    )
    assert len(referral_entries(referrer)) == 1


def test_a_referrer_no_longer_active_is_not_credited(shop):
    enable(shop)
    referrer = referrer_of(shop, status="excluded")
    claim = claim_of(shop, referrer)

    deliver(shop, "orders/paid", friend_order())

    claim.refresh_from_db()
    assert (claim.status, claim.reason) == (
        ClaimStatus.REFUSED,
        "The referrer is no longer an active member.",
    )


def test_a_guest_friends_order_credits_the_referrer(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)

    deliver(shop, "orders/paid", friend_order(customer_id=None))

    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REWARDED


def test_another_shops_code_never_matches(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim = claim_of(shop, referrer)
    other = ShopFactory(domain="other.myshopify.com", currency="MYR")
    Program.objects.get_or_create(shop=other)
    enable(other)

    deliver(other, "orders/paid", friend_order())

    claim.refresh_from_db()
    assert (claim.status, claim.order_id) == (ClaimStatus.ISSUED, "")
    assert referral_entries(referrer) == []


def test_a_burst_leaves_orders_with_a_referral_code_to_one_by_one(shop):
    enable(shop)
    referrer = referrer_of(shop)
    claim_of(shop, referrer)
    events = [
        translate.to_event(
            topic="orders/paid", payload=payload, shop_id=shop.pk, occurred_at=T0, source_id="t"
        )
        for payload in (
            friend_order(order_id=1, customer_id=1, email="x@example.com", code="RAYA10"),
            friend_order(order_id=2),
        )
    ]

    outcomes = handle_order_events(events, shop=shop)

    assert outcomes[0] is not None and outcomes[0].startswith("awarded")
    assert outcomes[1] is None
    assert not ReferralClaim.objects.filter(order_id="2").exists()
