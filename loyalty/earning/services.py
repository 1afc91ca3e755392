"""The order lifecycle: events add facts to an order's record, then the order's award is
recomputed from those facts and the ledger moved by the difference.

Why this shape: webhooks come at least once, in any order, sometimes a day late. Handlers that
each "add" or "take back" points would drift under duplicates and reordering; recomputing a
target from everything known and moving the ledger to it cannot. All of it happens under the
order record's row lock (then the member's, taken by the ledger), in one transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loyalty.core.events import CustomerData, OrderData, OrderEvent, OrderEventKind, RefundEvent
from loyalty.earning import engine
from loyalty.earning.actions import action_claim_if_rewarded
from loyalty.earning.models import ActionKind, EarnRule, OrderRecord
from loyalty.earning.pending import order_available_at
from loyalty.expiry.services import credit_expires_at
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit, ledger_repay_debt, ledger_reverse
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_get_or_create, member_lock, redacted_customer_id
from loyalty.referrals.codes import email_normalised
from loyalty.referrals.services import referral_order_seen
from loyalty.shops.models import EarnTrigger, Program, Shop, ShortfallPolicy
from loyalty.tiers.models import Tier

PAID_STATUSES = {"paid", "partially_refunded", "refunded"}
REDACTED_PREFIX = "redacted:"


# --- public ---------------------------------------------------------------------------------


def order_event_received(*, shop: Shop, event: OrderEvent, now: datetime | None = None) -> str:
    with transaction.atomic():
        record = _locked_record(shop, event.order.order_id)
        order_record_add_event(record=record, event=event, now=now)
        outcome = _converge(shop, record, customer=event.order.customer, now=now)
        record.save()
        referral_order_seen(
            shop=shop, record=record, discount_codes=event.order.discount_codes, now=now
        )
    return outcome


def order_record_add_event(
    *, record: OrderRecord, event: OrderEvent, now: datetime | None = None
) -> None:
    """Add what an order event says to the order's record (in memory; the caller saves): the
    newest order snapshot, who bought it, and whether it is paid, fulfilled or cancelled."""
    order = event.order
    when = event.occurred_at or now or timezone.now()
    stamp = order.updated_at or when
    if not record.facts or record.facts_updated_at is None or stamp >= record.facts_updated_at:
        record.facts = _facts(order, before=record.facts)
        record.facts_updated_at = stamp
    redacted = record.platform_customer_id.startswith(REDACTED_PREFIX)
    if order.customer and not record.platform_customer_id:
        record.platform_customer_id = order.customer.platform_customer_id
    if not redacted:  # an erased customer's email never comes back with a late event
        record.email = record.email or (
            order.email or (order.customer.email if order.customer else "")
        )
        record.email_key = email_normalised(record.email)
    if event.kind == OrderEventKind.PAID or order.financial_status in PAID_STATUSES:
        record.paid_at = record.paid_at or when
    if event.kind == OrderEventKind.FULFILLED or order.fulfillment_status == "fulfilled":
        record.fulfilled_at = record.fulfilled_at or when
    if event.kind == OrderEventKind.CANCELLED or order.cancelled_at:
        record.cancelled_at = record.cancelled_at or order.cancelled_at or when


def refund_received(*, shop: Shop, event: RefundEvent, now: datetime | None = None) -> str:
    with transaction.atomic():
        record = _locked_record(shop, event.order_id)
        lines: dict[str, int] = {}
        for line in event.lines:
            lines[line.line_id] = lines.get(line.line_id, 0) + line.quantity
        record.refunds = {**record.refunds, event.refund_id: lines}
        outcome = _converge(shop, record, customer=None, now=now)
        record.save()
        referral_order_seen(shop=shop, record=record, discount_codes=None, now=now)
    return outcome


def guest_orders_claim(*, shop: Shop, customer: CustomerData, now: datetime | None = None) -> int:
    """A shopper opened an account: their guest orders (same email, any case) now earn."""
    if not customer.email or not Program.objects.get(shop=shop).guest_orders_earn:
        return 0
    ids = list(
        OrderRecord.objects.filter(
            shop=shop, member__isnull=True, platform_customer_id="", email__iexact=customer.email
        ).values_list("pk", flat=True)
    )
    claimed = 0
    for pk in ids:
        with transaction.atomic():
            record = OrderRecord.objects.select_for_update().get(pk=pk)
            if record.member_id is not None:
                continue
            record.platform_customer_id = customer.platform_customer_id
            _converge(shop, record, customer=customer, now=now)
            record.save()
            claimed += 1
    return claimed


def order_records_redact(
    *, shop: Shop, platform_customer_id: str, order_ids: tuple[str, ...]
) -> int:
    """Erase who placed these orders (the customer's, and guest orders named in the request);
    the amounts and awards stay, anonymous."""
    from django.db.models import Q

    hidden = redacted_customer_id(shop=shop, platform_customer_id=platform_customer_id)
    records = OrderRecord.objects.filter(
        Q(platform_customer_id=platform_customer_id) | Q(order_id__in=list(order_ids)), shop=shop
    )
    # Their addresses' fingerprints go too (the amounts and awards need none of them).
    for record in records.exclude(facts__isnull=True).only("pk", "facts"):
        if record.facts.get("address_keys"):
            record.facts = {**record.facts, "address_keys": []}
            record.save(update_fields=["facts"])
    return records.update(platform_customer_id=hidden, email="", email_key="")


def order_award_target(*, record: OrderRecord) -> list[engine.AwardLine]:
    """What the order earns now, from its facts and its frozen snapshot."""
    if record.snapshot is None or not _eligible(record, record.snapshot["trigger"]):
        return []
    terms, rules, member = _load_snapshot(record.snapshot)
    return engine.award(terms=terms, rules=rules, member=member, order=_engine_order(record))


# --- internals ------------------------------------------------------------------------------


def _locked_record(shop: Shop, order_id: str) -> OrderRecord:
    # Insert-and-ignore (ON CONFLICT DO NOTHING: no savepoint, no failed statement), then lock.
    OrderRecord.objects.bulk_create(
        [OrderRecord(shop=shop, order_id=order_id)], ignore_conflicts=True
    )
    return OrderRecord.objects.select_for_update().get(shop=shop, order_id=order_id)


def order_address_key(line: str) -> str:
    """A keyed fingerprint of a normalised address line (OrderData.addresses): equal lines give
    equal keys, and the address cannot be read back from it (SECRET_KEY)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"address:{line}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def _facts(order: OrderData, *, before: dict | None = None) -> dict:
    """What the order says, for the award to be computed from. A line's collections and tags
    are frozen once known: a refund or an edit later is valued with the product as it was
    when the line was bought, not as the merchant has filed it since."""
    known = {line["line_id"]: line for line in (before or {}).get("lines", [])}

    def product_facts(line) -> dict:
        seen = known.get(line.line_id) or {}
        if seen.get("collections") or seen.get("tags"):
            return {"collections": seen.get("collections", []), "tags": seen.get("tags", [])}
        return {"collections": list(line.collections), "tags": list(line.tags)}

    return {
        "name": order.name,
        "currency": order.currency,
        "shipping": str(order.shipping),
        "tax": str(order.tax),
        "source_name": order.source_name,
        "test": order.test,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "address_keys": sorted({order_address_key(a) for a in order.addresses})
        or (before or {}).get("address_keys", []),
        "lines": [
            {
                "line_id": line.line_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "current_quantity": line.current_quantity,
                "unit_price": str(line.unit_price),
                "discount": str(line.total_discount),
                "gift_card": line.gift_card,
                **product_facts(line),
            }
            for line in order.lines
        ],
    }


def _trigger_met(record: OrderRecord, trigger: str) -> bool:
    """Paid (or fulfilled, per the program), and a real order: the customer is a buyer."""
    if not record.facts or record.facts.get("test"):
        return False
    return bool(record.fulfilled_at if trigger == EarnTrigger.ORDER_FULFILLED else record.paid_at)


def _eligible(record: OrderRecord, trigger: str) -> bool:
    return _trigger_met(record, trigger) and not record.cancelled_at


def _engine_order(record: OrderRecord) -> engine.Order:
    refunded: dict[str, int] = {}
    for lines in record.refunds.values():
        for line_id, quantity in lines.items():
            refunded[line_id] = refunded.get(line_id, 0) + int(quantity)
    facts = record.facts
    placed = facts.get("created_at")
    return engine.Order(
        lines=tuple(
            engine.Line(
                line_id=line["line_id"],
                # Refunds and edits both lower what is kept; whichever we heard of counts.
                quantity=max(
                    min(
                        line["current_quantity"],
                        line["quantity"] - refunded.get(line["line_id"], 0),
                    ),
                    0,
                ),
                original_quantity=line["quantity"],
                unit_price=Decimal(line["unit_price"]),
                discount=Decimal(line["discount"]),
                product_id=line["product_id"],
                sku=line["sku"],
                collections=frozenset(
                    _target_values(engine.RuleTarget.COLLECTION, line.get("collections", []))
                ),
                tags=frozenset(_target_values(engine.RuleTarget.TAG, line.get("tags", []))),
                gift_card=line["gift_card"],
            )
            for line in facts.get("lines", [])
        ),
        placed_at=datetime.fromisoformat(placed) if placed else record.paid_at,
        shipping=Decimal(facts.get("shipping", "0")),
        tax=Decimal(facts.get("tax", "0")),
        source_name=facts.get("source_name", ""),
        test=bool(facts.get("test")),
    )


def _net_spend(record: OrderRecord) -> tuple[Decimal, int]:
    """What the buyer kept of a paid order (tier qualification): goods after discounts, in shop
    money, without gift cards, less refunds and removed items; and how many items."""
    if not record.paid_at or record.cancelled_at or not record.facts or record.facts.get("test"):
        return Decimal("0"), 0
    lines = [line for line in _engine_order(record).lines if not line.gift_card]
    amount = sum((line.amount for line in lines), Decimal("0"))
    return amount.quantize(Decimal("0.01"), ROUND_HALF_UP), sum(line.quantity for line in lines)


def _converge(shop: Shop, record: OrderRecord, *, customer: CustomerData | None, now) -> str:
    program = Program.objects.get(shop=shop)  # fresh: the merchant may have changed it
    eligible = _eligible(record, program.earn_trigger)
    # Enrolment does not depend on arrival order: a cancelled order's buyer is enrolled
    # whether the cancellation came before or after the payment.
    if record.member_id is None and _trigger_met(record, program.earn_trigger):
        record.member = _member_for(shop, program, record, customer)
    if eligible and record.snapshot is None:
        record.snapshot = _take_snapshot(shop, program, record)
    lines = order_award_target(record=record)
    record.award_lines = [dataclasses.asdict(line) for line in lines]
    record.net_amount, record.net_items = _net_spend(record)
    target = engine.total(lines)
    if record.member_id is None:
        return f"target {target} points; no member yet" if target else "nothing to award"
    moved = _move_ledger(program, record, target, now=now)
    return f"awarded {record.awarded} points ({moved:+d})"


def _member_for(
    shop: Shop, program: Program, record: OrderRecord, customer: CustomerData | None
) -> Member | None:
    if record.platform_customer_id.startswith(REDACTED_PREFIX):
        return None  # erased at the customer's request
    if record.platform_customer_id:
        customer_id = record.platform_customer_id
        erased = redacted_customer_id(shop=shop, platform_customer_id=customer_id)
        # One read finds a returning customer (no insert to fail: most orders) or the
        # tombstone of one erased at their request (never enrolled again).
        known = Member.objects.filter(
            shop=shop, platform_customer_id__in=[customer_id, erased]
        ).first()
        if known is not None:
            return known if known.status == MemberStatus.ACTIVE else None
        member, created = member_get_or_create(
            shop=shop,
            platform_customer_id=customer_id,
            email=(customer.email if customer else record.email),
            first_name=customer.first_name if customer else "",
            last_name=customer.last_name if customer else "",
        )
        if created:
            action_claim_if_rewarded(shop=shop, member=member, action=ActionKind.SIGNUP)
        return member if member.status == MemberStatus.ACTIVE else None
    if program.guest_orders_earn and record.email:
        matches = list(
            Member.objects.filter(
                shop=shop, email__iexact=record.email, status=MemberStatus.ACTIVE
            )[:2]
        )
        return matches[0] if len(matches) == 1 else None
    return None


def _take_snapshot(shop: Shop, program: Program, record: OrderRecord) -> dict:
    paid_before = 0
    if record.member_id:
        # Two orders of one member at the same moment must not both be its first (or its
        # Nth): the member's lock (which crediting takes next anyway) orders their counts.
        member_lock(member_id=record.member_id)
        paid_before = (
            OrderRecord.objects.filter(member_id=record.member_id, snapshot__isnull=False)
            .exclude(pk=record.pk)
            .count()
        )
    rules = [_rule(r) for r in EarnRule.objects.filter(shop=shop, enabled=True).order_by("pk")]
    # Tiers are keyed by name, as campaign rules' `tiers` name them.
    tier = Tier.objects.filter(members=record.member_id).first() if record.member_id else None
    return order_snapshot(program=program, rules=rules, tier=tier, paid_orders_before=paid_before)


def order_snapshot(
    *, program: Program, rules: list[engine.Rule], tier: Tier | None, paid_orders_before: int
) -> dict:
    """What an order's award is frozen with when it first earns: the program's terms, the
    rules, and the member's tier and count of earlier paid orders."""
    return {
        "trigger": program.earn_trigger,
        "pending_days": program.pending_days,
        "terms": {
            "points_per_unit": str(program.points_per_currency_unit),
            "rounding": program.rounding,
            "include_shipping": program.include_shipping,
            "include_tax": program.include_tax,
            "include_gift_cards": program.include_gift_cards,
            "minimum_order": str(program.minimum_order),
            "earn_on_pos": program.earn_on_pos,
            "earn_on_draft": program.earn_on_draft,
        },
        "rules": [_dump_rule(r) for r in rules],
        # The seam for tiers: the tier and its multiplier as they were when the order earned.
        "member": {
            "tier": tier.name if tier else None,
            "tier_multiplier": str(tier.multiplier) if tier else "1",
            "paid_orders_before": paid_orders_before,
        },
    }


def _rule(rule: EarnRule) -> engine.Rule:
    return engine.Rule(
        id=rule.pk,
        name=rule.name,
        kind=engine.RuleKind(rule.kind),
        effect=engine.RuleEffect(rule.effect),
        target=engine.RuleTarget(rule.target) if rule.target else None,
        values=frozenset(_target_values(rule.target, rule.values)),
        multiplier=rule.multiplier,
        points=rule.points,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        tiers=frozenset(rule.tiers),
        every_nth=rule.every_nth,
        first_order=rule.first_order,
    )


def _target_values(target: str | None, values) -> list[str]:
    """Rule values and line facts in one spelling, so that they match.

    Product and collection ids are plain ids; a platform's global id is accepted for them and
    read as its last segment (`gid://shopify/Collection/841564295` is `841564295`). Tags
    match without regard to case or surrounding spaces, as merchants type them."""
    out = []
    for value in values:
        text = str(value).strip()
        if target in (engine.RuleTarget.PRODUCT, engine.RuleTarget.COLLECTION):
            if text.startswith("gid://"):
                text = text.split("?", 1)[0].rsplit("/", 1)[-1]
        elif target == engine.RuleTarget.TAG:
            text = text.casefold()
        if text:
            out.append(text)
    return out


def _dump_rule(rule: engine.Rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind.value,
        "effect": rule.effect.value,
        "target": rule.target.value if rule.target else None,
        "values": sorted(rule.values),
        "multiplier": str(rule.multiplier),
        "points": rule.points,
        "starts_at": rule.starts_at.isoformat() if rule.starts_at else None,
        "ends_at": rule.ends_at.isoformat() if rule.ends_at else None,
        "tiers": sorted(rule.tiers),
        "every_nth": rule.every_nth,
        "first_order": rule.first_order,
    }


def _load_snapshot(snapshot: dict) -> tuple[engine.Terms, list[engine.Rule], engine.Member]:
    t = snapshot["terms"]
    terms = engine.Terms(
        points_per_unit=Decimal(t["points_per_unit"]),
        rounding=engine.Rounding(t["rounding"]),
        include_shipping=t["include_shipping"],
        include_tax=t["include_tax"],
        include_gift_cards=t["include_gift_cards"],
        minimum_order=Decimal(t["minimum_order"]),
        earn_on_pos=t["earn_on_pos"],
        earn_on_draft=t["earn_on_draft"],
    )
    rules = [
        engine.Rule(
            id=r["id"],
            name=r["name"],
            kind=engine.RuleKind(r["kind"]),
            effect=engine.RuleEffect(r["effect"]),
            target=engine.RuleTarget(r["target"]) if r["target"] else None,
            values=frozenset(_target_values(r["target"], r["values"])),
            multiplier=Decimal(r["multiplier"]),
            points=r["points"],
            starts_at=datetime.fromisoformat(r["starts_at"]) if r["starts_at"] else None,
            ends_at=datetime.fromisoformat(r["ends_at"]) if r["ends_at"] else None,
            tiers=frozenset(r["tiers"]),
            every_nth=r["every_nth"],
            first_order=r["first_order"],
        )
        for r in snapshot["rules"]
    ]
    m = snapshot["member"]
    member = engine.Member(
        tier=m["tier"],
        tier_multiplier=Decimal(m["tier_multiplier"]),
        paid_orders_before=m["paid_orders_before"],
    )
    return terms, rules, member


def _move_ledger(program: Program, record: OrderRecord, target: int, *, now) -> int:
    """Credit or take back the difference between `target` and what the order holds."""
    delta = target - record.awarded
    member = record.member
    name = record.facts.get("name") or record.order_id
    if delta > 0:
        available_at = order_available_at(record=record, program=program)
        record.ledger_moves += 1
        key = f"order:{record.order_id}:move:{record.ledger_moves}"
        earned_at = now or timezone.now()
        ledger_credit(
            member=member,
            points=delta,
            idempotency_key=key,
            source_type="order",
            source_id=record.order_id,
            reason=f"Order {name}",
            available_at=available_at,
            expires_at=credit_expires_at(
                program=program, earned_at=earned_at, available_at=available_at
            ),
            now=earned_at,
        )
        _repay_debt(member, key=key, now=now)
    elif delta < 0:
        need = -delta
        credits = LedgerEntry.objects.filter(
            shop_id=record.shop_id,
            member=member,
            source_type="order",
            source_id=record.order_id,
            kind=EntryKind.EARN,
        ).order_by("-pk")
        for entry in credits:
            take = min(need, entry.points - entry.reversed_points)
            if take <= 0:
                continue
            record.ledger_moves += 1
            ledger_reverse(
                entry=entry,
                points=take,
                allow_shortfall=True,
                shortfall_as_debt=program.shortfall_policy == ShortfallPolicy.DEBT,
                idempotency_key=f"order:{record.order_id}:move:{record.ledger_moves}",
                reason=f"Order {name}: refunded, edited or cancelled",
                now=now,
            )
            need -= take
            if need == 0:
                break
    record.awarded = target
    return delta


def _repay_debt(member: Member, *, key: str, now) -> None:
    """Points spent before a refund took them back are owed; new spendable points repay them."""
    if member.points_debt > 0:
        ledger_repay_debt(member=member, idempotency_key=f"{key}:repay", now=now)
