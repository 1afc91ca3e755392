"""The domain's own view of what happened in a store. Platform adapters build these from their
payloads (money in shop currency as Decimal, ids as strings) and hand them to
`loyalty.core.dispatch.handle_event`; nothing here knows any platform."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CustomerData:
    platform_customer_id: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    accepts_marketing: bool | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    product_id: str
    variant_id: str
    sku: str
    quantity: int
    current_quantity: int
    unit_price: Decimal
    total_discount: Decimal
    gift_card: bool = False
    # What the platform knows of the product, when a rule needs it (order payloads do not
    # carry it: adapters look it up). Collection ids are the platform's plain ids ("841564295").
    collections: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderData:
    order_id: str
    name: str
    customer: CustomerData | None
    email: str
    currency: str
    subtotal: Decimal  # after discounts, before shipping and tax, in shop currency
    current_subtotal: Decimal
    total_discounts: Decimal
    shipping: Decimal
    tax: Decimal
    lines: tuple[OrderLine, ...]
    discount_codes: tuple[str, ...]
    financial_status: str
    source_name: str
    test: bool
    created_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime | None = None
    fulfillment_status: str = ""
    shipping_refunded: Decimal = Decimal("0")
    # The shipping and billing addresses, each one normalised line (see address_line): kept
    # only as keyed fingerprints, for the referral program's "same address" check.
    addresses: tuple[str, ...] = ()


class OrderEventKind(enum.StrEnum):
    CREATED = "created"
    PAID = "paid"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"


@dataclass(frozen=True)
class OrderEvent:
    kind: OrderEventKind
    shop_id: int
    order: OrderData
    occurred_at: datetime | None
    source_id: str  # the platform's delivery id, for tracing


@dataclass(frozen=True)
class RefundLine:
    line_id: str
    quantity: int
    subtotal: Decimal


@dataclass(frozen=True)
class RefundEvent:
    shop_id: int
    refund_id: str
    order_id: str
    lines: tuple[RefundLine, ...]
    occurred_at: datetime | None
    source_id: str


class CustomerEventKind(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True)
class CustomerEvent:
    kind: CustomerEventKind
    shop_id: int
    customer: CustomerData
    occurred_at: datetime | None
    source_id: str


@dataclass(frozen=True)
class AppUninstalled:
    shop_id: int
    occurred_at: datetime | None
    source_id: str


@dataclass(frozen=True)
class _CustomerPrivacyRequest:
    shop_id: int
    platform_customer_id: str
    email: str
    occurred_at: datetime | None
    source_id: str
    order_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class CustomerDataRequest(_CustomerPrivacyRequest):
    """Export everything held on the customer, for the merchant to pass on."""


@dataclass(frozen=True)
class CustomerRedact(_CustomerPrivacyRequest):
    """Erase the customer's personal data."""


@dataclass(frozen=True)
class ShopRedact:
    shop_id: int
    occurred_at: datetime | None
    source_id: str


DomainEvent = (
    OrderEvent
    | RefundEvent
    | CustomerEvent
    | AppUninstalled
    | CustomerDataRequest
    | CustomerRedact
    | ShopRedact
)
