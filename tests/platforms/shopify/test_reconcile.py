"""Reconciliation: orders read from the Admin API (the stand-in, over real HTTP) reach the
domain exactly as their webhooks would have, so a missed webhook never costs a shopper points
and an order already processed is left as it is."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from loyalty.core import events
from loyalty.earning.models import OrderRecord
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from loyalty.platforms.shopify import reconcile, tasks, translate
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.install import install_with_code
from loyalty.platforms.shopify.models import WebhookDelivery
from loyalty.platforms.shopify.standin import StandIn, payloads
from loyalty.platforms.shopify.standin.admin_api import SCHEMA
from loyalty.platforms.shopify.standin.graphql import prepare
from loyalty.shops.models import Shop
from tests.platforms.shopify.helpers import post_webhook

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SHOP = "demo-shop.myshopify.com"
CUSTOMER = 6001
ORDER = 5001
NOW = datetime.now(UTC).replace(microsecond=0)
PLACED = NOW - timedelta(hours=6)
SINCE = NOW - timedelta(days=2)
SHIRT = {"id": 11, "product_id": 101, "variant_id": 201, "price": "50.00", "quantity": 2}
SCARF = {"id": 12, "product_id": 102, "variant_id": 202, "price": "30.00", "quantity": 1}
SHIRT["sku"], SCARF["sku"] = "SH-1", "SC-1"
CODE = [{"code": "RAYA10", "amount": "13.00"}]  # 10.00 on the shirts, 3.00 on the scarf


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def order(order_id: int = ORDER, *, updated: datetime = PLACED, **kwargs) -> dict:
    """117.00 MYR after the code: 117 points under the default program."""
    kwargs.setdefault("customer_id", CUSTOMER)
    kwargs.setdefault("currency", "MYR")
    kwargs.setdefault("line_items", [SHIRT, SCARF])
    kwargs.setdefault("discount_codes", CODE)
    kwargs.setdefault("created_at", iso(PLACED))
    return payloads.order_payload(order_id=order_id, updated_at=iso(updated), **kwargs)


def shirt_refund(order_id: int = ORDER, *, refund_id: int = 9001, at: datetime = NOW) -> dict:
    """One of the two shirts back: 45.00 of the 117.00 paid."""
    line = next(li for li in order(order_id)["line_items"] if li["id"] == SHIRT["id"])
    return payloads.refund_payload(
        order_id=order_id,
        refund_id=refund_id,
        currency="MYR",
        created_at=iso(at),
        refund_line_items=[{"line_item": line, "quantity": 1}],
    )


def refunded_order(order_id: int = ORDER) -> dict:
    return order(
        order_id,
        refunds=[shirt_refund(order_id)],
        financial_status="partially_refunded",
        updated=NOW - timedelta(minutes=30),
    )


def balance(customer: int = CUSTOMER) -> tuple[int, int] | None:
    """(balance, lifetime earned) of the customer's member, after a full ledger audit."""
    member = Member.objects.filter(platform_customer_id=str(customer)).first()
    if member is None:
        return None
    assert ledger_audit_members(members=[member]) == []
    return member.points_balance, member.lifetime_earned


def order_state(shop: Shop, order_id: int = ORDER) -> tuple:
    record = OrderRecord.objects.get(shop=shop, order_id=str(order_id))
    return (
        balance(),
        LedgerEntry.objects.count(),
        record.awarded,
        record.ledger_moves,
        record.refunds,
        record.paid_at,
        record.cancelled_at,
        record.member_id,
    )


def graphql_requests(standin: StandIn) -> list:
    return [r for r in standin.requests if r.target == "graphql"]


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def standin():
    with StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET) as running:
        running.add_shop(SHOP, name="Demo Batik", currency="MYR", iana_timezone="Asia/Kuala_Lumpur")
        with override_settings(SHOPIFY_API_ORIGIN=running.origin):
            yield running


@pytest.fixture
def installed(standin, db) -> Shop:
    shop = install_with_code(shop_domain=SHOP, code=standin.issue_code(SHOP))
    standin.reset()  # forget the install's own requests
    return shop


@pytest.fixture
def offline() -> StandIn:
    """A stand-in that is never started: its GraphQL runs in-process, for pure tests."""
    standin = StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET)
    standin.add_shop(SHOP, currency="MYR", iana_timezone="Asia/Kuala_Lumpur")
    return standin


