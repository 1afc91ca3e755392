"""Many first-seen orders at once (a sale-day burst): the same order records, awards, members
and ledger entries as `services.order_event_received` one order at a time, written with a
handful of set-based statements per batch instead of some twenty-five per order.

The one-by-one path stays the reference, and everything this path does not plainly cover is
left to it: an order already on record (a second event: refund, edit, cancellation, duplicate),
a guest order, the second event of one order in the batch, a buyer who is not an active member
in good standing (redacted, or owing points), an order using a friend's referral code. Those
come back as `None` for the caller to process one by one.

Concurrency: the caller holds one transaction for the batch. Existing members are locked in
primary-key order (as every member lock is); new members and order records are inserted
without "on conflict": another worker enrolling the same customer, or recording the same order,
at the same moment makes the insert fail, the caller rolls the batch back and processes its
deliveries one by one. Nothing is written twice, and nothing is lost.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from loyalty.core.db import bulk_insert, update_by_id
from loyalty.core.events import OrderEvent
from loyalty.earning import engine
from loyalty.earning.actions import action_claim_if_rewarded, active_action_rules
from loyalty.earning.models import ActionKind, EarnRule, OrderRecord
from loyalty.earning.pending import order_available_at
from loyalty.earning.services import (
    _eligible,
    _net_spend,
    _rule,
    _trigger_met,
    order_award_target,
    order_record_add_event,
    order_snapshot,
)
from loyalty.expiry.services import credit_expires_at
from loyalty.ledger.models import EntryKind, EntryState, LedgerEntry
from loyalty.members.freshness import members_changed
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_details_changed, redacted_customer_id
from loyalty.referrals.selectors import referral_codes_claimed
from loyalty.shops.models import Program, Shop
from loyalty.tiers.models import Tier


@dataclasses.dataclass
class _Credit:
    balance: int = 0
    pending: int = 0
    earned: int = 0


def order_events_received(
    *, shop: Shop, events: list[OrderEvent], now: datetime | None = None
) -> list[str | None]:
    """Apply first-seen order events of `shop`; one outcome per event, `None` for those left
    to `services.order_event_received`. Runs in the caller's transaction, which must roll back
    (and fall back to one by one) if this raises."""
    now = now or timezone.now()
    outcomes: list[str | None] = [None] * len(events)
    chosen = _first_sightings(shop, events)
    if not chosen:
        return outcomes
    program = Program.objects.get(shop=shop)
    members, refused = _locked_members(shop, [events[i] for i in chosen])
    chosen = [i for i in chosen if _customer_id(events[i]) not in refused]

    records: dict[int, OrderRecord] = {}
    for i in chosen:
        record = OrderRecord(shop=shop, order_id=events[i].order.order_id)
        order_record_add_event(record=record, event=events[i])
        records[i] = record
    enrolled = _enrol(shop, records, events, members, refused, program)

    rules = [_rule(r) for r in EarnRule.objects.filter(shop=shop, enabled=True).order_by("pk")]
    tiers = {tier.pk: tier for tier in Tier.objects.filter(shop=shop)}
    paid_before = _paid_orders_before(members)
    credits: dict[int, _Credit] = {}
    entries: list[LedgerEntry] = []
    for i, record in records.items():
        member = members.get(record.platform_customer_id)
        if member is not None and _trigger_met(record, program.earn_trigger):
            record.member = member
        if _eligible(record, program.earn_trigger):
            record.snapshot = order_snapshot(
                program=program,
                rules=rules,
                tier=tiers.get(member.tier_id),
                paid_orders_before=paid_before[member.pk],
            )
            paid_before[member.pk] += 1  # the member's next order in this batch comes after
        lines = order_award_target(record=record)
        record.award_lines = [dataclasses.asdict(line) for line in lines]
        record.net_amount, record.net_items = _net_spend(record)
        target = engine.total(lines)
        if record.member is None:
            outcomes[i] = f"target {target} points; no member yet" if target else "nothing to award"
            continue
        if target > 0:
            entries.append(_credit_entry(program, record, target, now=now))
            credit = credits.setdefault(record.member.pk, _Credit())
            state = entries[-1].state
            credit.earned += target
            if state == EntryState.PENDING:
                credit.pending += target
            else:
                credit.balance += target
        record.awarded = target
        outcomes[i] = f"awarded {target} points ({target:+d})"

    signup_rewarded = bool(enrolled) and (
        active_action_rules(shop=shop, now=now).filter(action=ActionKind.SIGNUP).exists()
    )
    for member in enrolled if signup_rewarded else ():  # the signup bonus first, as one by one
        action_claim_if_rewarded(shop=shop, member=member, action=ActionKind.SIGNUP, now=now)
    members_changed(pairs=[(shop.pk, m.platform_customer_id) for m in members.values()])
    bulk_insert(OrderRecord, list(records.values()))
    bulk_insert(LedgerEntry, entries)
    _apply_credits(credits, now=now)
    return outcomes


def _customer_id(event: OrderEvent) -> str:
    return event.order.customer.platform_customer_id if event.order.customer else ""


def _first_sightings(shop: Shop, events: list[OrderEvent]) -> list[int]:
    """Indexes of events about orders not on record yet, of a known customer, the first
    event of each order in the batch."""
    seen: set[str] = set()
    candidates = []
    for i, event in enumerate(events):
        order_id = event.order.order_id
        if _customer_id(event) and order_id not in seen:
            seen.add(order_id)
            candidates.append(i)
    known = set(
        OrderRecord.objects.filter(
            shop=shop, order_id__in=[events[i].order.order_id for i in candidates]
        ).values_list("order_id", flat=True)
    )
    # An order using a friend's referral code credits the referrer: one by one.
    referral = referral_codes_claimed(
        shop=shop, codes=[code for i in candidates for code in events[i].order.discount_codes]
    )
    return [
        i
        for i in candidates
        if events[i].order.order_id not in known
        and not referral & {c.strip().upper() for c in events[i].order.discount_codes if c}
    ]


def _locked_members(shop: Shop, events: list[OrderEvent]) -> tuple[dict[str, Member], set[str]]:
    """The buyers' members, locked in primary-key order, with their details brought in step
    with the order's customer; and the customer ids this path leaves alone (erased, not
    active, owing points)."""
    customers: dict[str, list] = {}
    for event in events:  # each customer's details as the orders give them, in turn
        customers.setdefault(_customer_id(event), []).append(event.order.customer)
    erased = {redacted_customer_id(shop=shop, platform_customer_id=c): c for c in customers}
    rows = (
        Member.objects.select_for_update(of=("self",))
        .filter(shop=shop, platform_customer_id__in=[*customers, *erased])
        .order_by("pk")
    )
    members: dict[str, Member] = {}
    refused: set[str] = set()
    for member in rows:
        if member.platform_customer_id in erased:
            refused.add(erased[member.platform_customer_id])
        elif member.status != MemberStatus.ACTIVE or member.points_debt:
            refused.add(member.platform_customer_id)
        else:
            members[member.platform_customer_id] = member
    for customer_id, member in members.items():
        changed: dict[str, str] = {}
        for customer in customers[customer_id]:
            changes = member_details_changed(member=member, customer=customer)
            for name, value in changes.items():
                setattr(member, name, value)
            changed.update(changes)
        if changed:  # most orders repeat what we know: no write
            Member.objects.filter(pk=member.pk).update(**changed, updated_at=timezone.now())
    return members, refused


def _enrol(
    shop: Shop,
    records: dict[int, OrderRecord],
    events: list[OrderEvent],
    members: dict[str, Member],
    refused: set[str],
    program: Program,
) -> list[Member]:
    """Enrol the buyers of paid orders who are not members yet (auto-enrolment); adds them to
    `members` and returns them (their signup bonus comes after their order's credit)."""
    new: dict[str, Member] = {}
    for i, record in records.items():
        customer = events[i].order.customer
        customer_id = customer.platform_customer_id
        if customer_id in members or customer_id in new or customer_id in refused:
            continue
        if _trigger_met(record, program.earn_trigger):
            new[customer_id] = Member(
                shop=shop,
                platform_customer_id=customer_id,
                email=(customer.email or "").strip(),
                first_name=customer.first_name,
                last_name=customer.last_name,
            )
    if not new:
        return []
    created = Member.objects.bulk_create(sorted(new.values(), key=lambda m: m.platform_customer_id))
    members.update({member.platform_customer_id: member for member in created})
    return created


def _paid_orders_before(members: dict[str, Member]) -> Counter:
    """Each member's paid orders on record before this batch (milestones count them)."""
    counts = (
        OrderRecord.objects.filter(
            member_id__in=[m.pk for m in members.values()], snapshot__isnull=False
        )
        .values("member_id")
        .annotate(n=Count("pk"))
    )
    return Counter({row["member_id"]: row["n"] for row in counts})


def _credit_entry(program: Program, record: OrderRecord, points: int, *, now) -> LedgerEntry:
    """The entry `ledger_credit` would write for the order's first move."""
    available_at = order_available_at(record=record, program=program)
    record.ledger_moves = 1
    pending = available_at is not None and available_at > now
    return LedgerEntry(
        shop_id=record.shop_id,
        member=record.member,
        kind=EntryKind.EARN,
        state=EntryState.PENDING if pending else EntryState.ACTIVE,
        points=points,
        remaining=points,
        idempotency_key=f"order:{record.order_id}:move:1",
        source_type="order",
        source_id=record.order_id,
        reason=f"Order {record.facts.get('name') or record.order_id}",
        actor="system",
        created_at=now,
        available_at=available_at,
        expires_at=credit_expires_at(program=program, earned_at=now, available_at=available_at),
    )


def _apply_credits(credits: dict[int, _Credit], *, now) -> None:
    """Every member's counters moved in one statement (the rows are locked, or new)."""
    update_by_id(
        table="members_member",
        per_row={
            column: {pk: getattr(credit, field) for pk, credit in credits.items()}
            for column, field in (
                ("points_balance", "balance"),
                ("points_pending", "pending"),
                ("lifetime_earned", "earned"),
            )
        },
        add=True,
        same="last_activity_at = %s",
        same_params=[now],
    )
