from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.core import events
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.install import missing_scopes
from tests.platforms.shopify.helpers import order_payload

T = datetime(2026, 11, 20, 10, tzinfo=UTC)


def to_event(topic, payload):
    return translate.to_event(
        topic=topic, payload=payload, shop_id=7, occurred_at=T, source_id="wh-1"
    )


def test_order_paid_becomes_an_order_event_in_shop_money():
    payload = order_payload()
    payload["subtotal_price"] = "999.99"  # the plain string loses to shop_money in *_set
    payload["currency"] = "MYR"

    event = to_event("orders/paid", payload)

    assert isinstance(event, events.OrderEvent)
    assert (event.kind, event.shop_id, event.occurred_at, event.source_id) == ("paid", 7, T, "wh-1")
    order = event.order
    assert (order.order_id, order.name, order.currency) == ("820982911946154508", "#1001", "MYR")
    assert (order.subtotal, order.total_discounts, order.shipping, order.tax) == (
        Decimal("180.00"),
        Decimal("20.00"),
        Decimal("8.00"),
        Decimal("10.80"),
    )
    assert order.customer == events.CustomerData(
        platform_customer_id="115310627314723954",
        email="aisyah@example.com",
        first_name="Aisyah",
        last_name="Rahman",
        accepts_marketing=True,
        tags=("vip", "batik"),
    )
    assert order.lines == (
        events.OrderLine(
            line_id="466157049",
            product_id="632910392",
            variant_id="39072856",
            sku="BATIK-S",
            quantity=2,
            current_quantity=2,
            unit_price=Decimal("100.00"),
            total_discount=Decimal("20.00"),
            gift_card=False,
        ),
    )
    assert order.discount_codes == ("RAYA20",)
    assert (order.test, order.source_name, order.financial_status) == (False, "web", "paid")


@pytest.mark.parametrize(("topic", "kind"), list(translate.ORDER_TOPICS.items()))
def test_every_order_topic_maps_to_its_kind(topic, kind):
    assert to_event(topic, order_payload()).kind == kind


def test_guest_order_has_no_customer_but_keeps_the_email():
    order = to_event(
        "orders/paid", order_payload(customer_id=None, email="guest@example.com")
    ).order

    assert (order.customer, order.email) == (None, "guest@example.com")


def test_refund_lines_keep_quantity_and_shop_money_subtotal():
    event = to_event(
        "refunds/create",
        {
            "id": 509562969,
            "order_id": 450789469,
            "refund_line_items": [
                {
                    "line_item_id": 466157049,
                    "quantity": 1,
                    "subtotal": "90.00",
                    "subtotal_set": {
                        "shop_money": {"amount": "90.00", "currency_code": "MYR"},
                        "presentment_money": {"amount": "21.60", "currency_code": "USD"},
                    },
                }
            ],
            "order_adjustments": [{"kind": "shipping_refund", "amount": "-8.00"}],
        },
    )

    assert event == events.RefundEvent(
        shop_id=7,
        refund_id="509562969",
        order_id="450789469",
        lines=(events.RefundLine(line_id="466157049", quantity=1, subtotal=Decimal("90.00")),),
        occurred_at=T,
        source_id="wh-1",
    )


def test_privacy_payloads_name_the_customer_and_orders():
    event = to_event(
        "customers/redact",
        {
            "shop_id": 954889,
            "shop_domain": "x.myshopify.com",
            "customer": {"id": 191167, "email": "john@example.com"},
            "orders_to_redact": [299938, 280263],
        },
    )

    assert event == events.CustomerRedact(
        shop_id=7,
        platform_customer_id="191167",
        email="john@example.com",
        occurred_at=T,
        source_id="wh-1",
        order_ids=("299938", "280263"),
    )


@pytest.mark.parametrize(
    ("topic", "payload", "message"),
    [
        ("orders/paid", {"name": "#1"}, "no 'id'"),
        ("orders/paid", {"id": 1, "subtotal_price": "abc"}, "subtotal_price is not an amount"),
        ("refunds/create", {"id": 1}, "no 'order_id'"),
        ("customers/update", {"email": "x@example.com"}, "no customer id"),
        ("customers/redact", {"customer": {}}, "no customer id"),
    ],
)
def test_payloads_missing_what_their_topic_needs_raise_payload_error(topic, payload, message):
    with pytest.raises(translate.PayloadError, match=message):
        to_event(topic, payload)


def test_topics_the_domain_does_not_act_on_give_no_event():
    assert to_event("app/scopes_update", {"current": ["read_orders"]}) is None
    assert to_event("products/update", {"id": 1}) is None


@pytest.mark.parametrize(
    ("granted", "missing"),
    [
        ("read_orders,read_customers,write_customers,write_discounts,write_app_proxy", set()),
        # read_products is optional: a shop installed before it was asked for still installs
        (
            "read_orders,read_customers,write_customers,write_discounts,write_app_proxy,"
            "read_products",
            set(),
        ),
        (
            "read_orders,write_customers,write_discounts,write_app_proxy",
            set(),
        ),  # write implies read
        ("read_orders,read_customers", {"write_customers", "write_discounts", "write_app_proxy"}),
        (
            "",
            {
                "read_orders",
                "read_customers",
                "write_customers",
                "write_discounts",
                "write_app_proxy",
            },
        ),
    ],
)
def test_missing_scopes(granted, missing):
    assert missing_scopes(granted) == missing