def node_of(standin: StandIn, payload: dict) -> dict:
    """The order as the reconciliation query reads it from the Admin API."""
    standin.add_order(SHOP, payload)
    variables = reconcile.page_variables(page_size=10, after=None, since=SINCE)
    body = standin.graphql(SHOP, reconcile.ORDERS_QUERY, variables)
    assert "errors" not in body, body
    (node,) = [
        n for n in body["data"]["orders"]["nodes"] if n["legacyResourceId"] == str(payload["id"])
    ]
    return node


# --- translation: the same order, as a webhook and as an Admin API node ---------------------


GIFT_CARD = {"id": 13, "product_id": 103, "price": "100.00", "quantity": 1, "gift_card": True}
VARIANTS = {
    "paid, a code, shipping, tax, paid in USD": dict(
        shipping="8.00", tax="10.00", presentment_currency="USD", exchange_rate="0.21"
    ),
    "a guest": dict(customer_id=None, email="guest@example.com"),
    "pending payment": dict(financial_status="pending"),
    "partly refunded": dict(refunds=[shirt_refund()], financial_status="partially_refunded"),
    "cancelled and refunded": dict(
        financial_status="refunded", cancelled_at=iso(NOW), cancel_reason="customer"
    ),
    "fulfilled at a POS": dict(fulfillment_status="fulfilled", source_name="pos"),
    "partly fulfilled": dict(fulfillment_status="partial"),
    "a test order with a gift card": dict(test=True, line_items=[SHIRT, SCARF, GIFT_CARD]),
}


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_the_node_and_the_webhook_of_one_order_translate_to_the_same_order(offline, overrides):
    # given one order fixture, as the webhook carries it and as the Admin API answers it
    payload = order(**overrides)
    node = node_of(offline, payload)

    # when each side is translated
    from_webhook = translate.order(payload)
    from_api = reconcile.order_from_node(node)

    # then the same order, but for what the order query does not ask (marketing consent, tags)
    expected = from_webhook
    if from_webhook.customer is not None:
        expected = dataclasses.replace(
            from_webhook,
            customer=dataclasses.replace(from_webhook.customer, accepts_marketing=None, tags=()),
        )
    assert from_api == expected
    assert [line.line_id for line in from_api.lines] == [
        str(li["id"]) for li in payload["line_items"]
    ]


def test_refund_events_match_the_refunds_create_webhook(offline):
    payload = order(refunds=[shirt_refund()], financial_status="partially_refunded")
    node = node_of(offline, payload)

    from_webhook = translate.to_event(
        topic="refunds/create",
        payload=shirt_refund(),
        shop_id=7,
        occurred_at=NOW,
        source_id="webhook-id",
    )
    order_event, refunds = reconcile.events_from_node(node, shop_id=7)

    assert refunds == (dataclasses.replace(from_webhook, occurred_at=NOW, source_id="reconcile"),)
    assert refunds[0].lines == (
        events.RefundLine(line_id="11", quantity=1, subtotal=Decimal("45.00")),
    )
    assert (order_event.kind, order_event.occurred_at, order_event.source_id) == (
        events.OrderEventKind.PAID,
        PLACED,
        "reconcile",
    )


