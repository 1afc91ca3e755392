"""What the storefront widget shows: the contract's `state` answer."""

from __future__ import annotations

from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Shop


def _points_phrase(program) -> str:
    per_unit = program.points_per_currency_unit.normalize()
    return f"{per_unit:f} {program.points_name} per {program.shop.currency} spent"


def storefront_state(*, shop: Shop, platform_customer_id: str | None) -> dict:
    program = shop.program
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
        # The rewards catalogue and earn rules arrive with their own issues.
        "rewards": [],
        "ways_to_earn": [
            {
                "name": f"Place an order: {_points_phrase(program)}",
                "points": int(program.points_per_currency_unit),
            }
        ],
    }
