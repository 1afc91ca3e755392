"""Orders of one member processed at the same moment, on PostgreSQL's real row locks."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import EarnRule, OrderRecord
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from tests.factories import MemberFactory, ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)
LINE = {"id": 11, "product_id": 101, "price": "50.00", "quantity": 1, "sku": "SH-1"}


def test_simultaneous_first_orders_of_one_member_give_one_first_order_bonus():
    shop = ShopFactory(currency="MYR", installed_at=T0 - timedelta(days=30))
    MemberFactory(shop=shop, platform_customer_id="6001")  # enrolled, no order yet
    EarnRule.objects.create(
        shop=shop, name="Welcome", kind="milestone", points=100, first_order=True
    )
    events = [
        translate.to_event(
            topic="orders/paid",
            payload=payloads.order_payload(
                order_id=5000 + n,
                customer_id=6001,
                email="aisyah@example.com",
                line_items=[{**LINE, "id": 11 + n}],
                currency="MYR",
            ),
            shop_id=shop.pk,
            occurred_at=T0,
            source_id=f"t{n}",
        )
        for n in range(6)
    ]
    start = threading.Barrier(len(events))
    errors = []

    def deliver(event):
        try:
            start.wait()
            handle_event(event, shop=shop, records=PlatformRecords())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    bonuses = [
        line
        for record in OrderRecord.objects.filter(shop=shop)
        for line in record.award_lines
        if line["code"] == "milestone"
    ]
    member = Member.objects.get(shop=shop, platform_customer_id="6001")
    assert len(bonuses) == 1
    assert member.points_balance == 6 * 50 + 100
    assert ledger_audit_members(members=[member]) == []
