"""The admin's frame: navigation, App Bridge, languages, and the home page."""

from datetime import UTC, datetime

import pytest

from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory, ShopFactory
from tests.merchant_admin.helpers import admin_get

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain="batik-admin.myshopify.com",
        name="Batik Admin",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_home_shows_members_and_points_outstanding_of_this_shop_only(client, shop):
    first = MemberFactory(shop=shop)
    MemberFactory(shop=shop)
    ledger_credit(member=first, points=120, idempotency_key="k1", source_type="action")
    ledger_credit(
        member=first,
        points=30,
        idempotency_key="k2",
        source_type="order",
        available_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
    other = MemberFactory()  # another shop's member, with points
    ledger_credit(member=other, points=999, idempotency_key="k3", source_type="action")

    response = admin_get(client, "/app/", shop)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="stat-value" data-stat="members">2</div>' in html
    assert '<div class="stat-value" data-stat="points-outstanding">150</div>' in html
    assert "120 spendable, 30 pending" in html
