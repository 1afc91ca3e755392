"""Shopify webhook payloads → the domain's events. Money is read in shop currency (the
`shop_money` half of each `*_set` field, falling back to the plain string)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from loyalty.core import events


class PayloadError(ValueError):
    """The payload lacks something its topic must have: a permanent failure, not a retry."""


def _money(payload: dict, name: str) -> Decimal:
    twin = payload.get(f"{name}_set") or {}
    amount = (twin.get("shop_money") or {}).get("amount", payload.get(name))
    if amount in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(amount))
    except InvalidOperation as exc:
        raise PayloadError(f"{name} is not an amount: {amount!r}") from exc


def _id(value) -> str:
    return "" if value is None else str(value)


def legacy_id(gid: str | None) -> str:
    """``gid://shopify/LineItem/466157049`` → ``"466157049"``: the id webhooks carry."""
    if not gid:
        return ""
    return str(gid).rsplit("/", 1)[-1].split("?", 1)[0]


def parse_when(value) -> datetime | None:
    """A Shopify timestamp (webhook or GraphQL), or None when absent."""
    return parse_datetime(value) if isinstance(value, str) and value else None


def _required(payload: dict, key: str):
    if payload.get(key) in (None, ""):
        raise PayloadError(f"the payload has no {key!r}")
    return payload[key]


def customer(data: dict | None) -> events.CustomerData | None:
    if not data or data.get("id") is None:
        return None
    consent = data.get("email_marketing_consent") or {}
    accepts = data.get("accepts_marketing")
    if consent.get("state"):
        accepts = consent["state"] == "subscribed"
    return events.CustomerData(
        platform_customer_id=_id(data["id"]),
        email=data.get("email") or "",
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        accepts_marketing=accepts,
        tags=tuple(t.strip() for t in (data.get("tags") or "").split(",") if t.strip()),
    )


def _line_discount(line: dict) -> Decimal:
    """A line's discounts: its allocations (order-level codes spread over lines included),
    falling back on the older `total_discount` field."""
    allocations = line.get("discount_allocations")
    if allocations:
        return sum((_money(a, "amount") for a in allocations), Decimal("0"))
    return _money(line, "total_discount")


def order(payload: dict) -> events.OrderData:
    lines = tuple(
        events.OrderLine(
            line_id=_id(line.get("id")),
            product_id=_id(line.get("product_id")),
            variant_id=_id(line.get("variant_id")),
            sku=line.get("sku") or "",
            quantity=int(line.get("quantity") or 0),
            current_quantity=int(line.get("current_quantity", line.get("quantity")) or 0),
            unit_price=_money(line, "price"),
            total_discount=_line_discount(line),
            gift_card=bool(line.get("gift_card")),
        )
        for line in payload.get("line_items") or []
    )
    return events.OrderData(
        order_id=_id(_required(payload, "id")),
        name=payload.get("name") or "",
        customer=customer(payload.get("customer")),
        email=payload.get("email") or "",
        currency=payload.get("currency") or "",
        subtotal=_money(payload, "subtotal_price"),
        current_subtotal=_money(payload, "current_subtotal_price"),
        total_discounts=_money(payload, "total_discounts"),
        shipping=_money(payload, "total_shipping_price"),
        tax=_money(payload, "total_tax"),
        lines=lines,
        discount_codes=tuple(d.get("code", "") for d in payload.get("discount_codes") or []),
        financial_status=payload.get("financial_status") or "",
        source_name=payload.get("source_name") or "",
        test=bool(payload.get("test")),
        created_at=parse_when(payload.get("created_at")),
        cancelled_at=parse_when(payload.get("cancelled_at")),
        updated_at=parse_when(payload.get("updated_at")),
        fulfillment_status=payload.get("fulfillment_status") or "",
        addresses=tuple(
            line
            for key in ("shipping_address", "billing_address")
            if (line := address_line(payload.get(key)))
        ),
    )


