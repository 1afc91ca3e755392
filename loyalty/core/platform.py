"""What the domain asks of a store's platform (the other direction from `events`).

The domain never imports a platform. It asks `gateway_for(shop)` for the shop's gateway and
calls it with its own terms (customer ids as strings, money as Decimal); each platform adapter
implements `StoreGateway` and registers it from its AppConfig.ready(). Failures come back as
`PlatformError`, which says whether trying again may succeed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from loyalty.core.events import CustomerData

if TYPE_CHECKING:
    from loyalty.shops.models import Shop


class PlatformError(Exception):
    """A call to the platform failed.

    `transient`: trying again later may succeed (a 5xx, throttling, a timeout).
    `outcome_unknown`: the request may have been applied although no answer came (a timeout or
    a dropped connection after sending): the caller must find out before undoing its own side.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        transient: bool = False,
        outcome_unknown: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.outcome_unknown = outcome_unknown


class DiscountKind(enum.StrEnum):
    AMOUNT = "amount"  # a fixed amount off the order
    PERCENT = "percent"  # a percentage off the order
    FREE_SHIPPING = "free_shipping"
    FREE_PRODUCT = "free_product"  # 100 % off one unit of a chosen variant


@dataclass(frozen=True)
class DiscountCodeSpec:
    """A single-use code for one customer; an empty `platform_customer_id` means any
    customer (a referred friend has no account yet): still one use in all."""

    code: str
    title: str
    platform_customer_id: str
    kind: DiscountKind
    value: Decimal = Decimal("0")  # money for AMOUNT, 0-100 for PERCENT
    product_variant_id: str = ""  # FREE_PRODUCT
    minimum_subtotal: Decimal | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    combines_with: dict[str, bool] = field(
        default_factory=lambda: {
            "orderDiscounts": False,
            "productDiscounts": True,
            "shippingDiscounts": True,
        }
    )


@dataclass(frozen=True)
class IssuedCode:
    code: str
    platform_discount_id: str


@dataclass(frozen=True)
class CustomerTierSync:
    """The tier as the store should show it: tags to set and drop, and app-owned metafields."""

    platform_customer_id: str
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    metafields: dict[str, str] = field(default_factory=dict)  # key -> value (single line text)


class StoreGateway(Protocol):
    def discount_code_create(self, *, shop: Shop, spec: DiscountCodeSpec) -> IssuedCode:
        """Create the code. A code that already exists *for this spec* (a retry after an
        unknown outcome) is returned as issued, not an error."""

    def discount_code_find(
        self, *, shop: Shop, code: str, platform_customer_id: str = ""
    ) -> IssuedCode | None:
        """The code if the platform has it (bound to that customer, when one is named)."""

    def discount_code_delete(self, *, shop: Shop, platform_discount_id: str) -> None:
        """Remove a code so it can never be used (idempotent: a missing code is fine)."""

    def customer_tier_sync(self, *, shop: Shop, sync: CustomerTierSync) -> None:
        """Make the customer's tags and metafields show their tier (idempotent)."""

    def customers_metafield_set(
        self, *, shop: Shop, key: str, values: Mapping[str, str]
    ) -> dict[str, PlatformError]:
        """Set the app-owned customer metafield `key` (where `customer_tier_sync` keeps its
        own, single line text) to each customer's value, in as few calls as the platform
        allows (idempotent). Returns the customers left unset, each with its error: a refusal
        of that customer (e.g. one the store no longer has), or a `transient` failure that
        left it unsent and worth trying again. Never raises PlatformError."""

    def customers_find_by_email(
        self, *, shop: Shop, emails: Iterable[str]
    ) -> dict[str, CustomerData]:
        """The store's customers with these emails, keyed by the email lowercased (the platform
        matches emails ignoring case); an email no customer has is left out. Any failure raises
        PlatformError (`transient` when trying again may succeed): a partial answer is never
        returned, so a missing email always means the store has no such customer."""

    def customer_email_subscribe(self, *, shop: Shop, platform_customer_id: str) -> None:
        """Subscribe the customer to the store's email marketing (single opt-in; idempotent:
        an already subscribed customer stays so). Any failure raises PlatformError."""


_gateways: dict[str, Callable[[], StoreGateway]] = {}


def register_gateway(platform: str, factory: Callable[[], StoreGateway]) -> None:
    _gateways[platform] = factory


def gateway_for(shop: Shop) -> StoreGateway:
    try:
        factory = _gateways[shop.platform]
    except KeyError:
        raise PlatformError(
            "no_gateway", f"No gateway is registered for the {shop.platform!r} platform."
        ) from None
    return factory()
