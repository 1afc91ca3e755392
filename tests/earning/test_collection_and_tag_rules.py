"""Rules on collections and tags, through the order lifecycle: the lines carry what the
platform adapter looked up, the record keeps it, refunds and edits use it as it was."""

import dataclasses
from datetime import timedelta

import pytest

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning.models import EarnRule, OrderRecord
from loyalty.platforms.shopify import translate
from tests.earning.test_order_lifecycle import T0, deliver, member_points, order, refund
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

RAYA = "841564295"  # the collection the shirt (product 101) is in
SHIRT_FACTS = {"collections": (RAYA,), "tags": ("Batik",)}
SCARF_FACTS = {"collections": (), "tags": ("Clearance ",)}
FACTS = {"101": SHIRT_FACTS, "102": SCARF_FACTS}


@pytest.fixture
def shop():
    return ShopFactory(
        domain="batik.myshopify.com", currency="MYR", installed_at=T0 - timedelta(days=30)
    )


def deliver_with_facts(shop, topic, payload, *, facts=FACTS, at=T0):
    """As the Shopify adapter hands an order over: its lines' collections and tags filled."""
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=at, source_id="t"
    )
    lines = tuple(
        dataclasses.replace(line, **facts.get(line.product_id, {})) for line in event.order.lines
    )
    event = dataclasses.replace(event, order=dataclasses.replace(event.order, lines=lines))
    return handle_event(event, shop=shop, records=PlatformRecords())


def rules(shop):
    EarnRule.objects.create(
        shop=shop,
        name="Raya x2",
        kind="product",
        effect="multiply",
        target="collection",
        values=[f"gid://shopify/Collection/{RAYA}"],  # a GID names the same collection
        multiplier=2,
    )
    EarnRule.objects.create(
        shop=shop,
        name="No points on clearance",
        kind="product",
        effect="exclude",
        target="tag",
        values=["clearance"],
    )


def test_a_line_in_a_collection_earns_its_multiplier_and_a_tagged_line_is_excluded(shop):
    # given a x2 rule on the shirt's collection and an exclusion of the scarf's tag
    rules(shop)

    # when the order is paid: shirt 2 x 50, scarf 1 x 30
    outcome = deliver_with_facts(shop, "orders/paid", order())

    # then base on the shirt only (100), and 100 more for the collection
    assert outcome == "awarded 200 points (+200)"
    assert member_points(shop) == (200, 0, 200)
    record = OrderRecord.objects.get()
    assert [(line["code"], line["points"]) for line in record.award_lines] == [
        ("base", 100),
        ("product_multiplier", 100),
    ]
    assert [(li["product_id"], li["collections"], li["tags"]) for li in record.facts["lines"]] == [
        ("101", [RAYA], ["Batik"]),
        ("102", [], ["Clearance "]),
    ]


def test_refunds_and_edits_use_the_collections_known_when_the_line_was_bought(shop):
    # given an order that earned 200 with the collection and tag facts
    rules(shop)
    deliver_with_facts(shop, "orders/paid", order())

    # when an update comes without them (a lookup not possible then), and one shirt is refunded
    deliver_with_facts(shop, "orders/updated", order(updated_at="2026-11-20T11:00:00Z"), facts={})
    deliver(shop, "refunds/create", refund((11, 1), refund_id=1))

    # then the frozen facts still apply: one shirt, 50 base + 50 for the collection
    assert member_points(shop) == (100, 0, 100)
    record = OrderRecord.objects.get()
    assert record.facts["lines"][0]["collections"] == [RAYA]
    assert record.facts["lines"][1]["tags"] == ["Clearance "]


def test_without_the_facts_the_rules_simply_do_not_match(shop):
    # given the same rules, but lines that carry no collections or tags
    rules(shop)

    # when the order is paid
    outcome = deliver(shop, "orders/paid", order())

    # then base points on everything, nothing more, nothing excluded
    assert outcome == "awarded 130 points (+130)"
