"""Reads of the ledger. A member's balance is its cached counters: O(1) however long the ledger."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet, Sum

from loyalty.ledger.models import DEBT_SOURCE, EntryKind, EntryState, LedgerEntry, LotMovement
from loyalty.members.models import Member
from loyalty.shops.models import Shop


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    pending: int
    lifetime_earned: int
    lifetime_spent: int


def member_points(*, member: Member) -> PointsSummary:
    return PointsSummary(
        balance=member.points_balance,
        pending=member.points_pending,
        lifetime_earned=member.lifetime_earned,
        lifetime_spent=member.lifetime_spent,
    )


def member_history(*, shop: Shop, member: Member) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(shop=shop, member=member).order_by("-created_at", "-pk")


def member_ids_with_due_pending(*, now: datetime, limit: int, after_id: int = 0) -> list[int]:
    """In member order from `after_id`, so a batched run visits each member once."""
    rows = (
        LedgerEntry.objects.filter(
            state=EntryState.PENDING, available_at__lte=now, member_id__gt=after_id
        )
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()[:limit]
    )
    return list(rows)


def member_ids_with_expiring_lots(*, now: datetime, limit: int, after_id: int = 0) -> list[int]:
    """In member order from `after_id`, so a batched run visits each member once."""
    rows = (
        LedgerEntry.objects.filter(
            state=EntryState.ACTIVE,
            remaining__gt=0,
            expires_at__isnull=False,
            expires_at__lte=now,
            member_id__gt=after_id,
        )
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()[:limit]
    )
    return list(rows)


@dataclass(frozen=True)
class Mismatch:
    member_id: int
    shop_id: int
    field: str
    stored: int
    recomputed: int


_COUNTERS = (
    "points_balance",
    "points_pending",
    "lifetime_earned",
    "lifetime_spent",
    "points_debt",
)


def _recomputed_counters(member_ids: list[int]) -> dict[int, dict[str, int]]:
    """Counters from the entries alone, per member, in one grouped query."""
    is_credit = Q(points__gt=0, kind__in=[EntryKind.EARN, EntryKind.ADJUST])
    credit_reversal = Q(kind=EntryKind.REVERSE, reverses__points__gt=0)
    redeem_reversal = Q(kind=EntryKind.REVERSE, reverses__kind=EntryKind.REDEEM)
    repayment = Q(kind=EntryKind.ADJUST, source_type=DEBT_SOURCE, points__lt=0)
    repayment_reversal = Q(
        kind=EntryKind.REVERSE, reverses__kind=EntryKind.ADJUST, reverses__source_type=DEBT_SOURCE
    )
    rows = (
        LedgerEntry.objects.filter(member_id__in=member_ids)
        .values("member_id")
        .annotate(
            balance=Sum("remaining", filter=is_credit & Q(state=EntryState.ACTIVE), default=0),
            pending=Sum("remaining", filter=is_credit & Q(state=EntryState.PENDING), default=0),
            credited=Sum("points", filter=is_credit, default=0),
            # A credit reversal's points are what it took back; its shortfall, what it could not.
            uncredited=Sum("points", filter=credit_reversal, default=0),
            uncredited_shortfall=Sum("shortfall", filter=credit_reversal, default=0),
            uncredited_expired=Sum("already_expired", filter=credit_reversal, default=0),
            owed=Sum("debt", filter=credit_reversal, default=0),
            repaid=Sum("points", filter=repayment, default=0),
            unrepaid=Sum("points", filter=repayment_reversal, default=0),
            redeemed=Sum("points", filter=Q(kind=EntryKind.REDEEM), default=0),
            unredeemed=Sum("points", filter=redeem_reversal, default=0),
            net=Sum("points", default=0),
        )
    )
    result = {}
    for row in rows:
        result[row["member_id"]] = {
            "points_balance": row["balance"],
            "points_pending": row["pending"],
            "lifetime_earned": (
                row["credited"]
                + row["uncredited"]
                - row["uncredited_shortfall"]
                - row["uncredited_expired"]
            ),
            "lifetime_spent": -row["redeemed"] - row["unredeemed"],
            # Shortfalls recorded as debt, less what debt adjustments repaid (net of reversals).
            "points_debt": row["owed"] + row["repaid"] + row["unrepaid"],
            # Every point ever credited and not moved out is in some lot: the sum of all
            # entries must equal what the lots still hold.
            "_net": row["net"],
        }
    return result


def ledger_audit_members(*, members: list[Member]) -> list[Mismatch]:
    """Compare each member's cached counters with the ledger, and the ledger with its lots."""
    recomputed = _recomputed_counters([m.pk for m in members])
    empty = dict.fromkeys((*_COUNTERS, "_net"), 0)
    mismatches = []
    for member in members:
        expected = recomputed.get(member.pk, empty)
        for field in _COUNTERS:
            stored = getattr(member, field)
            if stored != expected[field]:
                mismatches.append(
                    Mismatch(member.pk, member.shop_id, field, stored, expected[field])
                )
        held = expected["points_balance"] + expected["points_pending"]
        if expected["_net"] != held:
            mismatches.append(
                Mismatch(member.pk, member.shop_id, "ledger_sum", held, expected["_net"])
            )
    mismatches.extend(_lot_mismatches([m.pk for m in members]))
    return mismatches


def _lot_mismatches(member_ids: list[int]) -> list[Mismatch]:
    """Each lot's `remaining` must equal its points less the net of its movements."""
    moved = dict(
        LotMovement.objects.filter(lot__member_id__in=member_ids)
        .values("lot_id")
        .annotate(net=Sum("points"))
        .values_list("lot_id", "net")
    )
    lots = LedgerEntry.objects.filter(
        member_id__in=member_ids, points__gt=0, kind__in=[EntryKind.EARN, EntryKind.ADJUST]
    ).values_list("pk", "member_id", "shop_id", "points", "remaining")
    return [
        Mismatch(member_id, shop_id, f"lot {pk} remaining", remaining, points - moved.get(pk, 0))
        for pk, member_id, shop_id, points, remaining in lots
        if remaining != points - moved.get(pk, 0)
    ]