def test_a_sparse_node_translates_with_shopifys_nulls():
    # given a node as Shopify can send it: a guest, no email, a deleted product, no SKU
    node = {
        "id": "gid://shopify/Order/42",
        "legacyResourceId": "42",
        "name": "#1042",
        "email": None,
        "test": False,
        "createdAt": "2026-11-20T02:00:00Z",
        "updatedAt": "2026-11-20T03:00:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": None,
        "displayFulfillmentStatus": "IN_PROGRESS",
        "sourceName": None,
        "currencyCode": "MYR",
        "discountCodes": [],
        "customer": None,
        "subtotalPriceSet": {"shopMoney": {"amount": "20.5", "currencyCode": "MYR"}},
        "currentSubtotalPriceSet": {"shopMoney": {"amount": "20.5", "currencyCode": "MYR"}},
        "totalDiscountsSet": {"shopMoney": {"amount": "0.0", "currencyCode": "MYR"}},
        "totalShippingPriceSet": {"shopMoney": {"amount": "0.0", "currencyCode": "MYR"}},
        "totalTaxSet": {"shopMoney": {"amount": "0.0", "currencyCode": "MYR"}},
        "lineItems": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/77",
                    "quantity": 1,
                    "currentQuantity": 1,
                    "sku": None,
                    "isGiftCard": False,
                    "product": None,
                    "variant": None,
                    "originalUnitPriceSet": {"shopMoney": {"amount": "20.5"}},
                    "discountAllocations": [],
                }
            ],
        },
        "refunds": [],
    }

    order_data = reconcile.order_from_node(node)

    assert order_data == events.OrderData(
        order_id="42",
        name="#1042",
        customer=None,
        email="",
        currency="MYR",
        subtotal=Decimal("20.5"),
        current_subtotal=Decimal("20.5"),
        total_discounts=Decimal("0"),
        shipping=Decimal("0"),
        tax=Decimal("0"),
        lines=(
            events.OrderLine(
                line_id="77",
                product_id="",
                variant_id="",
                sku="",
                quantity=1,
                current_quantity=1,
                unit_price=Decimal("20.5"),
                total_discount=Decimal("0"),
            ),
        ),
        discount_codes=(),
        financial_status="",
        source_name="",
        test=False,
        created_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
        cancelled_at=None,
        updated_at=datetime(2026, 11, 20, 3, tzinfo=UTC),
        fulfillment_status="",
    )
    assert reconcile.event_kind(order_data) == events.OrderEventKind.UPDATED
    with pytest.raises(reconcile.NodeError):
        reconcile.order_from_node({**node, "totalTaxSet": {"shopMoney": {"amount": "lots"}}})
    with pytest.raises(reconcile.NodeError):
        reconcile.order_from_node({**node, "id": None, "legacyResourceId": None})


@pytest.mark.parametrize(
    ("changes", "kind"),
    [
        ({"financial_status": "paid"}, events.OrderEventKind.PAID),
        ({"financial_status": "partially_refunded"}, events.OrderEventKind.PAID),
        ({"financial_status": "refunded"}, events.OrderEventKind.PAID),
        ({"financial_status": "pending"}, events.OrderEventKind.UPDATED),
        ({"financial_status": "authorized"}, events.OrderEventKind.UPDATED),
        (
            {"financial_status": "pending", "fulfillment_status": "fulfilled"},
            events.OrderEventKind.FULFILLED,
        ),
        ({"cancelled_at": NOW}, events.OrderEventKind.CANCELLED),
    ],
)
def test_the_event_kind_follows_the_order_state(changes, kind):
    base = translate.order(order())
    assert reconcile.event_kind(dataclasses.replace(base, **changes)) == kind


def test_legacy_ids_and_the_search_query():
    assert reconcile.legacy_id("gid://shopify/LineItem/466157049") == "466157049"
    assert reconcile.legacy_id("gid://shopify/Order/5?from=x") == "5"
    assert reconcile.legacy_id(None) == ""
    since = datetime(2026, 11, 20, 18, 30, 15, 999, tzinfo=UTC) + timedelta(hours=0)
    assert reconcile.search_query(since) == "updated_at:>='2026-11-20T18:30:15Z'"


def test_a_page_of_orders_fits_shopifys_query_cost_limit():
    variables = reconcile.page_variables(page_size=reconcile.MAX_PAGE_SIZE, after=None, since=SINCE)

    assert prepare(SCHEMA, reconcile.ORDERS_QUERY, variables).cost == 882
    assert prepare(SCHEMA, reconcile.ORDER_LINES_QUERY, {"id": "x", "first": 50}).cost == 453
    assert prepare(SCHEMA, reconcile.REFUND_LINES_QUERY, {"id": "x", "first": 50}).cost == 253
    with pytest.raises(ValueError, match="between 1 and 10"):
        reconcile.reconcile_orders(shop=Shop(), since=SINCE, page_size=50)


# --- against the Admin API ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_order_whose_webhook_never_came_is_credited(standin, installed):
    # given an order paid in the shop, its webhooks lost
    payload = order()
    standin.add_order(SHOP, payload)

    # when the shop is reconciled
    result = reconcile.reconcile_orders(shop=installed, since=SINCE)

    # then the shopper has the order's points, exactly once, as the webhook would have given
    assert balance() == (117, 117)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.points, entry.source_type, entry.source_id, entry.reason) == (
        "earn",
        117,
        "order",
        str(ORDER),
        f"Order {payload['name']}",
    )
    record = OrderRecord.objects.get(shop=installed, order_id=str(ORDER))
    assert record.paid_at == PLACED  # the order's updatedAt: never later than the truth
    assert dataclasses.asdict(result) == {
        "pages": 1,
        "orders": 1,
        "refunds": 0,
        "changed": 1,
        "points": 117,
        "skipped": 0,
        "complete": True,
        "end_cursor": result.end_cursor,
        "last_updated_at": PLACED,
    }
    (request,) = graphql_requests(standin)
    assert request.json["variables"]["query"] == f"updated_at:>='{iso(SINCE)}'"
    assert request.operation == "orders"


