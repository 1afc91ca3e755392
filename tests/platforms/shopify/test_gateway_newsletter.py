"""ShopifyGateway.customer_email_subscribe against the stand-in over real HTTP:
customerEmailMarketingConsentUpdate to SUBSCRIBED (single opt-in); a refusal is a PlatformError
that trying again will not fix; the store being down is one that it may."""

import pytest

from loyalty.core.platform import PlatformError, gateway_for
from tests.platforms.shopify.helpers import SHOP

pytestmark = pytest.mark.django_db

CUSTOMER_ID = 705982911946154508


@pytest.fixture
def fast_waits(monkeypatch):
    monkeypatch.setattr("loyalty.platforms.shopify.admin_api.MAX_WAIT_SECONDS", 0.2)


def test_the_customer_is_subscribed_single_opt_in_and_again_is_harmless(
    shopify_standin, shopify_shop
):
    shopify_standin.add_customer(SHOP, CUSTOMER_ID, email="mei@example.com")

    gateway_for(shopify_shop).customer_email_subscribe(
        shop=shopify_shop, platform_customer_id=str(CUSTOMER_ID)
    )
    gateway_for(shopify_shop).customer_email_subscribe(
        shop=shopify_shop, platform_customer_id=str(CUSTOMER_ID)
    )

    customer = shopify_standin.shop(SHOP).customers[CUSTOMER_ID]
    assert (customer.email_marketing_state, customer.email_marketing_opt_in_level) == (
        "SUBSCRIBED",
        "SINGLE_OPT_IN",
    )


def test_an_unknown_customer_is_a_permanent_platform_error(shopify_standin, shopify_shop):
    with pytest.raises(PlatformError) as raised:
        gateway_for(shopify_shop).customer_email_subscribe(
            shop=shopify_shop, platform_customer_id="999"
        )

    assert (raised.value.code, raised.value.transient) == ("user_errors", False)
    assert "Customer not found" in str(raised.value)


def test_the_store_down_is_a_transient_platform_error(shopify_standin, shopify_shop, fast_waits):
    shopify_standin.add_customer(SHOP, CUSTOMER_ID, email="mei@example.com")
    shopify_standin.faults.push("503", count=5)

    with pytest.raises(PlatformError) as raised:
        gateway_for(shopify_shop).customer_email_subscribe(
            shop=shopify_shop, platform_customer_id=str(CUSTOMER_ID)
        )

    assert raised.value.transient is True
    assert shopify_standin.shop(SHOP).customers[CUSTOMER_ID].email_marketing_state == (
        "NOT_SUBSCRIBED"
    )
