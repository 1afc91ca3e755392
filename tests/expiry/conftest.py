from datetime import UTC, datetime, timedelta

import pytest

from loyalty.shops.models import Program
from tests.factories import MemberFactory, ShopFactory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@pytest.fixture
def shop(db):
    return ShopFactory(name="Aisyah Batik", installed_at=day(-400))


def set_program(shop, **fields) -> Program:
    Program.objects.filter(shop=shop).update(**fields)
    return Program.objects.select_related("shop").get(shop=shop)


@pytest.fixture
def per_lot(shop):
    return set_program(shop, expiry_mode="per_lot", expiry_days=90, expiry_reminder_days=14)


@pytest.fixture
def inactivity(shop):
    return set_program(shop, expiry_mode="inactivity", expiry_days=180, expiry_reminder_days=30)


@pytest.fixture
def shopper(shop):
    return MemberFactory(shop=shop, email="aisyah@example.com", enrolled_at=day(-10))
