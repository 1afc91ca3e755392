"""Setia against the local Shopify stand-in, over real HTTP both ways: the app served by a live
server, the stand-in as Shopify (OAuth, token exchange, Admin GraphQL, webhooks, app proxy)."""

import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member
from loyalty.platforms.shopify.admin_api import admin_graphql
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.models import WebhookDelivery
from loyalty.platforms.shopify.standin import StandIn
from loyalty.platforms.shopify.standin import payloads as shopify_payloads
from loyalty.platforms.shopify.tokens import shop_access_token
from loyalty.privacy.models import PrivacyRequest
from loyalty.shops.models import Program, Shop
from tests.factories import MemberFactory

SHOP = "demo-shop.myshopify.com"
SHOP_QUERY = "query { shop { name currencyCode } }"

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def standin():
    with StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET) as running:
        running.add_shop(SHOP, name="Demo Batik", currency="MYR", iana_timezone="Asia/Kuala_Lumpur")
        with override_settings(SHOPIFY_API_ORIGIN=running.origin):
            yield running


@pytest.fixture
def app_url(live_server):
    with override_settings(APP_URL=live_server.url):
        yield live_server.url


def installed_shop(standin):
    """A shop installed through the stand-in's code grant, without going through the views."""
    from loyalty.platforms.shopify.install import install_with_code

    return install_with_code(shop_domain=SHOP, code=standin.issue_code(SHOP))


def raw_graphql_requests(standin):
    return [r for r in standin.requests if r.target == "graphql"]


# --- the whole path -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_install_webhook_uninstall_redact_over_real_http(standin, app_url):
    # Install: the authorization-code grant, driven like a browser.
    response = standin.install(app_url, SHOP)

    assert response.status_code == 302
    assert response.headers["location"] == f"https://{SHOP}/admin/apps/{settings.SHOPIFY_API_KEY}"
    shop = Shop.objects.get(domain=SHOP)
    assert shop.is_installed
    assert shop.access_token.startswith("shpat_") and shop.refresh_token.startswith("shprt_")
    assert shop.access_token_expires_at is not None
    assert (shop.name, shop.currency, shop.iana_timezone) == (
        "Demo Batik",
        "MYR",
        "Asia/Kuala_Lumpur",
    )
    assert Program.objects.get(shop=shop).points_name == "points"
    registered = {(w.topic, w.uri) for w in standin.shop(SHOP).webhooks}
    assert registered == {
        (t.upper().replace("/", "_"), f"{app_url}/shopify/webhooks")
        for t in settings.SHOPIFY_WEBHOOK_TOPICS
    }

    # A customer update for an enrolled member, signed by the stand-in.
    MemberFactory(shop=shop, platform_customer_id="9001", email="old@example.com")
    customer = shopify_payloads.customer_payload(customer_id=9001, email="new@example.com")
    assert standin.send_webhook(app_url, "customers/update", SHOP, customer).status_code == 200
    assert Member.objects.get(platform_customer_id="9001").email == "new@example.com"

    # The storefront asks for state through the app proxy.
    state = standin.proxy_request(app_url, "/api/state", SHOP, customer_id="9001")
    assert state.status_code == 200
    assert state.json()["customer"]["id"] == "9001"

    # Uninstall, then Shopify's shop/redact 48 hours later.
    assert (
        standin.send_webhook(
            app_url, "app/uninstalled", SHOP, {"id": 1, "domain": SHOP}
        ).status_code
        == 200
    )
    shop.refresh_from_db()
    assert not shop.is_installed and shop.access_token == ""
    assert standin.proxy_request(app_url, "/api/state", SHOP).status_code == 404
    redact = shopify_payloads.shop_redact_payload(shop_domain=SHOP)
    assert standin.send_webhook(app_url, "shop/redact", SHOP, redact).status_code == 200
    assert not Shop.objects.filter(domain=SHOP).exists()
    assert PrivacyRequest.objects.get().kind == "shop_redact"
    assert list(WebhookDelivery.objects.values_list("topic", flat=True)) == ["shop/redact"]


@pytest.mark.django_db(transaction=True)
def test_reinstall_after_uninstall_restores_the_same_program_and_members(standin, app_url):
    standin.install(app_url, SHOP)
    shop = Shop.objects.get(domain=SHOP)
    Program.objects.filter(shop=shop).update(name="Batik Friends")
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=250, idempotency_key="k", source_type="t")
    standin.send_webhook(app_url, "app/uninstalled", SHOP, {"id": 1})

    response = standin.install(app_url, SHOP)

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.is_installed
    assert Program.objects.get(shop=shop).name == "Batik Friends"
    member.refresh_from_db()
    assert member.points_balance == 250


@pytest.mark.django_db(transaction=True)
def test_replayed_callback_is_refused_and_stores_nothing_new(standin, app_url):
    import httpx

    with httpx.Client(timeout=10) as browser:
        first = standin.install(app_url, SHOP, client=browser)
        callback_url = str(first.request.url)
        tokens_before = Shop.objects.get(domain=SHOP).access_token

        replay = browser.get(callback_url)

    assert first.status_code == 302
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_state"
    assert Shop.objects.get(domain=SHOP).access_token == tokens_before


@pytest.mark.django_db(transaction=True)
def test_callback_with_a_code_shopify_refuses_answers_400_and_stores_nothing(standin, app_url):
    import httpx

    with httpx.Client(timeout=10) as browser:
        install = browser.get(
            f"{app_url}/shopify/install",
            params=standin.sign_oauth_query({"shop": SHOP, "timestamp": str(int(time.time()))}),
        )
        state = dict(
            p.split("=", 1) for p in urlsplit(install.headers["location"]).query.split("&")
        )["state"]
        forged = standin.sign_oauth_query(
            {
                "shop": SHOP,
                "code": "not-a-real-code",
                "state": state,
                "timestamp": str(int(time.time())),
            }
        )

        response = browser.get(f"{app_url}/shopify/callback", params=forged)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "code_exchange_failed"
    assert not Shop.objects.filter(domain=SHOP).exists()


