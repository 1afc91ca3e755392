"""The widget's newsletter action against the Shopify stand-in over real HTTP: the customer is
subscribed at the store (customerEmailMarketingConsentUpdate), then credited once; a store that
cannot subscribe credits nothing."""

import json
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import ActionRule
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.services import member_get_or_create
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from storefront_widget.models import WidgetSettings
from storefront_widget.tokens import customer_token_sign
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db

CUSTOMER_ID = 820982911946154508


@pytest.fixture(autouse=True)
def caching(storefront_caching):
    yield


@pytest.fixture
def fast_waits(monkeypatch):
    """Backoff waits of the Admin API client shortened (the attempts themselves are real)."""
    monkeypatch.setattr("loyalty.platforms.shopify.admin_api.MAX_WAIT_SECONDS", 0.2)


@pytest.fixture
def member(shopify_standin, shopify_shop):
    shopify_standin.add_customer(SHOP, CUSTOMER_ID, email="nurul@example.com")
    member, _ = member_get_or_create(shop=shopify_shop, platform_customer_id=str(CUSTOMER_ID))
    ledger_credit(member=member, points=300, idempotency_key="seed", source_type="test")
    return member


@pytest.fixture
def newsletter(shopify_shop):
    return ActionRule.objects.create(
        shop=shopify_shop, action="newsletter", name="Join our newsletter", points=40
    )


def claim(client, body=None):
    return client.post(
        "/shopify/proxy/api/actions?" + urlencode(proxy_query(customer_id=str(CUSTOMER_ID))),
        data=json.dumps(body or {"action": "newsletter"}),
        content_type="application/json",
    )


def marketing_state(standin):
    return standin.shop(SHOP).customers[CUSTOMER_ID].email_marketing_state


def consent_mutations(standin):
    return [
        r
        for r in standin.requests
        if r.target == "graphql"
        and "customerEmailMarketingConsentUpdate" in ((r.json or {}).get("query") or "")
    ]


def newsletter_entries(member):
    return list(
        LedgerEntry.objects.filter(member=member, source_type="action").values_list(
            "points", "idempotency_key"
        )
    )


def actions(client):
    response = client.get(
        "/shopify/proxy/api/state?" + urlencode(proxy_query(customer_id=str(CUSTOMER_ID)))
    )
    return [way for way in response.json()["ways_to_earn"] if way["kind"] == "action"]


def test_the_shopper_is_subscribed_at_the_store_and_credited_once(
    client, shopify_standin, member, newsletter
):
    assert marketing_state(shopify_standin) == "NOT_SUBSCRIBED"

    response = claim(client)

    assert response.status_code == 201
    assert response.json() == {"action": "newsletter", "credited": 40, "balance": 340}
    assert marketing_state(shopify_standin) == "SUBSCRIBED"
    customer = shopify_standin.shop(SHOP).customers[CUSTOMER_ID]
    assert customer.email_marketing_opt_in_level == "SINGLE_OPT_IN"
    [request] = consent_mutations(shopify_standin)
    assert request.json["variables"]["input"] == {
        "customerId": f"gid://shopify/Customer/{CUSTOMER_ID}",
        "emailMarketingConsent": {
            "marketingState": "SUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN",
        },
    }
    assert newsletter_entries(member) == [(40, f"action:{newsletter.pk}:{member.pk}:once")]


def test_a_second_click_is_409_and_neither_calls_the_store_nor_credits(
    client, shopify_standin, member, newsletter
):
    claim(client)

    response = claim(client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_claimed"
    assert len(consent_mutations(shopify_standin)) == 1
    member.refresh_from_db()
    assert member.points_balance == 340


def subscribed_at_the_store(shop):
    """The customers/update webhook Shopify sends once the customer is subscribed."""
    payload = payloads.customer_payload(
        customer_id=CUSTOMER_ID, email="nurul@example.com", accepts_marketing=True
    )
    event = translate.to_event(
        topic="customers/update",
        payload=payload,
        shop_id=shop.pk,
        occurred_at=timezone.now(),
        source_id="t",
    )
    handle_event(event, shop=shop, records=PlatformRecords())


def test_the_webhook_that_follows_the_click_credits_nothing_more(
    client, shopify_shop, member, newsletter
):
    claim(client)

    subscribed_at_the_store(shopify_shop)

    assert newsletter_entries(member) == [(40, f"action:{newsletter.pk}:{member.pk}:once")]
    member.refresh_from_db()
    assert member.points_balance == 340


def test_a_customer_subscribed_from_the_store_first_gets_409_and_the_store_is_not_asked(
    client, shopify_standin, shopify_shop, member, newsletter
):
    subscribed_at_the_store(shopify_shop)

    response = claim(client)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_claimed"
    assert consent_mutations(shopify_standin) == []
    member.refresh_from_db()
    assert member.points_balance == 340


def test_without_a_newsletter_rule_it_is_404_and_the_store_is_not_asked(
    client, shopify_standin, member
):
    response = claim(client)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_action"
    assert consent_mutations(shopify_standin) == []
    assert marketing_state(shopify_standin) == "NOT_SUBSCRIBED"


def test_when_the_store_fails_it_is_503_and_nothing_is_credited(
    client, shopify_standin, member, newsletter, fast_waits
):
    shopify_standin.faults.push("503", count=5)

    response = claim(client)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "platform_unavailable"
    assert newsletter_entries(member) == []
    member.refresh_from_db()
    assert member.points_balance == 300
    assert marketing_state(shopify_standin) == "NOT_SUBSCRIBED"


def test_a_store_refusal_is_503_and_credits_nothing(client, shopify_standin, member, newsletter):
    shopify_standin.shop(SHOP).customers[CUSTOMER_ID].email = None  # Shopify needs an email

    response = claim(client)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "platform_unavailable"
    assert newsletter_entries(member) == []


def test_the_newsletter_way_is_claimable_until_claimed_even_with_the_answer_cached(
    client, member, newsletter, django_capture_on_commit_callbacks
):
    before = actions(client)  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        assert claim(client).status_code == 201

    assert before == [
        {
            "kind": "action",
            "action": "newsletter",
            "name": "Join our newsletter",
            "points": 40,
            "claimable": True,
        }
    ]
    assert [way["claimable"] for way in actions(client)] == [False]


def test_the_script_tag_endpoint_subscribes_and_credits_the_same_way(
    client, shopify_standin, shopify_shop, member, newsletter
):
    settings_row, _ = WidgetSettings.objects.get_or_create(shop=shopify_shop)
    token = customer_token_sign(secret=settings_row.widget_secret, customer_id=str(CUSTOMER_ID))
    url = f"/storefront/api/widget/actions?{urlencode({'shop': SHOP, 'token': token})}"

    response = client.post(
        url, {"action": "newsletter"}, content_type="application/json", HTTP_ORIGIN="https://x.test"
    )

    assert response.status_code == 201
    assert response.json() == {"action": "newsletter", "credited": 40, "balance": 340}
    assert marketing_state(shopify_standin) == "SUBSCRIBED"
