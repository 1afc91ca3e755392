"""Two workers processing batches at the same moment, on PostgreSQL's real row locks: batches
that share members (existing and new ones) never credit an order twice or lose one."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from loyalty.earning.models import ActionRule, OrderRecord
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from loyalty.platforms.shopify import webhooks
from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery
from loyalty.platforms.shopify.standin import payloads
from tests.factories import MemberFactory, ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_simultaneous_batches_sharing_members_credit_every_order_once():
    shop = ShopFactory(currency="MYR", installed_at=T0 - timedelta(days=30))
    ActionRule.objects.create(shop=shop, action="signup", name="Joined", points=100)
    for n in range(10):  # 10 existing members, 10 customers new to the program
        MemberFactory(shop=shop, platform_customer_id=str(7000 + n))
    batches = [[], [], [], []]
    for n in range(80):  # each customer has 4 orders, one in each batch
        customer = 7000 + n % 20
        payload = payloads.order_payload(
            order_id=90_000 + n,
            customer_id=customer,
            line_items=[{"id": n, "product_id": 1, "price": f"{10 + n}.00", "quantity": 1}],
            currency="MYR",
            shop_domain=shop.domain,
        )
        delivery_id = webhooks.delivery_store(
            incoming=webhooks.Incoming(
                webhook_id=f"burst-{n}",
                topic="orders/paid",
                shop_domain=shop.domain,
                body=json.dumps(payload),
                triggered_at=T0,
            )
        )
        batches[n // 20].append(delivery_id)
    start = threading.Barrier(len(batches))
    errors = []

    def work(ids):
        try:
            start.wait()
            for pk in webhooks.process_deliveries(ids):
                webhooks.process_delivery(pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(ids,)) for ids in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.PROCESSED
    }
    records = OrderRecord.objects.filter(shop=shop)
    assert records.count() == 80
    assert {r.order_id: r.awarded for r in records} == {str(90_000 + n): 10 + n for n in range(80)}
    members = list(Member.objects.filter(shop=shop))
    assert len(members) == 20
    for member in members:
        n = int(member.platform_customer_id) - 7000
        orders = sum(10 + k for k in range(n, 80, 20))
        signup = 100 if n >= 10 else 0  # only the customers enrolled by their first order
        assert member.points_balance == orders + signup, member.platform_customer_id
    assert ledger_audit_members(members=members) == []
