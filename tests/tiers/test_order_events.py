"""Tiers through the order lifecycle, as Shopify's events arrive: upgrades on payment,
refunds that undo them, the amount spent kept on the order, and the multiplier in the award."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import EarnRule, OrderRecord
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from loyalty.shops.models import TierBasis
from loyalty.tiers.models import TierHistory
from loyalty.tiers.services import tier_assign
from tests.factories import ShopFactory, TierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_store_sync")]

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
CUSTOMER = 6101
SHIRT = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 2, "sku": "SH-1"}
SCARF = {"id": 12, "product_id": 102, "price": "30.00", "quantity": 1, "sku": "SC-1"}


@pytest.fixture
def shop():
    return ShopFactory(
        domain="tiers.myshopify.com", currency="MYR", installed_at=T0 - timedelta(days=30)
    )


def order(order_id, **kwargs):
    kwargs.setdefault("customer_id", CUSTOMER)
    kwargs.setdefault("email", "aisyah@example.com")
    kwargs.setdefault("line_items", [SHIRT, SCARF])
    kwargs.setdefault("currency", "MYR")
    kwargs.setdefault("updated_at", "2026-11-20T10:00:00Z")
    return payloads.order_payload(order_id=order_id, **kwargs)


def refund(order_id, *lines, refund_id):
    by_id = {li["id"]: li for li in order(order_id)["line_items"]}
    return payloads.refund_payload(
        order_id=order_id,
        refund_id=refund_id,
        currency="MYR",
        refund_line_items=[{"line_item": by_id[i], "quantity": q} for i, q in lines],
    )


def deliver(shop, topic, payload):
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=T0, source_id="t"
    )
    return handle_event(event, shop=shop, records=PlatformRecords())


def the_member(shop):
    return Member.objects.select_related("tier").get(shop=shop, platform_customer_id=str(CUSTOMER))


def test_a_paid_order_that_crosses_the_threshold_upgrades_the_buyer_at_once(shop):
    TierFactory(shop=shop, name="Silver", threshold=100)

    deliver(shop, "orders/paid", order(5001))

    member = the_member(shop)
    assert member.tier.name == "Silver"
    assert list(TierHistory.objects.values_list("to_name", "reason", "metric")) == [
        ("Silver", "upgrade", Decimal("130.00"))
    ]


def test_a_refund_that_drops_the_buyer_below_the_threshold_takes_the_tier_back(shop):
    TierFactory(shop=shop, name="Silver", threshold=100, entry_points=25)
    deliver(shop, "orders/paid", order(5001))
    assert the_member(shop).points_balance == 155  # 130 + Silver's 25

    deliver(shop, "refunds/create", refund(5001, (11, 2), refund_id=901))

    member = the_member(shop)
    assert member.tier is None
    assert list(TierHistory.objects.order_by("pk").values_list("to_name", "reason")) == [
        ("Silver", "upgrade"),
        ("", "refund"),
    ]
    assert member.points_balance == 30  # the shirts' 100 and the entry reward went back
    assert ledger_audit_members(members=[member]) == []


def test_the_order_keeps_what_the_buyer_spent_net_of_refunds(shop):
    shop.program.tier_basis = TierBasis.AMOUNT_SPENT
    shop.program.save()
    TierFactory(shop=shop, name="Big spender", threshold=Decimal("120.00"))

    deliver(shop, "orders/paid", order(5001, discount_codes=[{"code": "RAYA", "amount": "5.00"}]))
    upgraded = the_member(shop).tier
    deliver(shop, "refunds/create", refund(5001, (12, 1), refund_id=902))

    record = OrderRecord.objects.get(order_id="5001")
    # 130 - 5 discount = 125; the scarf back: 30 less its share of the discount.
    assert (record.net_amount, record.net_items) == (Decimal("96.15"), 2)
    assert (upgraded.name, the_member(shop).tier) == ("Big spender", None)


def test_a_cancelled_order_keeps_nothing_for_tiers(shop):
    deliver(shop, "orders/paid", order(5001))

    deliver(
        shop,
        "orders/cancelled",
        order(5001, cancelled_at="2026-11-21T10:00:00Z", financial_status="refunded"),
    )

    record = OrderRecord.objects.get(order_id="5001")
    assert (record.net_amount, record.net_items) == (Decimal("0"), 0)


def test_the_tier_multiplier_reaches_the_award_lines_of_the_next_order(shop):
    TierFactory(shop=shop, name="Silver", threshold=100, multiplier=Decimal("1.5"))

    deliver(shop, "orders/paid", order(5001))  # crosses the threshold: earned at 1x
    deliver(shop, "orders/paid", order(5002))

    first, second = OrderRecord.objects.order_by("order_id")
    assert [line["code"] for line in first.award_lines] == ["base"]
    assert first.snapshot["member"]["tier"] is None
    assert second.snapshot["member"]["tier"] == "Silver"
    assert second.snapshot["member"]["tier_multiplier"] == "1.50"
    assert [(line["code"], line["points"]) for line in second.award_lines] == [
        ("base", 130),
        ("tier_multiplier", 65),
    ]
    assert second.award_lines[1]["description"] == "Silver tier: x1.5"
    assert the_member(shop).points_balance == 325


def test_campaigns_for_a_tier_match_it_by_name(shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=10_000)
    EarnRule.objects.create(
        shop=shop, name="Gold weekend", kind="campaign", points=40, tiers=["Gold"]
    )
    EarnRule.objects.create(
        shop=shop, name="Silver weekend", kind="campaign", points=7, tiers=["Silver"]
    )
    deliver(shop, "orders/paid", order(5001))  # enrols the buyer, before any tier
    tier_assign(member=the_member(shop), tier=gold, actor="staff:1")

    deliver(shop, "orders/paid", order(5002))

    record = OrderRecord.objects.get(order_id="5002")
    assert [(line["code"], line["points"]) for line in record.award_lines] == [
        ("base", 130),
        ("campaign_bonus", 40),
    ]


def test_a_guest_order_counts_once_the_shopper_opens_an_account(shop):
    TierFactory(shop=shop, name="Silver", threshold=100)
    deliver(shop, "orders/paid", order(5001, customer_id=None, email="guest@example.com"))
    assert TierHistory.objects.count() == 0

    deliver(
        shop,
        "customers/create",
        payloads.customer_payload(customer_id=CUSTOMER, email="Guest@Example.com"),
    )

    assert the_member(shop).tier.name == "Silver"
