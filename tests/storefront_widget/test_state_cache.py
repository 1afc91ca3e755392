"""The `state` answer is cached (STOREFRONT_CACHE_SECONDS): a page view of a signed-in shopper
costs no database statement, and yet every change they can see shows on the next one."""

from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from loyalty.earning.models import EarnRule
from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import redemption_mark_used
from storefront_widget.state import storefront_catalogue_forget
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return ShopFactory(domain=SHOP, currency="MYR")


@pytest.fixture(autouse=True)
def caching(storefront_caching):
    yield


def state(client, customer_id=""):
    response = client.get(
        "/shopify/proxy/api/state?" + urlencode(proxy_query(customer_id=customer_id))
    )
    assert response.status_code == 200
    return response.json()


def test_a_members_second_page_view_reads_nothing_from_the_database(
    client, shop, django_assert_num_queries
):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    ledger_credit(member=member, points=120, idempotency_key="a", source_type="order")
    first = state(client, "7001")

    with django_assert_num_queries(0):
        again = state(client, "7001")

    assert again == first
    assert again["customer"]["points"]["balance"] == 120


def test_points_credited_show_on_the_next_page_view(
    client, shop, django_capture_on_commit_callbacks
):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    assert state(client, "7001")["customer"]["points"]["balance"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        ledger_credit(member=member, points=80, idempotency_key="a", source_type="order")

    assert state(client, "7001")["customer"]["points"]["balance"] == 80


def test_a_code_used_in_an_order_shows_on_the_next_page_view(
    client, shop, django_capture_on_commit_callbacks
):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    Redemption.objects.create(
        shop=shop,
        member=member,
        reward=RewardFactory(shop=shop),
        idempotency_key="r1",
        status=RedemptionStatus.ISSUED,
        points=500,
        code="SETIA-ABCD-EFGH",
    )
    before = state(client, "7001")["customer"]["recent_redemptions"]

    with django_capture_on_commit_callbacks(execute=True):
        redemption_mark_used(shop=shop, discount_codes=["SETIA-ABCD-EFGH"], order_id="1")

    after = state(client, "7001")["customer"]["recent_redemptions"]
    assert [r["status"] for r in before] == ["issued"]
    assert [r["status"] for r in after] == ["used"]


def test_a_change_that_is_not_committed_never_shows(client, shop):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    state(client, "7001")

    # The test's transaction never commits: the member's version does not move.
    ledger_credit(member=member, points=80, idempotency_key="a", source_type="order")

    assert state(client, "7001")["customer"]["points"]["balance"] == 0


def test_a_merchants_change_shows_with_the_catalogue_for_members_and_guests(client, shop):
    MemberFactory(shop=shop, platform_customer_id="7001")
    state(client, "7001"), state(client)
    EarnRule.objects.create(shop=shop, name="Double weekend", kind="campaign", points=50)

    storefront_catalogue_forget(shop=shop)  # as when the catalogue's time is up

    assert state(client, "7001")["ways_to_earn"][-1]["name"] == "Double weekend"
    assert state(client)["ways_to_earn"][-1]["name"] == "Double weekend"


def test_without_a_working_cache_the_answer_comes_from_the_database(client, shop, monkeypatch):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    ledger_credit(member=member, points=40, idempotency_key="a", source_type="order")

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "get_many", down)

    assert state(client, "7001")["customer"]["points"]["balance"] == 40