@pytest.mark.django_db
def test_an_order_already_credited_by_its_webhooks_is_left_as_it_is(client, standin, installed):
    # given an order and its refund, both delivered by webhook and processed
    post_webhook(client, "orders/paid", order(), shop=SHOP)
    post_webhook(client, "refunds/create", shirt_refund(), shop=SHOP)
    post_webhook(client, "orders/updated", refunded_order(), shop=SHOP)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    standin.add_order(SHOP, refunded_order())
    before = order_state(installed)

    # when the shop is reconciled, twice
    first = reconcile.reconcile_orders(shop=installed, since=SINCE)
    second = reconcile.reconcile_orders(shop=installed, since=SINCE)

    # then nothing moved
    assert before[:2] == ((72, 72), 2)
    assert order_state(installed) == before
    assert (first.orders, first.refunds, first.changed, first.points) == (1, 1, 0, 0)
    assert (second.orders, second.refunds, second.changed, second.points) == (1, 1, 0, 0)


@pytest.mark.django_db
def test_a_refunded_order_found_only_through_the_api_earns_what_was_kept(standin, installed):
    # given an order paid, then one shirt refunded, none of it delivered
    standin.add_order(SHOP, refunded_order())

    # when the shop is reconciled
    result = reconcile.reconcile_orders(shop=installed, since=SINCE)

    # then the shopper earns on what they kept (45.00 of 117.00 went back), in one entry
    assert balance() == (72, 72)
    assert LedgerEntry.objects.count() == 1
    record = OrderRecord.objects.get(shop=installed, order_id=str(ORDER))
    assert record.refunds == {"9001": {"11": 1}}
    assert (result.refunds, result.points) == (1, 72)


@pytest.mark.django_db
def test_a_missed_refund_takes_back_its_share_and_the_late_webhook_changes_nothing(
    client, standin, installed
):
    # given the payment delivered by webhook, the refund's webhooks lost
    post_webhook(client, "orders/paid", order(), shop=SHOP)
    assert balance() == (117, 117)
    standin.add_order(SHOP, refunded_order())

    # when the shop is reconciled
    result = reconcile.reconcile_orders(shop=installed, since=SINCE)

    # then the refunded shirt's points are taken back, proportionally
    assert balance() == (72, 72)
    reversal = LedgerEntry.objects.order_by("pk").last()
    assert (reversal.kind, reversal.points, reversal.source_id) == ("reverse", -45, str(ORDER))
    assert (result.changed, result.points) == (1, -45)

    # and when the refund's webhook finally comes, it is already known
    after = order_state(installed)
    post_webhook(client, "refunds/create", shirt_refund(), shop=SHOP)
    assert order_state(installed) == after


@pytest.mark.django_db
def test_a_missed_cancellation_takes_everything_back(client, standin, installed):
    post_webhook(client, "orders/paid", order(), shop=SHOP)
    standin.add_order(
        SHOP,
        order(
            financial_status="refunded",
            cancelled_at=iso(NOW - timedelta(hours=1)),
            cancel_reason="customer",
            updated=NOW - timedelta(hours=1),
        ),
    )

    reconcile.reconcile_orders(shop=installed, since=SINCE)

    assert balance() == (0, 0)
    record = OrderRecord.objects.get(shop=installed, order_id=str(ORDER))
    assert (record.awarded, record.cancelled_at) == (0, NOW - timedelta(hours=1))


@pytest.mark.django_db
def test_test_orders_never_earn(standin, installed):
    standin.add_order(SHOP, order(test=True))

    result = reconcile.reconcile_orders(shop=installed, since=SINCE)

    assert balance() is None
    assert LedgerEntry.objects.count() == 0
    assert OrderRecord.objects.get(shop=installed, order_id=str(ORDER)).awarded == 0
    assert (result.orders, result.changed, result.points) == (1, 0, 0)


