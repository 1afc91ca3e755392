"""The earning engine, table-driven: no database."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from loyalty.earning.engine import (
    Line,
    Member,
    Order,
    Rounding,
    Rule,
    RuleEffect,
    RuleKind,
    RuleTarget,
    Terms,
    award,
    total,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)  # a sale weekend

SHIRT = Line(
    "1",
    quantity=2,
    unit_price=D("50.00"),
    discount=D("10.00"),
    product_id="p-shirt",
    sku="SH-1",
    collections=frozenset({"c-batik"}),
    tags=frozenset({"batik"}),
)
SCARF = Line("2", quantity=1, unit_price=D("30.00"), product_id="p-scarf", sku="SC-1")
GIFT_CARD = Line("3", quantity=1, unit_price=D("100.00"), product_id="p-gift", gift_card=True)


def order(*lines, **kwargs):
    kwargs.setdefault("placed_at", NOW)
    return Order(lines=tuple(lines or (SHIRT, SCARF)), **kwargs)


def rule(kind, effect, rule_id=1, **kwargs):
    return Rule(
        id=rule_id, name=kwargs.pop("name", f"rule {rule_id}"), kind=kind, effect=effect, **kwargs
    )


DOUBLE_BATIK = rule(
    RuleKind.PRODUCT,
    RuleEffect.MULTIPLY,
    10,
    target=RuleTarget.COLLECTION,
    values=frozenset({"c-batik"}),
    multiplier=D("2"),
    name="Double on batik",
)
TRIPLE_SKU = rule(
    RuleKind.PRODUCT,
    RuleEffect.MULTIPLY,
    11,
    target=RuleTarget.SKU,
    values=frozenset({"SH-1"}),
    multiplier=D("3"),
    name="Triple on SH-1",
)
SCARF_BONUS = rule(
    RuleKind.PRODUCT,
    RuleEffect.BONUS,
    12,
    target=RuleTarget.PRODUCT,
    values=frozenset({"p-scarf"}),
    points=25,
    name="Scarf bonus",
)
NO_SCARVES = rule(
    RuleKind.PRODUCT,
    RuleEffect.EXCLUDE,
    13,
    target=RuleTarget.TAG,
    values=frozenset({"no-points"}),
    name="Excluded",
)
WEEKEND = rule(
    RuleKind.CAMPAIGN,
    RuleEffect.MULTIPLY,
    20,
    multiplier=D("2"),
    name="Double weekend",
    starts_at=datetime(2026, 11, 28, tzinfo=UTC),
    ends_at=datetime(2026, 11, 30, tzinfo=UTC),
)
GOLD_WEEKEND = rule(
    RuleKind.CAMPAIGN,
    RuleEffect.MULTIPLY,
    21,
    multiplier=D("3"),
    name="Gold triple",
    tiers=frozenset({"Gold"}),
    starts_at=datetime(2026, 11, 28, tzinfo=UTC),
)
LAUNCH_BONUS = rule(RuleKind.CAMPAIGN, RuleEffect.BONUS, 22, points=50, name="Launch bonus")
FIRST_ORDER = rule(
    RuleKind.MILESTONE, RuleEffect.BONUS, 30, points=100, first_order=True, name="First order"
)
EVERY_5TH = rule(
    RuleKind.MILESTONE, RuleEffect.BONUS, 31, points=200, every_nth=5, name="Every 5th order"
)

CASES = [
    # (id, terms, rules, member, order, expected points by code)
    (
        "default: 1 per unit of the subtotal after discounts, rounded down",
        Terms(),
        [],
        Member(),
        order(),
        {"base": 120},
    ),  # 2x50-10 + 30
    (
        "rounded down",
        Terms(),
        [],
        Member(),
        order(Line("1", quantity=1, unit_price=D("19.99"))),
        {"base": 19},
    ),
    (
        "rounded to nearest",
        Terms(rounding=Rounding.NEAREST),
        [],
        Member(),
        order(Line("1", quantity=1, unit_price=D("19.50"))),
        {"base": 20},
    ),
    (
        "rounded up",
        Terms(rounding=Rounding.UP),
        [],
        Member(),
        order(Line("1", quantity=1, unit_price=D("19.01"))),
        {"base": 20},
    ),
    ("5 points per unit", Terms(points_per_unit=D("5")), [], Member(), order(), {"base": 600}),
    ("0.1 point per unit", Terms(points_per_unit=D("0.1")), [], Member(), order(), {"base": 12}),
    (
        "shipping and tax do not count by default",
        Terms(),
        [],
        Member(),
        order(shipping=D("8.00"), tax=D("10.80")),
        {"base": 120},
    ),
    (
        "shipping and tax count when the program says so",
        Terms(include_shipping=True, include_tax=True),
        [],
        Member(),
        order(shipping=D("8.00"), tax=D("10.80")),
        {"base": 138},
    ),
    (
        "gift cards never earn by default",
        Terms(),
        [],
        Member(),
        order(SHIRT, GIFT_CARD),
        {"base": 90},
    ),
    (
        "gift cards earn when the program says so",
        Terms(include_gift_cards=True),
        [],
        Member(),
        order(SHIRT, GIFT_CARD),
        {"base": 190},
    ),
    ("test orders never earn", Terms(), [FIRST_ORDER], Member(), order(test=True), {}),
    ("POS orders earn by default", Terms(), [], Member(), order(source_name="pos"), {"base": 120}),
    (
        "POS orders can be left out",
        Terms(earn_on_pos=False),
        [],
        Member(),
        order(source_name="pos"),
        {},
    ),
    (
        "draft orders can be left out",
        Terms(earn_on_draft=False),
        [],
        Member(),
        order(source_name="shopify_draft_order"),
        {},
    ),
    (
        "below the minimum order earns nothing",
        Terms(minimum_order=D("150")),
        [],
        Member(),
        order(),
        {},
    ),
    (
        "at the minimum order earns",
        Terms(minimum_order=D("120")),
        [],
        Member(),
        order(),
        {"base": 120},
    ),
    (
        "custom item without a product id earns its amount",
        Terms(),
        [],
        Member(),
        order(Line("9", quantity=1, unit_price=D("12.00"))),
        {"base": 12},
    ),
    (
        "a line's discount is shared over its current quantity (after a refund of one of two)",
        Terms(),
        [],
        Member(),
        order(Line("1", quantity=1, original_quantity=2, unit_price=D("50"), discount=D("10"))),
        {"base": 45},
    ),
    (
        "collection multiplier doubles its lines only",
        Terms(),
        [DOUBLE_BATIK],
        Member(),
        order(),
        {"base": 120, "product_multiplier": 90},
    ),
    (
        "the highest product multiplier wins, they do not compound",
        Terms(),
        [DOUBLE_BATIK, TRIPLE_SKU],
        Member(),
        order(),
        {"base": 120, "product_multiplier": 180},
    ),
    (
        "product bonus per unit",
        Terms(),
        [SCARF_BONUS],
        Member(),
        order(SHIRT, Line("2", quantity=3, unit_price=D("30"), product_id="p-scarf")),
        {"base": 180, "product_bonus": 75},
    ),
    (
        "excluded lines earn nothing, not even bonuses",
        Terms(),
        [NO_SCARVES, SCARF_BONUS],
        Member(),
        order(
            SHIRT,
            Line(
                "2",
                quantity=1,
                unit_price=D("30"),
                product_id="p-scarf",
                tags=frozenset({"no-points"}),
            ),
        ),
        {"base": 90},
    ),
    (
        "a campaign in its window multiplies the order",
        Terms(),
        [WEEKEND],
        Member(),
        order(),
        {"base": 120, "campaign_multiplier": 120},
    ),
    (
        "a campaign outside its window does nothing",
        Terms(),
        [WEEKEND],
        Member(),
        order(placed_at=datetime(2026, 12, 1, tzinfo=UTC)),
        {"base": 120},
    ),
    (
        "a tier-only campaign skips other tiers",
        Terms(),
        [GOLD_WEEKEND],
        Member(tier="Silver"),
        order(),
        {"base": 120},
    ),
    (
        "the highest campaign multiplier wins",
        Terms(),
        [WEEKEND, GOLD_WEEKEND],
        Member(tier="Gold"),
        order(),
        {"base": 120, "campaign_multiplier": 240},
    ),
    (
        "product, campaign and tier multipliers multiply together",
        Terms(),
        [DOUBLE_BATIK, WEEKEND],
        Member(tier="Gold", tier_multiplier=D("1.5")),
        order(),
        # shirts 90 x2 x2 x1.5 = 540, scarf 30 x2 x1.5 = 90: 630 in all
        {"base": 120, "product_multiplier": 270, "campaign_multiplier": 180, "tier_multiplier": 60},
    ),
    (
        "campaign bonus once per order",
        Terms(),
        [LAUNCH_BONUS],
        Member(),
        order(),
        {"base": 120, "campaign_bonus": 50},
    ),
    (
        "first order milestone",
        Terms(),
        [FIRST_ORDER, EVERY_5TH],
        Member(paid_orders_before=0),
        order(),
        {"base": 120, "milestone": 100},
    ),
    (
        "every 5th order milestone",
        Terms(),
        [FIRST_ORDER, EVERY_5TH],
        Member(paid_orders_before=4),
        order(),
        {"base": 120, "milestone": 200},
    ),
    (
        "no milestone on the 6th order",
        Terms(),
        [FIRST_ORDER, EVERY_5TH],
        Member(paid_orders_before=5),
        order(),
        {"base": 120},
    ),
]


@pytest.mark.parametrize(
    ("terms", "rules", "member", "the_order", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_award(terms, rules, member, the_order, expected):
    lines = award(terms=terms, rules=rules, member=member, order=the_order)

    by_code: dict[str, int] = {}
    for line in lines:
        by_code[line.code] = by_code.get(line.code, 0) + line.points
    assert by_code == expected
    assert total(lines) == sum(expected.values())


def test_award_lines_carry_the_rule_and_its_values_as_they_were():
    lines = award(terms=Terms(), rules=[DOUBLE_BATIK, SCARF_BONUS], member=Member(), order=order())

    assert [(a.code, a.rule_id, a.points, a.values) for a in lines] == [
        ("base", None, 120, {"basis": "120.00", "points_per_unit": "1", "rounding": "down"}),
        ("product_multiplier", 10, 90, {"multiplier": "2", "amount": "90.00"}),
        ("product_bonus", 12, 25, {"points_per_unit": 25, "units": 1}),
    ]
    assert lines[1].description == "Double on batik: x2 on 90.00"


def test_disabled_window_rule_with_no_dates_is_always_active():
    assert rule(RuleKind.CAMPAIGN, RuleEffect.BONUS, points=5).active_at(None)
