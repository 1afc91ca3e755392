"""Webhook payload builders shaped like Shopify's documented examples.

Money is always a string with a ``*_set`` twin (``shop_money`` in the shop currency,
``presentment_money`` in the buyer's), ids are 13-digit integers with an
``admin_graphql_api_id``, guests have no ``customer`` key, and order-level discount codes are
allocated to line items (``discount_allocations``) the way Shopify does, gift cards excluded.
Every builder takes keyword overrides; unknown keywords are set on the payload as given.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_ids = itertools.count(5_660_000_000_001)
CENT = Decimal("0.01")


def next_id() -> int:
    """A fresh Shopify-looking id (unique within the process)."""
    return next(_ids)


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def money(value: Any) -> str:
    """Shopify's REST money: a string with two decimals."""
    return format(_d(value).quantize(CENT, ROUND_HALF_UP), "f")


def money_set(
    amount: Any, currency: str, presentment_currency: str | None = None, rate: Any = "1"
) -> dict[str, Any]:
    return {
        "shop_money": {"amount": money(amount), "currency_code": currency},
        "presentment_money": {
            "amount": money(_d(amount) * _d(rate)),
            "currency_code": presentment_currency or currency,
        },
    }


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def line_item(
    *,
    line_item_id: int | None = None,
    product_id: int | None = None,
    variant_id: int | None = None,
    title: str = "Cotton T-Shirt",
    variant_title: str | None = "Medium",
    sku: str | None = "TS-M",
    price: Any = "25.00",
    quantity: int = 1,
    current_quantity: int | None = None,
    gift_card: bool = False,
    taxable: bool | None = None,
    requires_shipping: bool | None = None,
    vendor: str = "Setia Demo",
    grams: int = 200,
    discount_allocations: Sequence[Mapping[str, Any]] | None = None,
    tax_lines: Sequence[Mapping[str, Any]] = (),
    currency: str = "USD",
    presentment_currency: str | None = None,
    exchange_rate: Any = "1",
    **overrides: Any,
) -> dict[str, Any]:
    """One order line. ``discount_allocations`` items need ``amount`` (and an index)."""
    lid = line_item_id or overrides.pop("id", None) or next_id()
    allocations = [
        {
            "amount": money(a["amount"]),
            "amount_set": money_set(a["amount"], currency, presentment_currency, exchange_rate),
            "discount_application_index": int(a.get("discount_application_index", 0)),
        }
        for a in discount_allocations or []
    ]
    discount = sum((_d(a["amount"]) for a in allocations), Decimal(0))
    item = {
        "id": lid,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{lid}",
        "attributed_staffs": [],
        "current_quantity": quantity if current_quantity is None else current_quantity,
        "fulfillable_quantity": quantity,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": gift_card,
        "grams": 0 if gift_card else grams,
        "name": f"{title} - {variant_title}" if variant_title else title,
        "price": money(price),
        "price_set": money_set(price, currency, presentment_currency, exchange_rate),
        "product_exists": True,
        "product_id": product_id or next_id(),
        "properties": [],
        "quantity": quantity,
        "requires_shipping": (not gift_card) if requires_shipping is None else requires_shipping,
        "sales_line_item_group_id": None,
        "sku": sku,
        "taxable": (not gift_card) if taxable is None else taxable,
        "title": title,
        "total_discount": money(discount),
        "total_discount_set": money_set(discount, currency, presentment_currency, exchange_rate),
        "variant_id": variant_id or next_id(),
        "variant_inventory_management": "shopify",
        "variant_title": variant_title,
        "vendor": vendor,
        "tax_lines": [dict(t) for t in tax_lines],
        "duties": [],
        "discount_allocations": allocations,
    }
    item.update(overrides)
    return item


_LINE_KEYS = {
    "line_item_id", "product_id", "variant_id", "title", "variant_title", "sku", "price",
    "quantity", "current_quantity", "gift_card", "taxable", "requires_shipping", "vendor",
    "grams", "discount_allocations", "tax_lines",
}  # fmt: skip