@pytest.mark.django_db
def test_orders_are_read_page_by_page_oldest_update_first(standin, installed):
    # given seven missed orders of seven shoppers, updated a minute apart
    for n in range(7):
        standin.add_order(
            SHOP,
            order(7000 + n, customer_id=8000 + n, updated=NOW - timedelta(minutes=30 - n)),
        )

    # when the shop is reconciled three orders a page
    result = reconcile.reconcile_orders(shop=installed, since=SINCE, page_size=3)

    # then three pages, each after the last one's cursor, and everyone credited
    assert [balance(8000 + n) for n in range(7)] == [(117, 117)] * 7
    requests = graphql_requests(standin)
    assert [r.json["variables"]["first"] for r in requests] == [3, 3, 3]
    afters = [r.json["variables"]["after"] for r in requests]
    assert afters[0] is None
    assert [json.loads(base64.b64decode(a))["last_id"] for a in afters[1:]] == [7002, 7005]
    assert (result.pages, result.orders, result.points, result.complete) == (3, 7, 819, True)
    assert result.last_updated_at == NOW - timedelta(minutes=24)


@pytest.mark.django_db
def test_a_run_stops_at_its_page_budget_and_the_next_goes_on_from_its_cursor(standin, installed):
    for n in range(7):
        standin.add_order(
            SHOP,
            order(7000 + n, customer_id=8000 + n, updated=NOW - timedelta(minutes=30 - n)),
        )

    first = reconcile.reconcile_orders(shop=installed, since=SINCE, page_size=3, max_pages=2)
    credited_first = [balance(8000 + n) for n in range(7)]
    second = reconcile.reconcile_orders(
        shop=installed, since=SINCE, page_size=3, max_pages=2, after=first.end_cursor
    )

    assert (first.pages, first.orders, first.complete) == (2, 6, False)
    assert credited_first == [(117, 117)] * 6 + [None]
    assert (second.pages, second.orders, second.complete) == (1, 1, True)
    assert balance(8006) == (117, 117)


@pytest.mark.django_db
def test_a_run_out_of_time_stops_after_the_page_in_hand(standin, installed):
    for n in range(4):
        standin.add_order(SHOP, order(7000 + n, customer_id=8000 + n))

    result = reconcile.reconcile_orders(shop=installed, since=SINCE, page_size=2, budget_seconds=0)

    assert (result.pages, result.orders, result.complete) == (1, 2, False)


@pytest.mark.django_db
def test_a_throttled_answer_is_waited_out_and_the_run_completes(standin, installed):
    standin.add_order(SHOP, order())
    standin.faults.push("throttled", count=1)
    waits = []

    result = reconcile.reconcile_orders(shop=installed, since=SINCE, sleep=waits.append)

    assert balance() == (117, 117)
    assert [r.fault for r in graphql_requests(standin)] == ["throttled", None]
    assert len(waits) == 1 and 0.1 <= waits[0] <= 10
    assert result.complete is True


@pytest.mark.django_db
def test_long_orders_and_long_refunds_are_read_to_their_last_line(standin, installed):
    # given a missed order of eight lines, five of them partly refunded, more than a page holds
    lines = [
        {"id": 100 + n, "product_id": 500 + n, "price": "10.00", "quantity": 2} for n in range(8)
    ]
    base = order(line_items=lines, discount_codes=[])
    refund = payloads.refund_payload(
        order_id=ORDER,
        refund_id=9100,
        currency="MYR",
        created_at=iso(NOW),
        refund_line_items=[{"line_item": li, "quantity": 1} for li in base["line_items"][:6]],
    )
    standin.add_order(
        SHOP,
        order(
            line_items=lines,
            discount_codes=[],
            refunds=[refund],
            financial_status="partially_refunded",
            updated=NOW - timedelta(minutes=5),
        ),
    )

    # when the shop is reconciled
    result = reconcile.reconcile_orders(shop=installed, since=SINCE)

    # then every line counted: 16 units bought, 6 returned, 10 kept at 10.00
    assert balance() == (100, 100)
    record = OrderRecord.objects.get(shop=installed, order_id=str(ORDER))
    assert len(record.facts["lines"]) == 8
    assert record.refunds == {"9100": {str(100 + n): 1 for n in range(6)}}
    assert [r.operation for r in graphql_requests(standin)] == ["orders", "order", "refund"]
    assert result.skipped == 0


