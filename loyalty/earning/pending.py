"""When an order's points become spendable: shared by the one-by-one path, the batch path and
the referrer's points for a friend's order (its own module: referrals import it, and the
earning services import referrals)."""

from __future__ import annotations

from datetime import datetime, timedelta

from loyalty.earning.models import OrderRecord
from loyalty.shops.models import Program


def order_available_at(*, record: OrderRecord, program: Program) -> datetime | None:
    """The pending days frozen in the order's snapshot (the program's when it has none) after
    payment; None: spendable at once."""
    pending_days = (record.snapshot or {}).get("pending_days", program.pending_days)
    if pending_days and record.paid_at:
        return record.paid_at + timedelta(days=pending_days)
    return None
