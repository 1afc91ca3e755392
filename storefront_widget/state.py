"""What the storefront widget shows: the contract's `state` answer."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from loyalty.earning.actions import active_action_rules
from loyalty.earning.models import EarnRule
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Program, Shop


def ways_to_earn(*, shop: Shop, program: Program) -> list[dict]:
    """The live rules, in the shopper's terms: orders first, then campaigns and milestones,
    then actions."""
    now = timezone.now()
    per_unit = program.points_per_currency_unit.normalize()
    ways = [
        {
            "kind": "order",
            "name": f"{per_unit:f} {program.points_name} per {shop.currency} spent",
            "points": int(per_unit) if per_unit == int(per_unit) else float(per_unit),
        }
    ]
    rules = EarnRule.objects.filter(shop=shop, enabled=True).filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    )
    for rule in rules.exclude(effect="exclude").order_by("kind", "pk"):
        way = {"kind": rule.kind, "name": rule.name, "points": rule.points}
        if rule.effect == "multiply":
            way["multiplier"] = float(rule.multiplier)
        ways.append(way)
    for rule in active_action_rules(shop=shop, now=now).order_by("pk"):
        ways.append(
            {"kind": "action", "action": rule.action, "name": rule.name, "points": rule.points}
        )
    return ways


def storefront_state(*, shop: Shop, platform_customer_id: str | None) -> dict:
    program = Program.objects.get(shop=shop)
    customer = None
    if platform_customer_id:
        member = (
            Member.objects.filter(shop=shop, platform_customer_id=platform_customer_id)
            .exclude(status=MemberStatus.REDACTED)
            .first()
        )
        customer = {
            "id": platform_customer_id,
            "points": {
                "balance": member.points_balance if member else 0,
                "pending": member.points_pending if member else 0,
                "lifetime_earned": member.lifetime_earned if member else 0,
            },
            "tier": None,
        }
    return {
        "program": {"name": program.name, "points_name": program.points_name},
        "customer": customer,
        # The rewards catalogue arrives with its own issue.
        "rewards": [],
        "ways_to_earn": ways_to_earn(shop=shop, program=program),
    }
