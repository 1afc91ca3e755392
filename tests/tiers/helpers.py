"""Shared givens for the tier tests: points and orders placed at a chosen time."""

from datetime import datetime
from decimal import Decimal

from loyalty.earning.models import OrderRecord
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member

_keys = iter(range(1, 10**9))


def earned(member: Member, points: int, at: datetime, *, source_type: str = "order"):
    """A credit of `points` written at `at`, as an order or an action would write it."""
    return ledger_credit(
        member=member,
        points=points,
        idempotency_key=f"test:{next(_keys)}",
        source_type=source_type,
        now=at,
    ).entry


def paid_order(member: Member, amount: str, at: datetime, *, items: int = 1) -> OrderRecord:
    """A paid order record as `_converge` leaves it: what the buyer kept and how many items."""
    return OrderRecord.objects.create(
        shop_id=member.shop_id,
        order_id=f"test-{next(_keys)}",
        member=member,
        paid_at=at,
        net_amount=Decimal(amount),
        net_items=items,
    )
