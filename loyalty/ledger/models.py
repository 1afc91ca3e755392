"""The points ledger: append-only entries, and the lots that credits open.

Every credit is a *lot*: `remaining` says how much of it is still held (pending or spendable).
Debits, expiries and reversals move points out of (or back into) lots, and each movement is a
`LotMovement` row, so that any entry can be undone exactly and every lot's `remaining` can be
recomputed. Only `state`, `remaining` and `reversed_points` of an entry ever change (the lot
bookkeeping), and only through `loyalty.ledger.services`.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from loyalty.members.models import Member
from loyalty.shops.models import Shop


class AppendOnlyError(Exception):
    """Ledger rows are never updated or deleted; corrections are new entries."""


class EntryKind(models.TextChoices):
    EARN = "earn", "Earn"
    REDEEM = "redeem", "Redeem"
    ADJUST = "adjust", "Adjust"
    EXPIRE = "expire", "Expire"
    REVERSE = "reverse", "Reverse"


class EntryState(models.TextChoices):
    PENDING = "pending", "Pending"  # a credit not yet spendable (available_at in the future)
    ACTIVE = "active", "Active"
    VOID = "void", "Void"  # a pending credit reversed in full before it became spendable


# source_type of the adjustments that repay a member's `points_debt`.
DEBT_SOURCE = "debt"

LOT_BOOKKEEPING_FIELDS = frozenset({"state", "remaining", "reversed_points"})


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes. Deleting a whole shop (privacy redact) cascades
    through Django's collector, which does not go through this queryset."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be deleted.")

    def _update_lot_bookkeeping(self, **kwargs) -> int:
        unexpected = set(kwargs) - LOT_BOOKKEEPING_FIELDS
        if unexpected:
            raise AppendOnlyError(f"Only lot bookkeeping may change, not {sorted(unexpected)}.")
        return super().update(**kwargs)


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted.")


class LedgerEntry(AppendOnlyModel):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    # RESTRICT: a member with history cannot be deleted alone (redaction anonymises instead),
    # but deleting the whole shop still cascades.
    member = models.ForeignKey(Member, on_delete=models.RESTRICT, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    state = models.CharField(max_length=16, choices=EntryState.choices, default=EntryState.ACTIVE)
    points = models.IntegerField(help_text="Signed: positive credits, negative debits.")
    # Lot bookkeeping (credits only): points of this lot still held by the member.
    remaining = models.IntegerField(default=0)
    # How much of this entry later reversals have undone (including any shortfall).
    reversed_points = models.IntegerField(default=0)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="reversals"
    )
    # Points a credit reversal could not take back because they were already spent.
    shortfall = models.IntegerField(default=0)
    # Of the shortfall, what the member owes (the program's "debt" shortfall policy).
    debt = models.IntegerField(default=0)
    # Points a credit reversal did not take back because they had already expired from its lot.
    already_expired = models.IntegerField(default=0)
    source_type = models.CharField(max_length=64)
    source_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255)
    reason = models.TextField(blank=True)
    actor = models.CharField(
        max_length=255, blank=True, help_text="Who caused it: system, staff, API key."
    )
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"], name="ledger_idempotency_key_unique_per_shop"
            ),
            models.CheckConstraint(
                condition=~Q(points=0) | Q(kind=EntryKind.REVERSE), name="ledger_points_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(remaining__gte=0)
                & (Q(remaining=0) | Q(remaining__lte=models.F("points"))),
                name="ledger_remaining_within_points",
            ),
            models.CheckConstraint(
                condition=Q(reversed_points__gte=0), name="ledger_reversed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(shortfall__gte=0), name="ledger_shortfall_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(debt__gte=0, debt__lte=models.F("shortfall")),
                name="ledger_debt_within_shortfall",
            ),
            models.CheckConstraint(
                condition=Q(already_expired__gte=0), name="ledger_already_expired_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind=EntryKind.REVERSE, reverses__isnull=False)
                | (~Q(kind=EntryKind.REVERSE) & Q(reverses__isnull=True)),
                name="ledger_reverse_names_its_entry",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "created_at", "id"], name="ledger_member_history"),
            models.Index(
                fields=["member", "created_at", "id"],
                condition=Q(remaining__gt=0, state=EntryState.ACTIVE),
                name="ledger_open_lots",
            ),
            models.Index(
                fields=["available_at"],
                condition=Q(state=EntryState.PENDING),
                name="ledger_pending_due",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(remaining__gt=0, state=EntryState.ACTIVE, expires_at__isnull=False),
                name="ledger_expiring_lots",
            ),
            models.Index(fields=["shop", "source_type", "source_id"], name="ledger_source"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} ({self.idempotency_key})"

    @property
    def is_credit(self) -> bool:
        return self.points > 0 and self.kind in (EntryKind.EARN, EntryKind.ADJUST)


class LotMovement(AppendOnlyModel):
    """Points moved out of a lot (positive) or back into it (negative) by an entry."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(LedgerEntry, on_delete=models.CASCADE, related_name="movements")
    lot = models.ForeignKey(LedgerEntry, on_delete=models.CASCADE, related_name="lot_movements")
    points = models.IntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="lot_movement_points_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} of lot {self.lot_id} by entry {self.entry_id}"