def _normalize_line(
    spec: Mapping[str, Any], currency: str, presentment: str | None, rate: Any
) -> dict[str, Any]:
    """Rebuild a (possibly partial or foreign-currency) line so its money twins match the order."""
    spec = dict(spec)
    if "id" in spec:
        spec["line_item_id"] = spec.pop("id")
    known = {k: v for k, v in spec.items() if k in _LINE_KEYS}
    extra = {
        k: v
        for k, v in spec.items()
        if k not in _LINE_KEYS
        and not k.endswith("_set")
        and k not in ("name", "admin_graphql_api_id", "total_discount", "fulfillable_quantity")
    }
    return line_item(
        **known,
        currency=currency,
        presentment_currency=presentment,
        exchange_rate=rate,
        **extra,
    )


def _allocate(lines: list[dict[str, Any]], codes: list[dict[str, Any]]) -> None:
    """Spread each code's amount over eligible lines by value; the last line takes the rounding."""
    eligible = [li for li in lines if not li.get("gift_card")]
    base = sum((_d(li["price"]) * li["quantity"] for li in eligible), Decimal(0))
    for index, code in enumerate(codes):
        remaining = _d(code["amount"])
        for n, li in enumerate(eligible):
            share = (
                remaining
                if n == len(eligible) - 1
                else (_d(code["amount"]) * _d(li["price"]) * li["quantity"] / base).quantize(CENT)
            )
            remaining -= share
            li.setdefault("discount_allocations", []).append(
                {"amount": money(share), "discount_application_index": index}
            )


def _customer_object(
    customer_id: int, currency: str, fields: Mapping[str, Any] | None
) -> dict[str, Any]:
    now = _now()
    out = {
        "id": customer_id,
        "email": f"customer{customer_id}@example.com",
        "created_at": now,
        "updated_at": now,
        "first_name": "Jane",
        "last_name": "Doe",
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": None,
        "currency": currency,
        "tax_exemptions": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": None,
    }
    out.update(fields or {})
    return out