@pytest.mark.django_db
def test_admin_api_errors_propagate_and_nothing_half_read_is_applied(standin, installed):
    standin.add_order(SHOP, order())
    standin.faults.push("503", count=10)

    with pytest.raises(AdminApiError) as failed:
        reconcile.reconcile_orders(shop=installed, since=SINCE, sleep=lambda s: None)

    assert failed.value.transient is True
    assert len(graphql_requests(standin)) == 5
    assert OrderRecord.objects.count() == 0


# --- the periodic task ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_task_reconciles_each_installed_shop_and_keeps_a_watermark(standin, installed):
    # given a missed order, and another shop that uninstalled
    standin.add_order(SHOP, order())
    Shop.objects.create(
        domain="gone.myshopify.com",
        installed_at=NOW - timedelta(days=9),
        uninstalled_at=NOW - timedelta(days=1),
    )
    started = timezone.now()

    # when beat runs the task
    outcome = tasks.reconcile_recent_orders.delay().get()

    # then the installed shop was reconciled over the last two days, and its watermark set
    assert outcome == "1 shop(s) to reconcile"
    assert balance() == (117, 117)
    (request,) = graphql_requests(standin)
    since = request.json["variables"]["query"].removeprefix("updated_at:>='").removesuffix("'")
    assert abs(datetime.fromisoformat(since) - (started - timedelta(days=2))) < timedelta(seconds=5)
    mark = cache.get(reconcile.watermark_key(installed))
    assert mark["after"] is None
    assert abs(datetime.fromisoformat(mark["since"]) - (started - reconcile.OVERLAP)) < timedelta(
        seconds=5
    )

    # and the next run reads only from the watermark
    standin.reset()
    assert tasks.reconcile_recent_orders.delay(installed.pk).get() == (
        "0 order(s), 0 changed, +0 points"
    )
    (request,) = graphql_requests(standin)
    expected = datetime.fromisoformat(mark["since"]).astimezone(UTC).replace(microsecond=0)
    assert request.json["variables"]["query"] == f"updated_at:>='{iso(expected)}'"


@pytest.mark.django_db
def test_a_failed_run_leaves_the_watermark_where_it_was(standin, installed):
    mark = {"since": (NOW - timedelta(hours=1)).isoformat(), "after": None}
    cache.set(reconcile.watermark_key(installed), mark)
    standin.add_order(SHOP, order())
    standin.uninstall(SHOP)  # Shopify refuses the tokens before app/uninstalled arrives

    outcome = tasks.reconcile_recent_orders.delay(installed.pk).get()

    assert outcome.startswith("failed: ")
    assert cache.get(reconcile.watermark_key(installed)) == mark
    assert balance() is None


@pytest.mark.django_db
def test_an_unfinished_run_remembers_its_cursor_and_a_stale_watermark_is_ignored(
    standin, installed
):
    for n in range(3):
        standin.add_order(SHOP, order(7000 + n, customer_id=8000 + n))
    cache.set(
        reconcile.watermark_key(installed),
        {"since": (NOW - timedelta(days=5)).isoformat(), "after": "stale"},
    )

    result = reconcile.reconcile_recent(shop=installed, now=NOW, page_size=2, max_pages=1)

    assert (result.orders, result.complete) == (2, False)
    assert cache.get(reconcile.watermark_key(installed)) == {
        "since": SINCE.isoformat(),
        "after": result.end_cursor,
    }
    rest = reconcile.reconcile_recent(shop=installed, now=NOW, page_size=2, max_pages=1)
    assert (rest.orders, rest.complete) == (1, True)
    assert [balance(8000 + n) for n in range(3)] == [(117, 117)] * 3


@pytest.mark.django_db
def test_a_shop_without_read_orders_or_already_being_reconciled_is_skipped(standin, installed):
    assert reconcile.reconcile_recent(shop=installed) is not None
    cache.add(f"setia:shopify:reconcile:{installed.pk}:lock", 1)
    assert reconcile.reconcile_recent(shop=installed) is None
    cache.clear()
    installed.scopes = "read_customers,write_discounts"
    assert reconcile.reconcile_recent(shop=installed) is None
    installed.scopes = "write_orders"
    assert reconcile.can_read_orders(installed) is True


def test_the_task_runs_every_half_hour():
    assert settings.CELERY_BEAT_SCHEDULE["shopify-reconcile-recent-orders"] == {
        "task": "loyalty.platforms.shopify.tasks.reconcile_recent_orders",
        "schedule": 1800.0,
    }
