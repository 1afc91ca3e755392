from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from loyalty.referrals.models import ClaimStatus, ReferralClaim, ReferralProgram
from tests.factories import MemberFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP


@pytest.fixture(autouse=True)
def _cache_emptied():
    """The offer and the rate counters live in the cache: none leaks between tests (shop ids
    are reused on SQLite)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop(db):
    """An installed shop at the domain the signed proxy and webhook helpers name."""
    return ShopFactory(
        domain=SHOP,
        access_token="shpat_live_token",
        scopes="read_orders,read_customers,write_customers,write_discounts,write_app_proxy",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
        currency="MYR",
    )


def enable(shop, **terms) -> ReferralProgram:
    values = {
        "enabled": True,
        "friend_discount_kind": "amount",
        "friend_discount_value": Decimal("15"),
        "referrer_points": 300,
        "code_lifetime_days": 30,
        "monthly_cap": 10,
        **terms,
    }
    program, _ = ReferralProgram.objects.update_or_create(shop=shop, defaults=values)
    return program


def referrer_of(shop, **fields):
    fields.setdefault("platform_customer_id", "7001")
    fields.setdefault("email", "Siti.Aminah+shop@gmail.com")
    fields.setdefault("first_name", "Siti")
    return MemberFactory(shop=shop, **fields)


def claim_of(shop, referrer, *, code="REF-TEST-0001", email="friend@example.com", **fields):
    fields.setdefault("status", ClaimStatus.ISSUED)
    fields.setdefault("expires_at", datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=1))
    return ReferralClaim.objects.create(
        shop=shop, referrer=referrer, friend_email=email, code=code, **fields
    )
