"""Product facts: collections and tags read from the Admin API (the stand-in, over real HTTP) so
that earn rules on them match; once per product per period, only when a rule needs them."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from loyalty.core import events
from loyalty.earning.models import EarnRule
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from loyalty.platforms.shopify import reconcile
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.install import install_with_code
from loyalty.platforms.shopify.models import ProductFacts, WebhookDelivery
from loyalty.platforms.shopify.products import (
    NO_SCOPE_NOTE,
    PRODUCTS_PER_QUERY,
    PRODUCTS_QUERY,
    order_event_with_product_facts,
    product_facts_load,
)
from loyalty.platforms.shopify.standin import DEFAULT_SCOPES, payloads
from loyalty.platforms.shopify.standin.admin_api import SCHEMA
from loyalty.platforms.shopify.standin.graphql import prepare
from loyalty.platforms.shopify.webhooks import process_delivery
from tests.platforms.shopify.helpers import SHOP

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CUSTOMER = 6001
RAYA = 841564295  # the shirt's collection
SHIRT = {"id": 11, "product_id": 101, "variant_id": 201, "price": "50.00", "quantity": 2}
SCARF = {"id": 12, "product_id": 102, "variant_id": 202, "price": "30.00", "quantity": 1}


def order(order_id: int, line_items=(SHIRT, SCARF)) -> dict:
    return payloads.order_payload(
        order_id=order_id,
        customer_id=CUSTOMER,
        currency="MYR",
        line_items=list(line_items),
        shop_domain=SHOP,
    )


def catalogue(standin) -> None:
    standin.add_product(SHOP, 101, tags=["Batik"], collections=[{"id": RAYA, "handle": "raya"}])
    standin.add_product(SHOP, 102, tags=["clearance"], collections=[])


def rules(shop) -> None:
    EarnRule.objects.create(
        shop=shop,
        name="Raya x2",
        kind="product",
        effect="multiply",
        target="collection",
        values=[str(RAYA)],
        multiplier=2,
    )
    EarnRule.objects.create(
        shop=shop,
        name="No points on clearance",
        kind="product",
        effect="exclude",
        target="tag",
        values=["Clearance"],
    )


def product_requests(standin) -> list:
    return [r for r in standin.requests if r.operation == "nodes"]


def points(customer: int = CUSTOMER) -> tuple[int, int] | None:
    member = Member.objects.filter(platform_customer_id=str(customer)).first()
    if member is None:
        return None
    assert ledger_audit_members(members=[member]) == []
    return member.points_balance, member.lifetime_earned


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop_reading_products(shopify_standin, db):
    """The stand-in's shop installed with read_products granted (a new install)."""
    shopify_standin.add_shop(
        SHOP,
        name="Aisyah Batik",
        currency="MYR",
        iana_timezone="Asia/Kuala_Lumpur",
        scopes=[*DEFAULT_SCOPES, "read_products"],
    )
    shop = install_with_code(shop_domain=SHOP, code=shopify_standin.issue_code(SHOP))
    shopify_standin.reset()  # forget the install's own requests
    return shop


@pytest.fixture
def app_url(live_server):
    with override_settings(APP_URL=live_server.url):
        yield live_server.url


# --- the lookup -------------------------------------------------------------------------------


def test_a_full_batch_of_products_fits_shopifys_query_cost_limit():
    ids = [f"gid://shopify/Product/{n}" for n in range(PRODUCTS_PER_QUERY)]

    cost = prepare(SCHEMA, PRODUCTS_QUERY, {"ids": ids, "collections": 10}).cost

    assert cost == 920  # 40 x (1 + 2 + 10 x 2): under the 1000 Shopify allows one query


def test_no_lookup_at_all_without_a_rule_on_collections_or_tags(
    shopify_standin, shop_reading_products
):
    # given rules that do not need product facts (and a disabled one that would)
    EarnRule.objects.create(
        shop=shop_reading_products, name="SKU", kind="product", target="sku", values=["SH-1"]
    )
    EarnRule.objects.create(
        shop=shop_reading_products,
        name="Off",
        kind="product",
        target="tag",
        values=["x"],
        enabled=False,
    )

    # when an order's products are looked up
    facts, note = product_facts_load(shop=shop_reading_products, product_ids=["101", "102"])

    # then nothing is asked of Shopify, and nothing is stored
    assert (facts, note) == ({}, "")
    assert shopify_standin.requests == []
    assert not ProductFacts.objects.exists()