def order_payload(
    *,
    order_id: int | None = None,
    order_number: int | None = None,
    customer_id: int | None = None,
    customer: Mapping[str, Any] | None = None,
    email: str | None = None,
    line_items: Iterable[Mapping[str, Any]] | None = None,
    currency: str = "USD",
    presentment_currency: str | None = None,
    exchange_rate: Any = "1",
    financial_status: str = "paid",
    fulfillment_status: str | None = None,
    source_name: str = "web",
    test: bool = False,
    discount_codes: Iterable[Mapping[str, Any]] = (),
    shipping: Any = "0.00",
    tax: Any = "0.00",
    taxes_included: bool = False,
    cancelled_at: str | None = None,
    cancel_reason: str | None = None,
    refunds: Iterable[Mapping[str, Any]] = (),
    created_at: str | None = None,
    tags: str = "",
    note: str | None = None,
    shop_domain: str = "demo-shop.myshopify.com",
    **overrides: Any,
) -> dict[str, Any]:
    """An order as sent to ``orders/create|paid|updated|cancelled|fulfilled``.

    ``customer_id=None`` is a guest order (no ``customer`` key). ``line_items`` are partial
    dicts (``{"price": "10.00", "quantity": 2, "sku": "X"}``); ``discount_codes`` are
    ``{"code", "amount", "type"}`` and are allocated to the lines unless a line already has
    ``discount_allocations``. ``refunds`` (from :func:`refund_payload`) lower the ``current_*``
    figures and line ``current_quantity``.
    """
    oid = order_id or next_id()
    number = order_number or 1000 + oid % 9000
    rate = exchange_rate
    pres = presentment_currency or currency
    specs = [dict(s) for s in (line_items or [{}])]
    codes = [
        {"code": c["code"], "amount": money(c["amount"]), "type": c.get("type", "fixed_amount")}
        for c in discount_codes
    ]
    if codes and not any(s.get("discount_allocations") for s in specs):
        _allocate(specs, codes)
    lines = [_normalize_line(s, currency, pres, rate) for s in specs]
    refunds = [dict(r) for r in refunds]
    refunded_qty: dict[int, int] = {}
    for refund in refunds:
        for rli in refund.get("refund_line_items", []):
            refunded_qty[rli["line_item_id"]] = (
                refunded_qty.get(rli["line_item_id"], 0) + rli["quantity"]
            )
    fully_cancelled = cancelled_at is not None and financial_status in ("refunded", "voided")
    for li in lines:
        if fully_cancelled:
            li["current_quantity"] = 0
        elif li["id"] in refunded_qty:
            li["current_quantity"] = max(0, li["quantity"] - refunded_qty[li["id"]])

    line_total = sum((_d(li["price"]) * li["quantity"] for li in lines), Decimal(0))
    discounts = sum((_d(li["total_discount"]) for li in lines), Decimal(0))
    subtotal = line_total - discounts
    current_subtotal = Decimal(0)
    current_discounts = Decimal(0)
    for li in lines:
        share = Decimal(li["current_quantity"]) / li["quantity"] if li["quantity"] else Decimal(0)
        current_subtotal += _d(li["price"]) * li["current_quantity"]
        current_discounts += _d(li["total_discount"]) * share
    current_subtotal -= current_discounts
    tax_d, shipping_d = _d(tax), _d(shipping)
    current_tax = tax_d * current_subtotal / subtotal if subtotal else Decimal(0)
    current_shipping = Decimal(0) if fully_cancelled else shipping_d
    total = subtotal + shipping_d + (Decimal(0) if taxes_included else tax_d)
    current_total = (
        current_subtotal + current_shipping + (Decimal(0) if taxes_included else current_tax)
    )
    when = created_at or _now()

    def ms(value: Any) -> dict[str, Any]:
        return money_set(value, currency, pres, rate)

    payload: dict[str, Any] = {
        "id": oid,
        "admin_graphql_api_id": f"gid://shopify/Order/{oid}",
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": False,
        "cancel_reason": cancel_reason,
        "cancelled_at": cancelled_at,
        "cart_token": None,
        "checkout_id": next_id(),
        "checkout_token": f"{oid:032x}"[-32:],
        "client_details": None,
        "closed_at": None,
        "confirmation_number": f"S{oid % 100_000_000:08d}",
        "confirmed": True,
        "contact_email": email,
        "created_at": when,
        "currency": currency,
        "current_shipping_price_set": ms(current_shipping),
        "current_subtotal_price": money(current_subtotal),
        "current_subtotal_price_set": ms(current_subtotal),
        "current_total_additional_fees_set": None,
        "current_total_discounts": money(current_discounts),
        "current_total_discounts_set": ms(current_discounts),
        "current_total_duties_set": None,
        "current_total_price": money(current_total),
        "current_total_price_set": ms(current_total),
        "current_total_tax": money(current_tax),
        "current_total_tax_set": ms(current_tax),
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": codes,
        "duties_included": False,
        "email": email,
        "estimated_taxes": False,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "landing_site": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "name": f"#{number}",
        "note": note,
        "note_attributes": [],
        "number": number - 1000 if number > 1000 else number,
        "order_number": number,
        "order_status_url": f"https://{shop_domain}/{oid}/orders/{oid:x}/authenticate",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["shopify_payments"],
        "phone": None,
        "po_number": None,
        "presentment_currency": pres,
        "processed_at": when,
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": source_name,
        "source_url": None,
        "subtotal_price": money(subtotal),
        "subtotal_price_set": ms(subtotal),
        "tags": tags,
        "tax_exempt": False,
        "tax_lines": [],
        "taxes_included": taxes_included,
        "test": test,
        "token": f"{oid:x}",
        "total_discounts": money(discounts),
        "total_discounts_set": ms(discounts),
        "total_line_items_price": money(line_total),
        "total_line_items_price_set": ms(line_total),
        "total_outstanding": money(0 if financial_status == "paid" else total),
        "total_price": money(total),
        "total_price_set": ms(total),
        "total_shipping_price_set": ms(shipping_d),
        "total_tax": money(tax_d),
        "total_tax_set": ms(tax_d),
        "total_tip_received": "0.00",
        "total_weight": sum(li["grams"] * li["quantity"] for li in lines),
        "updated_at": when,
        "user_id": None,
        "billing_address": None,
        "discount_applications": [
            {
                "target_type": "line_item",
                "type": "discount_code",
                "value": str(c.get("value", c["amount"])),
                "value_type": "percentage" if c["type"] == "percentage" else "fixed_amount",
                "allocation_method": "across",
                "target_selection": "all",
                "code": c["code"],
            }
            for c in codes
        ],
        "fulfillments": [],
        "line_items": lines,
        "payment_terms": None,
        "refunds": refunds,
        "shipping_address": None,
        "shipping_lines": (
            [
                {
                    "id": next_id(),
                    "code": "Standard",
                    "price": money(shipping_d),
                    "price_set": ms(shipping_d),
                    "discounted_price": money(shipping_d),
                    "discounted_price_set": ms(shipping_d),
                    "source": "shopify",
                    "title": "Standard",
                    "tax_lines": [],
                    "discount_allocations": [],
                }
            ]
            if shipping_d
            else []
        ),
    }
    if customer_id is not None or customer is not None:
        cid = int(customer_id if customer_id is not None else (customer or {}).get("id") or 0)
        cust = _customer_object(cid or next_id(), currency, customer)
        payload["customer"] = cust
        payload["email"] = payload["contact_email"] = email or cust["email"]
    payload.update(overrides)
    return payload


