"""`customer.referral` in the storefront's `state`: the member's link, the friend's offer and
the referrer's points, read with the storefront's catalogue (no statement per member)."""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from loyalty.referrals.codes import referral_code_member_id
from loyalty.referrals.services import referral_program_update
from loyalty.shops.selectors import shop_installed_forget
from storefront_widget.state import storefront_catalogue_forget, storefront_state_forget
from tests.platforms.shopify.helpers import SHOP, proxy_query
from tests.referrals.conftest import enable, referrer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def storefront_caching():
    """The storefront's process caches on, empty before and after (shop ids and domains are
    reused from test to test)."""

    def forget():
        storefront_catalogue_forget()
        storefront_state_forget()
        shop_installed_forget()

    forget()
    with override_settings(STOREFRONT_CACHE_SECONDS=60, STOREFRONT_MEMBER_CACHE=False):
        yield
    forget()


def state(client, customer_id="7001"):
    query = urlencode(proxy_query(customer_id=customer_id))
    return client.get("/shopify/proxy/api/state?" + query).json()


def test_a_member_sees_their_link_while_referrals_are_on(client, shop, storefront_caching):
    enable(shop, friend_discount_kind="percent", friend_discount_value="20", referrer_points=250)
    member = referrer_of(shop)

    referral = state(client)["customer"]["referral"]

    prefix = f"https://{SHOP}/apps/setia/r/"
    assert referral["url"].startswith(prefix)
    code = referral["url"].removeprefix(prefix)
    assert referral_code_member_id(shop_id=shop.pk, code=code) == member.pk
    assert referral["friend_offer"] == "20% off your first order"
    assert referral["points"] == 250
    assert state(client)["customer"]["referral"] == referral  # stable


def test_no_link_while_off_for_a_non_member_or_a_guest(client, shop, storefront_caching):
    enable(shop, enabled=False)
    referrer_of(shop)

    assert "referral" not in state(client)["customer"]
    enable(shop)
    storefront_catalogue_forget()  # the catalogue's time is up (STOREFRONT_CACHE_SECONDS)
    assert "referral" in state(client)["customer"]
    assert "referral" not in state(client, customer_id="8888")["customer"]
    assert state(client, customer_id="")["customer"] is None


def test_the_merchants_save_shows_the_link_for_one_catalogue_statement(
    client, shop, django_capture_on_commit_callbacks
):
    # given the storefront's caches off (as in tests): every page view is counted
    referrer_of(shop)
    state(client)  # the shop's first page view of the hour records it: not counted
    with CaptureQueriesContext(connection) as off:
        before = state(client)

    # when the merchant turns referrals on
    with django_capture_on_commit_callbacks(execute=True):
        referral_program_update(
            shop=shop, actor="merchant", changes={"enabled": True, "referrer_points": 400}
        )
    with CaptureQueriesContext(connection) as on:
        after = state(client)

    # then the member's next page shows the link; the offer is read with the catalogue (one
    # statement, whether on or off; cached with the catalogue outside tests), not per member
    assert "referral" not in before["customer"]
    assert after["customer"]["referral"]["points"] == 400
    assert len(on.captured_queries) == len(off.captured_queries)
    assert sum("referrals_referralprogram" in q["sql"] for q in on.captured_queries) == 1
