"""Fixtures for rewards: a scripted in-memory gateway for the service tests, and a member of the
stand-in's shop (a real customer there) for the tests over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from loyalty.core import platform
from loyalty.core.platform import DiscountCodeSpec, IssuedCode, PlatformError
from loyalty.ledger.services import ledger_credit
from loyalty.members.services import member_get_or_create
from loyalty.shops.models import Platform

CUSTOMER_ID = 115310627314723954


@dataclass
class ScriptedGateway:
    """Answers `discount_code_create` from `create_script` (one step per call: an exception to
    raise, or None to succeed; when `lands` is set, a failing call still creates the code, as
    a call that timed out after the store applied it)."""

    create_script: list = field(default_factory=list)
    find_errors: list = field(default_factory=list)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # code -> the customer it is bound to
    specs: list[DiscountCodeSpec] = field(default_factory=list)
    finds: list[str] = field(default_factory=list)
    lands: bool = False

    def discount_code_create(self, *, shop, spec):
        self.specs.append(spec)
        step = self.create_script.pop(0) if self.create_script else None
        if step is None or self.lands:
            issued = self.codes.setdefault(
                spec.code,
                IssuedCode(spec.code, f"gid://shopify/DiscountCodeNode/{len(self.specs)}"),
            )
            self.customers.setdefault(spec.code, spec.platform_customer_id)
        if step is not None:
            raise step
        return issued

    def discount_code_find(self, *, shop, code, platform_customer_id=""):
        self.finds.append(code)
        if self.find_errors:
            raise self.find_errors.pop(0)
        if platform_customer_id and self.customers.get(code, platform_customer_id) != (
            platform_customer_id
        ):
            return None  # as the real gateway: a code of that name, but another customer's
        return self.codes.get(code)

    def discount_code_delete(self, *, shop, platform_discount_id):
        self.codes = {
            c: i for c, i in self.codes.items() if i.platform_discount_id != platform_discount_id
        }


def unanswered() -> PlatformError:
    return PlatformError("timeout", "no answer", transient=True, outcome_unknown=True)


def server_error() -> PlatformError:
    return PlatformError("http_error", "Shopify answered 500", transient=True)


def refused() -> PlatformError:
    return PlatformError("user_errors", "Customer does not exist")


@pytest.fixture
def gateway(monkeypatch) -> ScriptedGateway:
    scripted = ScriptedGateway()
    monkeypatch.setitem(platform._gateways, Platform.SHOPIFY, lambda: scripted)
    return scripted


@pytest.fixture
def standin_member(shopify_standin, shopify_shop) -> Callable[..., object]:
    """A member of the installed stand-in shop holding `points`, known to the stand-in."""
    from tests.platforms.shopify.helpers import SHOP

    def make(points: int = 1000, customer_id: int = CUSTOMER_ID):
        shopify_standin.add_customer(SHOP, customer_id, email=f"{customer_id}@example.com")
        member, _ = member_get_or_create(shop=shopify_shop, platform_customer_id=str(customer_id))
        if points:
            ledger_credit(
                member=member,
                points=points,
                idempotency_key=f"seed:{customer_id}",
                source_type="test",
            )
        member.refresh_from_db()
        return member

    return make