def refund_payload(
    *,
    order_id: int,
    refund_line_items: Iterable[Mapping[str, Any]] = (),
    refund_id: int | None = None,
    currency: str = "USD",
    presentment_currency: str | None = None,
    exchange_rate: Any = "1",
    shipping: Any = "0.00",
    note: str | None = None,
    restock_type: str = "return",
    transactions: Sequence[Mapping[str, Any]] | None = None,
    order_adjustments: Sequence[Mapping[str, Any]] = (),
    created_at: str | None = None,
    test: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``refunds/create`` payload. ``refund_line_items``: ``{"line_item": li, "quantity": n}``.

    Each line's subtotal is its price times quantity less the proportional share of its
    discount allocations (what the buyer actually paid), as Shopify reports it.
    """
    rid = refund_id or next_id()
    when = created_at or _now()
    pres = presentment_currency or currency

    def ms(value: Any) -> dict[str, Any]:
        return money_set(value, currency, pres, exchange_rate)

    items = []
    refunded = Decimal(0)
    for entry in refund_line_items:
        li = dict(entry["line_item"])
        qty = int(entry["quantity"])
        per_unit_discount = _d(li.get("total_discount", "0")) / max(1, int(li["quantity"]))
        subtotal = (_d(li["price"]) - per_unit_discount) * qty
        refunded += subtotal.quantize(CENT)
        items.append(
            {
                "id": next_id(),
                "line_item_id": li["id"],
                "location_id": None,
                "quantity": qty,
                "restock_type": entry.get("restock_type", restock_type),
                "subtotal": money(subtotal),
                "subtotal_set": ms(subtotal),
                "total_tax": "0.00",
                "total_tax_set": ms(0),
                "line_item": li,
            }
        )
    adjustments = [dict(a) for a in order_adjustments]
    shipping_d = _d(shipping)
    if shipping_d:
        adjustments.append(
            {
                "id": next_id(),
                "order_id": order_id,
                "refund_id": rid,
                "amount": money(-shipping_d),
                "amount_set": ms(-shipping_d),
                "kind": "shipping_refund",
                "reason": "Shipping refund",
                "tax_amount": "0.00",
                "tax_amount_set": ms(0),
            }
        )
    amount = refunded + shipping_d
    if transactions is None:
        tid = next_id()
        transactions = [
            {
                "id": tid,
                "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{tid}",
                "order_id": order_id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "message": "Refunded",
                "created_at": when,
                "processed_at": when,
                "test": test,
                "authorization": None,
                "location_id": None,
                "user_id": None,
                "parent_id": next_id(),
                "device_id": None,
                "error_code": None,
                "source_name": "web",
                "receipt": {},
                "amount": money(amount),
                "currency": currency,
                "payment_id": f"#{order_id}.2",
                "total_unsettled_set": ms(0),
                "manual_payment_gateway": False,
            }
        ]
    payload = {
        "id": rid,
        "admin_graphql_api_id": f"gid://shopify/Refund/{rid}",
        "order_id": order_id,
        "created_at": when,
        "processed_at": when,
        "note": note,
        "user_id": None,
        "restock": restock_type != "no_restock",
        "duties": [],
        "total_duties_set": ms(0),
        "additional_fees": [],
        "total_additional_fees_set": ms(0),
        "return": None,
        "refund_shipping_lines": [],
        "refund_line_items": items,
        "transactions": [dict(t) for t in transactions],
        "order_adjustments": adjustments,
    }
    payload.update(overrides)
    return payload


def customer_payload(
    *,
    customer_id: int | None = None,
    email: str | None = "jane@example.com",
    first_name: str | None = "Jane",
    last_name: str | None = "Doe",
    phone: str | None = None,
    tags: str | Iterable[str] = "",
    state: str = "enabled",
    verified_email: bool = True,
    note: str | None = None,
    currency: str = "USD",
    accepts_marketing: bool = False,
    created_at: str | None = None,
    updated_at: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """``customers/create`` and ``customers/update``: tags are one comma-separated string."""
    cid = customer_id or next_id()
    when = created_at or _now()
    payload = {
        "id": cid,
        "email": email,
        "created_at": when,
        "updated_at": updated_at or when,
        "first_name": first_name,
        "last_name": last_name,
        "state": state,
        "note": note,
        "verified_email": verified_email,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": phone,
        "currency": currency,
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": (
            {
                "state": "subscribed" if accepts_marketing else "not_subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": None,
            }
            if email
            else None
        ),
        "sms_marketing_consent": None,
        "tags": tags if isinstance(tags, str) else ", ".join(tags),
        "admin_graphql_api_id": f"gid://shopify/Customer/{cid}",
        "default_address": None,
    }
    payload.update(overrides)
    return payload


def app_uninstalled_payload(
    shop_domain: str,
    *,
    shop_id: int | None = None,
    name: str | None = None,
    email: str | None = None,
    currency: str = "USD",
    iana_timezone: str = "UTC",
    plan_display_name: str = "Basic",
    **overrides: Any,
) -> dict[str, Any]:
    """``app/uninstalled``: the shop resource."""
    sub = shop_domain.removesuffix(".myshopify.com")
    payload = {
        "id": shop_id or next_id(),
        "name": name or sub.replace("-", " ").title(),
        "email": email or f"owner@{sub}.example",
        "domain": shop_domain,
        "province": None,
        "country": "US",
        "address1": None,
        "zip": None,
        "city": None,
        "source": None,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": None,
        "created_at": _now(),
        "updated_at": _now(),
        "country_code": "US",
        "country_name": "United States",
        "currency": currency,
        "customer_email": email or f"owner@{sub}.example",
        "timezone": f"(GMT+00:00) {iana_timezone}",
        "iana_timezone": iana_timezone,
        "shop_owner": "Shop Owner",
        "money_format": "{{amount}}",
        "money_with_currency_format": f"{{{{amount}}}} {currency}",
        "weight_unit": "kg",
        "province_code": None,
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": plan_display_name,
        "plan_name": plan_display_name.lower().replace(" ", "_"),
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": shop_domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "{{amount}}",
        "money_with_currency_in_emails_format": f"{{{{amount}}}} {currency}",
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": False,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": None,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }
    payload.update(overrides)
    return payload


def customers_data_request_payload(
    shop_domain: str,
    *,
    customer_id: int,
    email: str | None = None,
    phone: str | None = None,
    orders_requested: Iterable[int] = (),
    shop_id: int | None = None,
    data_request_id: int | None = None,
) -> dict[str, Any]:
    """``customers/data_request`` (compliance): export the customer's data within 30 days."""
    return {
        "shop_id": shop_id or next_id(),
        "shop_domain": shop_domain,
        "orders_requested": list(orders_requested),
        "customer": {"id": customer_id, "email": email, "phone": phone},
        "data_request": {"id": data_request_id or next_id()},
    }


def customers_redact_payload(
    shop_domain: str,
    *,
    customer_id: int,
    email: str | None = None,
    phone: str | None = None,
    orders_to_redact: Iterable[int] = (),
    shop_id: int | None = None,
) -> dict[str, Any]:
    """``customers/redact`` (compliance): erase the customer's personal data."""
    return {
        "shop_id": shop_id or next_id(),
        "shop_domain": shop_domain,
        "customer": {"id": customer_id, "email": email, "phone": phone},
        "orders_to_redact": list(orders_to_redact),
    }


def shop_redact_payload(shop_domain: str, *, shop_id: int | None = None) -> dict[str, Any]:
    """``shop/redact`` (compliance, 48 h after uninstall): delete the shop's data."""
    return {"shop_id": shop_id or next_id(), "shop_domain": shop_domain}


ORDER_TOPICS = (
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
)