@pytest.mark.django_db
def test_first_embedded_load_installs_through_token_exchange(client, standin):
    token = standin.session_token(SHOP)

    response = client.get(f"/app/?shop={SHOP}&host=YWRtaW4&id_token={token}")

    assert response.status_code == 200
    shop = Shop.objects.get(domain=SHOP)
    assert shop.is_installed
    assert shop.access_token.startswith("shpat_") and shop.refresh_token.startswith("shprt_")
    exchanges = [r for r in standin.requests if r.target == "token"]
    assert [r.json.get("grant_type") for r in exchanges] == [
        "urn:ietf:params:oauth:grant-type:token-exchange"
    ]
    assert exchanges[0].json.get("expiring") in ("1", 1, True)

    # The next load uses the stored token: no second exchange.
    client.get(f"/app/?shop={SHOP}&host=YWRtaW4&id_token={standin.session_token(SHOP)}")
    assert len([r for r in standin.requests if r.target == "token"]) == 1


# --- tokens ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_expired_token_is_refreshed_and_the_new_pair_stored(standin):
    shop = installed_shop(standin)
    old_access, old_refresh = shop.access_token, shop.refresh_token
    standin.expire_access_token(old_access)
    Shop.objects.filter(pk=shop.pk).update(
        access_token_expires_at=shop.access_token_expires_at.replace(year=2020)
    )
    shop.refresh_from_db()

    data = admin_graphql(shop=shop, query=SHOP_QUERY)

    assert data["shop"]["currencyCode"] == "MYR"
    stored = Shop.objects.get(pk=shop.pk)
    assert stored.access_token not in ("", old_access) and stored.refresh_token != old_refresh
    assert stored.access_token_expires_at.year >= 2026


@pytest.mark.django_db
def test_token_revoked_early_is_refreshed_once_on_401(standin):
    shop = installed_shop(standin)
    standin.expire_access_token(shop.access_token)  # Shopify refuses it though we think it fresh

    data = admin_graphql(shop=shop, query=SHOP_QUERY)

    assert data["shop"]["name"] == "Demo Batik"
    refreshes = [
        r
        for r in standin.requests
        if r.target == "token" and r.json.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_refresh_racing_from_many_threads_refreshes_once(standin):
    import threading

    from django.db import connection

    shop = installed_shop(standin)
    Shop.objects.filter(pk=shop.pk).update(
        access_token_expires_at=shop.access_token_expires_at.replace(year=2020)
    )
    barrier = threading.Barrier(8)
    tokens, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            tokens.append(shop_access_token(shop=Shop.objects.get(pk=shop.pk)))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    refreshes = [
        r
        for r in standin.requests
        if r.target == "token" and r.json.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1
    assert len(set(tokens)) == 1
    assert Shop.objects.get(pk=shop.pk).access_token == tokens[0]


# --- the Admin API client backing off -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttled", {}),
        ("429", {"retry_after": 0}),
        ("500", {}),
        ("502", {}),
        ("503", {}),
        ("network", {}),
    ],
)
def test_client_backs_off_and_succeeds_after_each_fault(standin, kind, options):
    shop = installed_shop(standin)
    standin.reset()
    standin.faults.push(kind, count=2, **options)
    waits = []

    data = admin_graphql(shop=shop, query=SHOP_QUERY, sleep=waits.append)

    assert data["shop"]["name"] == "Demo Batik"
    assert len(raw_graphql_requests(standin)) == 3
    assert len(waits) == 2
    assert all(0 <= w <= 10 for w in waits)


@pytest.mark.django_db
def test_client_honours_retry_after(standin):
    shop = installed_shop(standin)
    standin.faults.push("429", count=1, retry_after=2.5)
    waits = []

    admin_graphql(shop=shop, query=SHOP_QUERY, sleep=waits.append)

    assert waits == [2.5]


@pytest.mark.django_db
def test_client_gives_up_after_a_bounded_number_of_attempts(standin):
    shop = installed_shop(standin)
    standin.reset()
    standin.faults.push("503", count=10)

    with pytest.raises(AdminApiError) as failed:
        admin_graphql(shop=shop, query=SHOP_QUERY, max_attempts=3, sleep=lambda s: None)

    assert failed.value.transient is True
    assert len(raw_graphql_requests(standin)) == 3


@pytest.mark.django_db
def test_client_times_out_a_slow_answer_and_retries(standin):
    shop = installed_shop(standin)
    standin.reset()
    standin.faults.push("slow", count=1, delay=3)

    waits = []

    with override_settings(SHOPIFY_HTTP_TIMEOUT=0.5):
        data = admin_graphql(shop=shop, query=SHOP_QUERY, sleep=waits.append)

    assert data["shop"]["name"] == "Demo Batik"
    assert len(standin.faults) == 0
    assert len(waits) == 1  # the slow answer timed out and the call was tried again


@pytest.mark.django_db
def test_graphql_errors_are_not_retried(standin):
    shop = installed_shop(standin)
    standin.reset()

    with pytest.raises(AdminApiError) as failed:
        admin_graphql(shop=shop, query="query { nope }", sleep=lambda s: None)

    assert failed.value.code == "graphql_errors"
    assert "nope" in str(failed.value)
    assert len(raw_graphql_requests(standin)) == 1
