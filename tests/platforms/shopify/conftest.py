from datetime import UTC, datetime

import pytest

from tests.factories import ShopFactory
from tests.platforms.shopify.helpers import SHOP


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain=SHOP,
        access_token="shpat_live_token",
        refresh_token="shprt_live_refresh",
        scopes="read_orders,read_customers,write_customers,write_discounts,write_app_proxy",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