def test_facts_are_read_once_per_product_per_period(shopify_standin, shop_reading_products):
    # given the products and the rules
    catalogue(shopify_standin)
    rules(shop_reading_products)
    now = timezone.now()

    # when the same products are looked up three times, the last after the period
    first, _ = product_facts_load(shop=shop_reading_products, product_ids=["101", "102"], now=now)
    again, _ = product_facts_load(
        shop=shop_reading_products, product_ids=["102", "101", "101"], now=now + timedelta(hours=1)
    )
    later, _ = product_facts_load(
        shop=shop_reading_products, product_ids=["101"], now=now + timedelta(hours=25)
    )

    # then one request for both, none from the cache, one more once the facts are stale
    assert {k: (v.collections, v.tags) for k, v in first.items()} == {
        "101": ((str(RAYA),), ("Batik",)),
        "102": ((), ("clearance",)),
    }
    assert again == first
    assert later == {"101": first["101"]}
    requests = product_requests(shopify_standin)
    assert [r.json["variables"]["ids"] for r in requests] == [
        ["gid://shopify/Product/101", "gid://shopify/Product/102"],
        ["gid://shopify/Product/101"],
    ]
    assert ProductFacts.objects.count() == 2


def test_many_products_are_read_in_batches_and_unknown_ones_remembered(
    shopify_standin, shop_reading_products
):
    # given 45 products in the shop, and an order line naming one Shopify no longer has
    rules(shop_reading_products)
    for n in range(1, 46):
        shopify_standin.add_product(SHOP, 1000 + n, tags=[f"t{n}"])
    wanted = [str(1000 + n) for n in range(1, 46)] + ["999"]

    # when they are looked up, twice
    facts, _ = product_facts_load(shop=shop_reading_products, product_ids=wanted)
    product_facts_load(shop=shop_reading_products, product_ids=wanted)

    # then two requests (40, then 6), the missing product is known to be missing
    assert [len(r.json["variables"]["ids"]) for r in product_requests(shopify_standin)] == [40, 6]
    assert facts["1045"].tags == ("t45",)
    assert (facts["999"].tags, facts["999"].collections) == ((), ())
    assert ProductFacts.objects.get(product_id="999").found is False


def test_a_product_in_many_collections_gets_them_all(shopify_standin, shop_reading_products):
    # given a product in 25 collections (10 come with the first page)
    rules(shop_reading_products)
    shopify_standin.add_product(SHOP, 101, collections=list(range(1, 26)))

    # when it is looked up
    facts, _ = product_facts_load(shop=shop_reading_products, product_ids=["101"])

    # then a follow-up query read the rest after the cursor
    assert facts["101"].collections == tuple(str(n) for n in range(1, 26))
    requests = product_requests(shopify_standin)
    assert [r.json["variables"].get("after") for r in requests] == [None, "cursor9"]


def test_a_shop_without_read_products_is_not_asked_and_is_logged_once(
    shopify_standin, shopify_shop, caplog
):
    # given a shop installed before Setia asked for read_products, with a collection rule
    rules(shopify_shop)
    assert "read_products" not in shopify_shop.granted_scopes
    shopify_standin.reset()

    # when two orders' products are looked up
    with caplog.at_level(logging.WARNING, logger="loyalty.platforms.shopify.products"):
        first = product_facts_load(shop=shopify_shop, product_ids=["101"])
        second = product_facts_load(shop=shopify_shop, product_ids=["102"])

    # then no request, a note each time, one warning
    assert first == second == ({}, NO_SCOPE_NOTE)
    assert shopify_standin.requests == []
    assert [r.getMessage() for r in caplog.records] == [
        f"{SHOP}: read_products is not granted: rules on collections and tags never match"
    ]


def test_access_denied_by_shopify_earns_without_the_rules(shopify_standin, shopify_shop):
    # given a shop Setia believes granted read_products, whose token Shopify says lacks it
    rules(shopify_shop)
    shopify_shop.scopes += ",read_products"
    shopify_shop.save(update_fields=["scopes"])
    shopify_standin.reset()
    event = _order_event(shopify_shop, order(5001))

    # when the order's lines are given their facts
    enriched, note = order_event_with_product_facts(shop=shopify_shop, event=event)

    # then one refused request, the event unchanged, and the note says why
    assert (enriched, note) == (event, NO_SCOPE_NOTE)
    assert len(product_requests(shopify_standin)) == 1
    assert not ProductFacts.objects.exists()