def address_line(address: object) -> str:
    """An address as one comparable line: street lines, postcode and country, lower case,
    letters and digits only ("12 Jalan Ampang, #3-1" and "12 JALAN AMPANG #31" agree). Empty
    when the address has no street."""
    if not isinstance(address, dict):
        return ""
    street = "".join(
        ch
        for part in ("address1", "address2")
        for ch in str(address.get(part) or "").lower()
        if ch.isalnum()
    )
    if not street:
        return ""
    postcode = "".join(ch for ch in str(address.get("zip") or "").lower() if ch.isalnum())
    return f"{street}|{postcode}|{str(address.get('country_code') or '').lower()}"


ORDER_TOPICS = {
    "orders/create": events.OrderEventKind.CREATED,
    "orders/paid": events.OrderEventKind.PAID,
    "orders/updated": events.OrderEventKind.UPDATED,
    "orders/cancelled": events.OrderEventKind.CANCELLED,
    "orders/fulfilled": events.OrderEventKind.FULFILLED,
}
CUSTOMER_TOPICS = {
    "customers/create": events.CustomerEventKind.CREATED,
    "customers/update": events.CustomerEventKind.UPDATED,
}
PRIVACY_TOPICS = {"customers/data_request", "customers/redact", "shop/redact"}
LIFECYCLE_TOPICS = {"app/uninstalled", "app/scopes_update"}


def to_event(
    *, topic: str, payload: dict, shop_id: int, occurred_at: datetime | None, source_id: str
) -> events.DomainEvent | None:
    """The domain event for a delivery, or None for a topic the domain does not act on."""
    common = {"shop_id": shop_id, "occurred_at": occurred_at, "source_id": source_id}
    if topic in ORDER_TOPICS:
        return events.OrderEvent(kind=ORDER_TOPICS[topic], order=order(payload), **common)
    if topic == "refunds/create":
        return events.RefundEvent(
            refund_id=_id(_required(payload, "id")),
            order_id=_id(_required(payload, "order_id")),
            lines=tuple(
                events.RefundLine(
                    line_id=_id(item.get("line_item_id")),
                    quantity=int(item.get("quantity") or 0),
                    subtotal=_money(item, "subtotal"),
                )
                for item in payload.get("refund_line_items") or []
            ),
            **common,
        )
    if topic in CUSTOMER_TOPICS:
        data = customer(payload)
        if data is None:
            raise PayloadError("the payload has no customer id")
        return events.CustomerEvent(kind=CUSTOMER_TOPICS[topic], customer=data, **common)
    if topic == "app/uninstalled":
        return events.AppUninstalled(**common)
    if topic in ("customers/data_request", "customers/redact"):
        data = payload.get("customer") or {}
        if data.get("id") is None:
            raise PayloadError("the payload has no customer id")
        cls = (
            events.CustomerDataRequest
            if topic == "customers/data_request"
            else events.CustomerRedact
        )
        return cls(
            platform_customer_id=_id(data["id"]),
            email=data.get("email") or "",
            order_ids=tuple(
                _id(o)
                for o in payload.get("orders_requested") or payload.get("orders_to_redact") or []
            ),
            **common,
        )
    if topic == "shop/redact":
        return events.ShopRedact(**common)
    return None


def shop_domain_of(topic: str, payload: dict) -> str:
    """The shop a body names, where Shopify puts one (privacy payloads, app/uninstalled)."""
    if topic in PRIVACY_TOPICS:
        return (payload.get("shop_domain") or "").lower()
    if topic == "app/uninstalled":
        return (payload.get("myshopify_domain") or "").lower()
    return ""


def customer_id_of(topic: str, payload: dict) -> str:
    """Whose data a delivery holds, so a later customer redact can find it."""
    if topic in ORDER_TOPICS or topic in ("customers/data_request", "customers/redact"):
        return _id((payload.get("customer") or {}).get("id"))
    if topic in CUSTOMER_TOPICS:
        return _id(payload.get("id"))
    return ""
