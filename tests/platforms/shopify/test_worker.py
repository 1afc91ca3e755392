"""A webhook stored by the intake view and processed by a real Celery worker on Redis."""

import time

import pytest

from loyalty.platforms.shopify.models import WebhookDelivery
from tests.factories import MemberFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, post_webhook

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_webhook_is_processed_by_a_real_worker(client, tasks_to_worker):
    shop = ShopFactory(domain=SHOP, access_token="shpat_x")
    member = MemberFactory(shop=shop, platform_customer_id="555", email="old@example.com")

    response = post_webhook(client, "customers/update", {"id": 555, "email": "new@example.com"})

    assert response.status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get()
        if delivery.status != "received":
            break
        time.sleep(0.2)
    assert (delivery.status, delivery.outcome, delivery.attempts) == (
        "processed",
        "member updated",
        1,
    )
    member.refresh_from_db()
    assert member.email == "new@example.com"


def test_paid_order_is_credited_through_a_real_worker(client, tasks_to_worker):
    from loyalty.members.models import Member
    from loyalty.platforms.shopify.standin import payloads

    ShopFactory(domain=SHOP, access_token="shpat_x")
    orders = [
        payloads.order_payload(
            order_id=8000 + n,
            customer_id=4242,
            currency="MYR",
            line_items=[{"id": 100 + n, "price": "25.00", "quantity": 2}],
        )
        for n in range(5)
    ]

    for payload in orders + orders[:2]:  # two duplicates, as Shopify's retries would send
        assert post_webhook(client, "orders/paid", payload).status_code == 200

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WebhookDelivery.objects.exclude(status="received").count() == 7:
            break
        time.sleep(0.2)
    member = Member.objects.get(platform_customer_id="4242")
    assert (member.points_balance, member.lifetime_earned) == (250, 250)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