def test_a_transient_failure_raises_and_stores_nothing(shopify_standin, shop_reading_products):
    # given Shopify failing every attempt of the lookup
    rules(shop_reading_products)
    shopify_standin.faults.push("503", count=2)

    # when the products are looked up
    with pytest.raises(AdminApiError) as failed:
        product_facts_load(shop=shop_reading_products, product_ids=["101"])

    # then the error says to try again later, and nothing was cached
    assert failed.value.transient
    assert not ProductFacts.objects.exists()


def _order_event(shop, payload) -> events.OrderEvent:
    from loyalty.platforms.shopify import translate

    return translate.to_event(
        topic="orders/paid", payload=payload, shop_id=shop.pk, occurred_at=None, source_id="t"
    )


# --- end to end: signed webhooks over real HTTP, and reconciliation ----------------------------


@pytest.mark.django_db(transaction=True)
def test_webhooks_earn_the_collection_multiplier_and_honour_the_tag_exclusion(
    shopify_standin, shop_reading_products, app_url
):
    # given the shirt in the Raya collection (x2) and the scarf tagged clearance (excluded)
    catalogue(shopify_standin)
    rules(shop_reading_products)

    # when two orders for the same products are paid, through signed webhooks
    first = shopify_standin.send_webhook(app_url, "orders/paid", SHOP, order(5001))
    second = shopify_standin.send_webhook(app_url, "orders/paid", SHOP, order(5002, [SHIRT]))

    # then each earns 100 base on the shirts and 100 for the collection, the scarf nothing;
    # the products were read once, for the first order only
    assert (first.status_code, second.status_code) == (200, 200)
    assert list(WebhookDelivery.objects.order_by("pk").values_list("status", "outcome")) == [
        ("processed", "awarded 200 points (+200)"),
        ("processed", "awarded 200 points (+200)"),
    ]
    assert points() == (400, 400)
    (request,) = product_requests(shopify_standin)
    assert request.json["variables"]["ids"] == [
        "gid://shopify/Product/101",
        "gid://shopify/Product/102",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_shop_without_read_products_still_earns_base_points(
    shopify_standin, shopify_shop, app_url
):
    # given a shop installed before Setia asked for read_products, with the same rules
    catalogue(shopify_standin)
    rules(shopify_shop)
    shopify_standin.reset()

    # when an order is paid
    response = shopify_standin.send_webhook(app_url, "orders/paid", SHOP, order(5001))

    # then it earns on every line (nothing excluded, nothing multiplied), and says why
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.outcome) == (
        "processed",
        f"awarded 130 points (+130); {NO_SCOPE_NOTE}",
    )
    assert points() == (130, 130)
    assert product_requests(shopify_standin) == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_lookup_retries_the_delivery_which_then_credits_with_the_rules(
    shopify_standin, shop_reading_products, app_url
):
    # given the rules, and Shopify answering 500 to both attempts of the lookup
    catalogue(shopify_standin)
    rules(shop_reading_products)
    shopify_standin.faults.push("500", count=2)

    # when the order is paid
    response = shopify_standin.send_webhook(app_url, "orders/paid", SHOP, order(5001))

    # then the delivery waits to be retried, and nothing was credited without the rules
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert delivery.last_error.startswith("TransientError: reading product facts: ")
    assert points() is None

    # and when the retry comes due, it credits what the rules give
    result = process_delivery(delivery.pk, now=timezone.now() + timedelta(hours=1))

    assert result.status == "processed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome, delivery.last_error) == (
        "processed",
        "awarded 200 points (+200)",
        "",
    )
    assert points() == (200, 200)
    graphql = [r for r in shopify_standin.requests if r.target == "graphql"]
    assert [(r.status, r.fault, r.operation) for r in graphql] == [
        (500, "500", None),  # the two attempts of the first delivery's lookup
        (500, "500", None),
        (200, None, "nodes"),  # the retry's
    ]


@pytest.mark.django_db
def test_reconciliation_gives_orders_the_same_facts(shopify_standin, shop_reading_products):
    # given two orders for the same products whose webhooks never came
    catalogue(shopify_standin)
    rules(shop_reading_products)
    shopify_standin.add_order(SHOP, order(5001))
    shopify_standin.add_order(SHOP, order(5002, [SHIRT]))

    # when the shop is reconciled
    result = reconcile.reconcile_orders(
        shop=shop_reading_products, since=timezone.now() - timedelta(days=1)
    )

    # then both earned with the rules, the page's products read in one request
    assert (result.orders, result.points) == (2, 400)
    assert points() == (400, 400)
    assert len(product_requests(shopify_standin)) == 1
