"""The earning engine: (program terms, rules, member, order) in, award lines out.

Pure: no database, no clock, no platform. Everything it needs arrives in the arguments, and
each award line carries the values it used, so an award can be explained (and recomputed)
later exactly as it was made.

How an order earns (the stacking rule, in one place):

1. The basis is the order's eligible amount: each line's price x quantity less its discounts,
   without gift cards (unless the program counts them) and without excluded lines; plus
   shipping and tax when the program counts them. An order below the program's minimum, a
   test order, or a POS or draft order the program does not reward, earns nothing.
2. Base points: basis x points per currency unit, rounded once (down by default).
3. Multipliers never compound with each other within one kind: per line, the highest matching
   product multiplier applies; per order, the highest active campaign multiplier. Product,
   campaign and tier multipliers then multiply together. Each multiplier's extra points are an
   award line of their own, rounded on their own.
4. Bonuses add: product bonuses per unit bought, campaign bonuses once per order, milestone
   bonuses (the first order, every Nth order) once per order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
ONE = Decimal("1")


class Rounding(enum.StrEnum):
    DOWN = "down"
    NEAREST = "nearest"
    UP = "up"


_ROUNDING = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.NEAREST: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}


class RuleKind(enum.StrEnum):
    PRODUCT = "product"  # lines matching a target: multiply, add a bonus per unit, or exclude
    CAMPAIGN = "campaign"  # a time window: multiply the order, or add a bonus once
    MILESTONE = "milestone"  # the first order, or every Nth paid order: a bonus once


class RuleEffect(enum.StrEnum):
    MULTIPLY = "multiply"
    BONUS = "bonus"
    EXCLUDE = "exclude"


class RuleTarget(enum.StrEnum):
    PRODUCT = "product"
    COLLECTION = "collection"
    TAG = "tag"
    SKU = "sku"


@dataclass(frozen=True)
class Terms:
    """The program settings that decide what an order earns."""

    points_per_unit: Decimal = ONE
    rounding: Rounding = Rounding.DOWN
    include_shipping: bool = False
    include_tax: bool = False
    include_gift_cards: bool = False
    minimum_order: Decimal = ZERO
    earn_on_pos: bool = True
    earn_on_draft: bool = True


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    kind: RuleKind
    effect: RuleEffect = RuleEffect.BONUS
    target: RuleTarget | None = None
    values: frozenset[str] = frozenset()  # product ids, collection ids, tags or SKUs
    multiplier: Decimal = ONE
    points: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    tiers: frozenset[str] = frozenset()  # campaigns: only these tiers (empty: everyone)
    every_nth: int = 0  # milestones: every Nth paid order (0: not this kind)
    first_order: bool = False  # milestones: the member's first paid order

    def active_at(self, when: datetime | None) -> bool:
        if when is None:
            return self.starts_at is None and self.ends_at is None
        return (self.starts_at is None or self.starts_at <= when) and (
            self.ends_at is None or when < self.ends_at
        )


@dataclass(frozen=True)
class Member:
    """What the engine knows of the member: the seam for tiers."""

    tier: str | None = None
    tier_multiplier: Decimal = ONE
    paid_orders_before: int = 0  # paid orders before this one


@dataclass(frozen=True)
class Line:
    line_id: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO  # for the whole line, at its original quantity
    original_quantity: int | None = None  # the quantity `discount` was for; default: quantity
    product_id: str = ""
    sku: str = ""
    collections: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    gift_card: bool = False

    @property
    def amount(self) -> Decimal:
        """What the current quantity cost after its share of the discounts."""
        if self.quantity <= 0:
            return ZERO
        bought = self.original_quantity or self.quantity
        discount = self.discount * Decimal(self.quantity) / Decimal(bought) if bought else ZERO
        return max(self.unit_price * self.quantity - discount, ZERO)

    def matches(self, rule: Rule) -> bool:
        match rule.target:
            case RuleTarget.PRODUCT:
                return self.product_id in rule.values
            case RuleTarget.SKU:
                return bool(self.sku) and self.sku in rule.values
            case RuleTarget.COLLECTION:
                return bool(self.collections & rule.values)
            case RuleTarget.TAG:
                return bool(self.tags & rule.values)
        return False


@dataclass(frozen=True)
class Order:
    lines: tuple[Line, ...]
    placed_at: datetime | None
    shipping: Decimal = ZERO
    tax: Decimal = ZERO
    source_name: str = "web"
    test: bool = False


@dataclass(frozen=True)
class AwardLine:
    """One reason an order earned points, with the values that produced them."""

    code: str  # base, product_multiplier, product_bonus, campaign_multiplier, ...
    points: int
    description: str
    rule_id: int | None = None
    values: dict = field(default_factory=dict)


def _round(value: Decimal, rounding: Rounding) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[rounding]))


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def award(
    *, terms: Terms, rules: tuple[Rule, ...] | list[Rule], member: Member, order: Order
) -> list[AwardLine]:
    """The award lines for `order`; an empty list when it earns nothing."""
    if order.test:
        return []
    if order.source_name == "pos" and not terms.earn_on_pos:
        return []
    if order.source_name in ("shopify_draft_order", "draft") and not terms.earn_on_draft:
        return []

    active = [r for r in rules if r.active_at(order.placed_at)]
    product_rules = [r for r in active if r.kind == RuleKind.PRODUCT]
    excluded = {
        line.line_id
        for line in order.lines
        if any(r.effect == RuleEffect.EXCLUDE and line.matches(r) for r in product_rules)
    }
    lines = [
        line
        for line in order.lines
        if line.line_id not in excluded and (terms.include_gift_cards or not line.gift_card)
    ]
    goods = sum((line.amount for line in lines), ZERO)
    extras = (order.shipping if terms.include_shipping else ZERO) + (
        order.tax if terms.include_tax else ZERO
    )
    basis = goods + extras
    if basis <= ZERO or basis < terms.minimum_order:
        return []

    rate = terms.points_per_unit
    awarded: list[AwardLine] = []
    base_points = _round(basis * rate, terms.rounding)
    awarded.append(
        AwardLine(
            code="base",
            points=base_points,
            description=f"{_money(basis)} at {rate.normalize():f} per unit",
            values={
                "basis": _money(basis),
                "points_per_unit": str(rate),
                "rounding": terms.rounding.value,
            },
        )
    )

    campaigns = [
        r
        for r in active
        if r.kind == RuleKind.CAMPAIGN
        and (not r.tiers or (member.tier is not None and member.tier in r.tiers))
    ]
    campaign = max(
        (r for r in campaigns if r.effect == RuleEffect.MULTIPLY),
        key=lambda r: (r.multiplier, -r.id),
        default=None,
    )
    campaign_multiplier = campaign.multiplier if campaign else ONE

    # Product multipliers: per line, the highest that matches.
    for rule, amount in _best_product_multipliers(lines, product_rules):
        extra = (
            amount * rate * (rule.multiplier - ONE) * campaign_multiplier * member.tier_multiplier
        )
        awarded.append(
            AwardLine(
                code="product_multiplier",
                points=_round(extra, terms.rounding),
                description=f"{rule.name}: x{rule.multiplier.normalize():f} on {_money(amount)}",
                rule_id=rule.id,
                values={"multiplier": str(rule.multiplier), "amount": _money(amount)},
            )
        )

    if campaign is not None and campaign.multiplier != ONE:
        extra = basis * rate * (campaign.multiplier - ONE) * member.tier_multiplier
        awarded.append(
            AwardLine(
                code="campaign_multiplier",
                points=_round(extra, terms.rounding),
                description=f"{campaign.name}: x{campaign.multiplier.normalize():f}",
                rule_id=campaign.id,
                values={"multiplier": str(campaign.multiplier), "basis": _money(basis)},
            )
        )

    if member.tier_multiplier != ONE:
        extra = basis * rate * (member.tier_multiplier - ONE)
        awarded.append(
            AwardLine(
                code="tier_multiplier",
                points=_round(extra, terms.rounding),
                description=f"{member.tier} tier: x{member.tier_multiplier.normalize():f}",
                values={"tier": member.tier, "multiplier": str(member.tier_multiplier)},
            )
        )

    for rule in product_rules:
        if rule.effect != RuleEffect.BONUS:
            continue
        units = sum(line.quantity for line in lines if line.matches(rule))
        if units > 0 and rule.points:
            awarded.append(
                AwardLine(
                    code="product_bonus",
                    points=rule.points * units,
                    description=f"{rule.name}: {rule.points} x {units}",
                    rule_id=rule.id,
                    values={"points_per_unit": rule.points, "units": units},
                )
            )

    for rule in campaigns:
        if rule.effect == RuleEffect.BONUS and rule.points:
            awarded.append(
                AwardLine(
                    code="campaign_bonus",
                    points=rule.points,
                    description=rule.name,
                    rule_id=rule.id,
                    values={"points": rule.points},
                )
            )

    order_number = member.paid_orders_before + 1
    for rule in active:
        if rule.kind != RuleKind.MILESTONE or not rule.points:
            continue
        hit_first = rule.first_order and order_number == 1
        hit_nth = rule.every_nth > 0 and order_number % rule.every_nth == 0
        if hit_first or hit_nth:
            awarded.append(
                AwardLine(
                    code="milestone",
                    points=rule.points,
                    description=f"{rule.name} (order {order_number})",
                    rule_id=rule.id,
                    values={"points": rule.points, "order_number": order_number},
                )
            )

    return [line for line in awarded if line.points]


def _best_product_multipliers(lines: list[Line], rules: list[Rule]) -> list[tuple[Rule, Decimal]]:
    """Each multiplier rule with the amount of the lines on which it is the highest match."""
    amounts: dict[int, Decimal] = {}
    by_id = {r.id: r for r in rules}
    for line in lines:
        best = max(
            (r for r in rules if r.effect == RuleEffect.MULTIPLY and line.matches(r)),
            key=lambda r: (r.multiplier, -r.id),
            default=None,
        )
        if best is not None and best.multiplier != ONE:
            amounts[best.id] = amounts.get(best.id, ZERO) + line.amount
    return [(by_id[rule_id], amount) for rule_id, amount in sorted(amounts.items())]


def total(lines: list[AwardLine]) -> int:
    return sum(line.points for line in lines)
