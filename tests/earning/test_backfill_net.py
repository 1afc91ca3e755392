"""`manage.py orders_backfill_net` gives orders recorded before `net_amount` existed (left at 0)
the net amount and items the earning path computes for the same events, and nothing else."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import OrderRecord
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from loyalty.shops.models import Program, TierBasis
from tests.factories import ShopFactory, TierFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
SHIRT = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 2, "sku": "SH-1"}
SCARF = {"id": 12, "product_id": 102, "price": "30.00", "quantity": 1, "sku": "SC-1"}
CARD = {"id": 13, "product_id": 103, "price": "25.00", "quantity": 1, "gift_card": True}


def a_shop(domain="batik.myshopify.com"):
    return ShopFactory(domain=domain, currency="MYR", installed_at=T0 - timedelta(days=30))


def order(order_id, **kwargs):
    kwargs.setdefault("customer_id", 6000 + order_id)
    kwargs.setdefault("line_items", [SHIRT, SCARF])
    kwargs.setdefault("currency", "MYR")
    kwargs.setdefault("updated_at", "2026-11-20T10:00:00Z")
    return payloads.order_payload(order_id=order_id, **kwargs)


def deliver(shop, topic, payload):
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=T0, source_id="t"
    )
    return handle_event(event, shop=shop, records=PlatformRecords())


def net(shop, order_id):
    record = OrderRecord.objects.get(shop=shop, order_id=str(order_id))
    return record.net_amount, record.net_items


def recorded_before_the_upgrade(shop):
    """As the records of the shop's orders were before net_amount existed."""
    OrderRecord.objects.filter(shop=shop).update(net_amount=0, net_items=0)


def backfill(*args):
    out = StringIO()
    call_command("orders_backfill_net", *args, stdout=out)
    return out.getvalue()


def test_a_paid_order_gets_what_the_earning_path_computes_for_it():
    shop = a_shop()
    deliver(shop, "orders/paid", order(1, discount_codes=[{"code": "X", "amount": "13.00"}]))
    deliver(shop, "orders/paid", order(2, line_items=[SHIRT, SCARF, CARD]))
    refund = payloads.refund_payload(
        order_id=2,
        refund_id=901,
        currency="MYR",
        refund_line_items=[{"line_item": SHIRT, "quantity": 1}],
    )
    deliver(shop, "refunds/create", refund)
    computed = {n: net(shop, n) for n in (1, 2)}
    recorded_before_the_upgrade(shop)

    output = backfill("--batch", "1")

    assert computed == {1: (Decimal("117.00"), 3), 2: (Decimal("80.00"), 2)}
    assert {n: net(shop, n) for n in (1, 2)} == computed
    assert "2 paid order(s) with a net amount of 0 examined, 2 updated, 0 skipped" in output
    assert "--resync-tiers" in output
    assert "analytics_backfill --from 2026-11-" in output


def test_test_cancelled_and_unpaid_orders_stay_at_zero():
    shop = a_shop()
    deliver(shop, "orders/paid", order(1, test=True))
    deliver(shop, "orders/paid", order(2))
    deliver(shop, "orders/cancelled", order(2, cancelled_at="2026-11-21T10:00:00Z"))
    deliver(shop, "orders/create", order(3, financial_status="pending"))
    recorded_before_the_upgrade(shop)

    output = backfill()

    assert [net(shop, n) for n in (1, 2, 3)] == [(Decimal("0"), 0)] * 3
    assert "1 paid order(s) with a net amount of 0 examined, 0 updated" in output  # the test one


def test_running_twice_changes_nothing_the_second_time():
    shop = a_shop()
    deliver(shop, "orders/paid", order(1))
    recorded_before_the_upgrade(shop)
    backfill()
    after_first = OrderRecord.objects.values_list("net_amount", "net_items", "updated_at").get()

    output = backfill()

    assert after_first[:2] == (Decimal("130.00"), 3)
    assert OrderRecord.objects.values_list("net_amount", "net_items", "updated_at").get() == (
        after_first
    )
    assert "0 paid order(s) with a net amount of 0 examined, 0 updated" in output


def test_shop_limits_it_to_that_shop():
    here, there = a_shop(), a_shop("songket.myshopify.com")
    deliver(here, "orders/paid", order(1))
    deliver(there, "orders/paid", order(1))
    recorded_before_the_upgrade(here)
    recorded_before_the_upgrade(there)

    output = backfill("--shop", "Batik.myshopify.com")

    assert (net(here, 1), net(there, 1)) == ((Decimal("130.00"), 3), (Decimal("0"), 0))
    assert "--shop batik.myshopify.com" in output
    with pytest.raises(CommandError, match="No shop"):
        backfill("--shop", "unknown.myshopify.com")


def test_resync_tiers_moves_the_members_the_filled_orders_qualify():
    shop = a_shop()
    deliver(shop, "orders/paid", order(1))  # no tiers yet: nothing evaluated
    recorded_before_the_upgrade(shop)
    Program.objects.filter(shop=shop).update(tier_basis=TierBasis.AMOUNT_SPENT)
    gold = TierFactory(shop=shop, name="Gold", threshold=100)
    member = Member.objects.get(shop=shop)

    output = backfill("--resync-tiers")

    member.refresh_from_db()
    assert (member.tier, member.tier_metric) == (gold, Decimal("130.00"))
    assert "Tiers: 1 member(s) evaluated again, 1 changed tier, 0 failed." in output
