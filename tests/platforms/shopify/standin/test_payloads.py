"""Webhook payload builders: Shopify's shapes, money twins, allocations, guests, compliance."""

from __future__ import annotations

from loyalty.platforms.shopify.standin import payloads


def test_guest_order_has_no_customer_and_money_twins():
    # when a guest pays for two shirts in MYR, presented in USD
    order = payloads.order_payload(
        order_id=820982911946154508,
        order_number=1001,
        email="guest@example.com",
        line_items=[{"price": "30.00", "quantity": 2, "sku": "TS-M"}],
        currency="MYR",
        presentment_currency="USD",
        exchange_rate="0.21",
        shipping="7.00",
        tax="3.60",
    )

    # then there is no customer key and every amount is a string with both monies
    assert "customer" not in order
    assert order["admin_graphql_api_id"] == "gid://shopify/Order/820982911946154508"
    assert (order["name"], order["order_number"], order["number"]) == ("#1001", 1001, 1)
    assert (order["test"], order["source_name"], order["financial_status"]) == (
        False,
        "web",
        "paid",
    )
    assert (order["subtotal_price"], order["total_price"], order["total_tax"]) == (
        "60.00",
        "70.60",
        "3.60",
    )
    assert order["total_shipping_price_set"] == {
        "shop_money": {"amount": "7.00", "currency_code": "MYR"},
        "presentment_money": {"amount": "1.47", "currency_code": "USD"},
    }
    assert (order["currency"], order["presentment_currency"]) == ("MYR", "USD")
    line = order["line_items"][0]
    assert sorted(line) == sorted(
        [
            "id", "admin_graphql_api_id", "attributed_staffs", "current_quantity",
            "fulfillable_quantity", "fulfillment_service", "fulfillment_status", "gift_card",
            "grams", "name", "price", "price_set", "product_exists", "product_id", "properties",
            "quantity", "requires_shipping", "sales_line_item_group_id", "sku", "taxable",
            "title", "total_discount", "total_discount_set", "variant_id",
            "variant_inventory_management", "variant_title", "vendor", "tax_lines", "duties",
            "discount_allocations",
        ]
    )  # fmt: skip
    assert (line["price"], line["quantity"], line["current_quantity"]) == ("30.00", 2, 2)


def test_customer_order_allocates_a_discount_code_but_not_to_gift_cards():
    # when a member buys a shirt and a gift card with a 5.00 code
    order = payloads.order_payload(
        customer_id=7001,
        customer={"email": "siti@example.com", "first_name": "Siti"},
        line_items=[
            {"price": "30.00", "quantity": 1, "sku": "TS-M"},
            {"price": "20.00", "quantity": 1, "sku": "TS-L"},
            {"price": "50.00", "quantity": 1, "sku": "GIFT", "gift_card": True},
        ],
        discount_codes=[{"code": "SETIA-7KQ2", "amount": "5.00", "type": "fixed_amount"}],
        source_name="pos",
        test=True,
    )

    # then the customer is embedded and the discount is spread over the shirts only
    assert order["customer"]["id"] == 7001
    assert order["customer"]["admin_graphql_api_id"] == "gid://shopify/Customer/7001"
    assert order["email"] == "siti@example.com"
    assert order["discount_codes"] == [
        {"code": "SETIA-7KQ2", "amount": "5.00", "type": "fixed_amount"}
    ]
    assert [li["total_discount"] for li in order["line_items"]] == ["3.00", "2.00", "0.00"]
    assert order["line_items"][0]["discount_allocations"][0]["discount_application_index"] == 0
    assert order["line_items"][2]["gift_card"] is True
    assert order["line_items"][2]["taxable"] is False
    assert (order["total_line_items_price"], order["total_discounts"], order["subtotal_price"]) == (
        "100.00",
        "5.00",
        "95.00",
    )
    assert order["discount_applications"][0]["code"] == "SETIA-7KQ2"
    assert (order["source_name"], order["test"]) == ("pos", True)


def test_refund_and_the_refunded_order():
    # given a paid order for two shirts with a 4.00 discount
    order = payloads.order_payload(
        customer_id=7001,
        line_items=[{"price": "30.00", "quantity": 2}],
        discount_codes=[{"code": "SAVE4", "amount": "4.00"}],
    )

    # when one shirt is refunded and the order is updated
    refund = payloads.refund_payload(
        order_id=order["id"],
        refund_line_items=[{"line_item": order["line_items"][0], "quantity": 1}],
    )
    updated = payloads.order_payload(
        order_id=order["id"],
        customer_id=7001,
        line_items=order["line_items"],
        discount_codes=order["discount_codes"],
        refunds=[refund],
        financial_status="partially_refunded",
    )

    # then the refund line is what was paid for it, and current_* reflect the refund
    item = refund["refund_line_items"][0]
    assert (item["line_item_id"], item["quantity"], item["subtotal"]) == (
        order["line_items"][0]["id"],
        1,
        "28.00",
    )
    assert item["subtotal_set"]["shop_money"] == {"amount": "28.00", "currency_code": "USD"}
    assert [(t["kind"], t["status"], t["amount"]) for t in refund["transactions"]] == [
        ("refund", "success", "28.00")
    ]
    assert refund["order_adjustments"] == []
    assert (updated["subtotal_price"], updated["current_subtotal_price"]) == ("56.00", "28.00")
    assert updated["line_items"][0]["current_quantity"] == 1
    assert updated["refunds"] == [refund]


def test_customer_and_compliance_payloads():
    # when the customer and compliance payloads are built
    customer = payloads.customer_payload(customer_id=7001, tags=["vip", "Setia Gold"])
    data_request = payloads.customers_data_request_payload(
        "demo-shop.myshopify.com",
        shop_id=954889,
        customer_id=7001,
        email="siti@example.com",
        orders_requested=[299938],
        data_request_id=9999,
    )
    redact = payloads.customers_redact_payload(
        "demo-shop.myshopify.com", shop_id=954889, customer_id=7001, orders_to_redact=[299938]
    )
    shop_redact = payloads.shop_redact_payload("demo-shop.myshopify.com", shop_id=954889)

    # then they have Shopify's documented shapes
    assert (customer["tags"], customer["admin_graphql_api_id"]) == (
        "vip, Setia Gold",
        "gid://shopify/Customer/7001",
    )
    assert data_request == {
        "shop_id": 954889,
        "shop_domain": "demo-shop.myshopify.com",
        "orders_requested": [299938],
        "customer": {"id": 7001, "email": "siti@example.com", "phone": None},
        "data_request": {"id": 9999},
    }
    assert redact == {
        "shop_id": 954889,
        "shop_domain": "demo-shop.myshopify.com",
        "customer": {"id": 7001, "email": None, "phone": None},
        "orders_to_redact": [299938],
    }
    assert shop_redact == {"shop_id": 954889, "shop_domain": "demo-shop.myshopify.com"}


def test_cancelled_refunded_order_has_nothing_current():
    # when an order is cancelled and fully refunded
    order = payloads.order_payload(
        line_items=[{"price": "10.00", "quantity": 3}],
        shipping="5.00",
        cancelled_at="2026-11-28T09:00:00+00:00",
        cancel_reason="customer",
        financial_status="refunded",
    )

    # then current totals and quantities are zero while the originals stay
    assert (order["total_price"], order["current_total_price"]) == ("35.00", "0.00")
    assert order["line_items"][0]["current_quantity"] == 0
    assert (order["cancelled_at"], order["cancel_reason"]) == (
        "2026-11-28T09:00:00+00:00",
        "customer",
    )
