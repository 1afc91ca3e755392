"""Every change to a member's points goes through this module.

Each service runs in one transaction with the member's row locked (`_lock_member`), writes its
entry under a caller-supplied idempotency key (insert and catch the conflict: a replay returns the
original entry and changes nothing), moves points between lots, and updates the member's cached
counters with the same deltas. The database backs this up: balance >= 0 and one key per shop.

Vocabulary: a *credit* (earn, positive adjust) opens a *lot*; a *debit* (redeem, negative adjust,
expire) consumes lots oldest first; a *reversal* undoes all or part of one entry.

Activity (`Member.last_activity_at`, which inactivity expiry counts from) is the member earning
points (any credit) or redeeming them. Releases, expiries, reversals (refunds, failed
redemptions), negative adjustments and debt repayments are not the member's doing and leave it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from loyalty.ledger.models import DEBT_SOURCE, EntryKind, EntryState, LedgerEntry, LotMovement
from loyalty.members.freshness import member_changed
from loyalty.members.models import Member
from loyalty.members.services import member_lock


class LedgerError(Exception):
    code = "ledger_error"


class InsufficientPoints(LedgerError):
    code = "insufficient_points"

    def __init__(self, *, needed: int, available: int):
        super().__init__(f"Needs {needed} points; {available} available.")
        self.needed = needed
        self.available = available


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"


class NotReversible(LedgerError):
    code = "not_reversible"


@dataclasses.dataclass(frozen=True)
class LedgerResult:
    entry: LedgerEntry
    created: bool  # False when the idempotency key was replayed: nothing changed


@dataclasses.dataclass
class _Counters:
    balance: int = 0
    pending: int = 0
    earned: int = 0
    spent: int = 0
    debt: int = 0


CREDIT_KINDS = (EntryKind.EARN, EntryKind.ADJUST)
DEBIT_KINDS = (EntryKind.REDEEM, EntryKind.ADJUST, EntryKind.EXPIRE)
COUNTER_FIELDS = (
    "points_balance",
    "points_pending",
    "lifetime_earned",
    "lifetime_spent",
    "points_debt",
    "last_activity_at",
)


# --- public services --------------------------------------------------------------------------


def ledger_credit(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    source_type: str,
    source_id: str = "",
    kind: str = EntryKind.EARN,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    reason: str = "",
    actor: str = "system",
    now: datetime | None = None,
) -> LedgerResult:
    """Open a lot of `points`; pending until `available_at` when that is in the future."""
    _require_positive(points)
    if kind not in CREDIT_KINDS:
        raise ValueError(f"A credit is {CREDIT_KINDS}, not {kind!r}.")
    now = now or timezone.now()
    pending = available_at is not None and available_at > now
    with transaction.atomic():
        locked = _lock_member(member)
        entry, created = _insert_entry(
            locked,
            kind=kind,
            state=EntryState.PENDING if pending else EntryState.ACTIVE,
            points=points,
            remaining=points,
            idempotency_key=idempotency_key,
            source_type=source_type,
            source_id=source_id,
            reason=reason,
            actor=actor,
            created_at=now,
            available_at=available_at,
            expires_at=expires_at,
        )
        if created:
            delta = _Counters(
                earned=points, **({"pending": points} if pending else {"balance": points})
            )
            _apply_counters(locked, delta, now=now)
            _mirror_counters(member, locked)
    return LedgerResult(entry, created)


def ledger_debit(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    source_type: str,
    source_id: str = "",
    kind: str = EntryKind.REDEEM,
    reason: str = "",
    actor: str = "system",
    now: datetime | None = None,
) -> LedgerResult:
    """Spend `points` from the spendable balance, oldest lots first; refuse to overdraw."""
    _require_positive(points)
    if kind not in DEBIT_KINDS:
        raise ValueError(f"A debit is {DEBIT_KINDS}, not {kind!r}.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member(member)
        try:
            with transaction.atomic():  # a savepoint: a replay undoes the settling below
                _settle_locked(locked, now=now)
                entry = _insert_or_replay(
                    locked,
                    kind=kind,
                    points=-points,
                    idempotency_key=idempotency_key,
                    source_type=source_type,
                    source_id=source_id,
                    reason=reason,
                    actor=actor,
                    created_at=now,
                )
                # Raising from here on rolls the entry back too: a refused debit writes nothing.
                if locked.points_balance < points:
                    raise InsufficientPoints(needed=points, available=locked.points_balance)
                taken = _consume_lots(locked, entry=entry, points=points, exclude_lot_id=None)
                if taken < points:  # the cached balance disagrees with the lots: trust the lots
                    raise InsufficientPoints(needed=points, available=taken)
                redeem = kind == EntryKind.REDEEM
                delta = _Counters(balance=-points, spent=points if redeem else 0)
                _apply_counters(locked, delta, now=now, activity=redeem)
        except _Replay as replay:
            return LedgerResult(replay.entry, False)
        _mirror_counters(member, locked)
    return LedgerResult(entry, True)


def ledger_reverse(
    *,
    entry: LedgerEntry,
    idempotency_key: str,
    points: int | None = None,
    allow_shortfall: bool = False,
    shortfall_as_debt: bool = False,
    reason: str = "",
    actor: str = "system",
    now: datetime | None = None,
) -> LedgerResult:
    """Undo `points` of `entry` (all that is left of it by default).

    A credit is taken back from what is left in its own lot first. Points of the lot that have
    expired are gone already and are not taken again (recorded as `already_expired`). What
    remains (points that were spent) comes from the member's other spendable lots; when even
    that is not enough, the reversal fails with InsufficientPoints, or with `allow_shortfall`
    takes what it can and records the rest as the entry's `shortfall`, which
    `shortfall_as_debt` adds to the member's `points_debt`. A debit's points go back into
    exactly the lots it consumed.
    """
    if points is not None:
        _require_positive(points)
    if entry.kind == EntryKind.REVERSE:
        raise NotReversible("A reversal cannot itself be reversed; write a new entry.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member_id(entry.member_id)
        try:
            with transaction.atomic():  # a savepoint: a replay undoes the settling below
                _settle_locked(locked, now=now)
                original = LedgerEntry.objects.get(pk=entry.pk)  # fresh bookkeeping, under the lock
                reversible = abs(original.points) - original.reversed_points
                amount = reversible if points is None else points
                plan = _plan_reversal(locked, original, amount)
                reversal = _insert_or_replay(
                    locked,
                    kind=EntryKind.REVERSE,
                    points=plan.points,
                    shortfall=plan.shortfall,
                    debt=plan.shortfall if shortfall_as_debt else 0,
                    already_expired=plan.already_expired,
                    reverses=original,
                    idempotency_key=idempotency_key,
                    source_type=original.source_type,
                    source_id=original.source_id,
                    reason=reason,
                    actor=actor,
                    created_at=now,
                )
                # Raising from here on rolls the reversal back with the rest: nothing is written.
                if amount <= 0 or amount > reversible:
                    raise NotReversible(
                        f"{amount} points cannot be reversed: {reversible} of this entry are left."
                    )
                if plan.shortfall and not allow_shortfall:
                    raise InsufficientPoints(needed=amount, available=amount - plan.shortfall)
                if original.points > 0:
                    _reverse_credit(locked, original, reversal, amount, plan, now=now)
                else:
                    _reverse_debit(locked, original, reversal, amount, now=now)
                LedgerEntry.objects.filter(pk=original.pk)._update_lot_bookkeeping(
                    reversed_points=F("reversed_points") + amount
                )
        except _Replay as replay:
            return LedgerResult(replay.entry, False)
    return LedgerResult(reversal, True)


def ledger_release_due(*, member: Member, now: datetime | None = None) -> int:
    """Make pending lots whose `available_at` has come spendable; returns the points released."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member(member)
        released = _release_due_locked(locked, now=now)
        _mirror_counters(member, locked)
    return released


def ledger_expire_due(*, member: Member, now: datetime | None = None) -> list[LedgerEntry]:
    """Write an expire entry for each spendable lot past its `expires_at`; returns them."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member(member)
        expired = _expire_due_locked(locked, now=now)
        _mirror_counters(member, locked)
    return expired


def ledger_expire_balance(
    *,
    member: Member,
    idempotency_key: str,
    inactive_since: datetime,
    reason: str = "Points expired after a period without activity",
    now: datetime | None = None,
) -> LedgerResult | None:
    """Expire the member's whole spendable balance (one expire entry consuming every open lot),
    unless the member was active after `inactive_since` or points became spendable after it.

    Checked under the member's lock, so an earn or a redemption racing the expiry wins. Returns
    None when nothing was expired; a replayed key returns the first entry and changes nothing.
    """
    now = now or timezone.now()
    return _debit_worked_out_under_lock(
        member,
        points=lambda locked: (
            0 if _active_since(locked, since=inactive_since, now=now) else locked.points_balance
        ),
        kind=EntryKind.EXPIRE,
        source_type="inactivity",
        idempotency_key=idempotency_key,
        reason=reason,
        now=now,
    )


def ledger_repay_debt(
    *,
    member: Member,
    idempotency_key: str,
    reason: str = "Repays points spent before a refund took them back",
    now: datetime | None = None,
) -> LedgerResult | None:
    """Spend what the member can of their `points_debt` from the spendable balance (an adjust
    entry of source `debt`). Returns None when there is nothing owed or nothing to pay with."""
    return _debit_worked_out_under_lock(
        member,
        points=lambda locked: min(locked.points_debt, locked.points_balance),
        kind=EntryKind.ADJUST,
        source_type=DEBT_SOURCE,
        idempotency_key=idempotency_key,
        reason=reason,
        now=now or timezone.now(),
    )


# --- internals --------------------------------------------------------------------------------


def _debit_worked_out_under_lock(
    member: Member,
    *,
    points: Callable[[Member], int],
    kind: str,
    source_type: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
) -> LedgerResult | None:
    """The system's debits whose size depends on the settled balance (an idle balance's expiry,
    a debt repayment): `points(locked)` is worked out under the lock; nothing is written when it
    is 0. Such figures vary between calls, so a replay is recognised by its key alone."""
    with transaction.atomic():
        locked = _lock_member(member)
        try:
            with transaction.atomic():  # a savepoint: a replay undoes the settling below
                _settle_locked(locked, now=now)
                amount = points(locked)
                if amount <= 0:
                    # Nothing to take now, but a key already used answers with its entry.
                    _replay_if_used(locked, idempotency_key=idempotency_key, kind=kind)
                    _mirror_counters(member, locked)
                    return None
                entry = _insert_or_replay(
                    locked,
                    figures_vary=True,
                    kind=kind,
                    points=-amount,
                    idempotency_key=idempotency_key,
                    source_type=source_type,
                    source_id=str(locked.pk),
                    reason=reason,
                    actor="system",
                    created_at=now,
                )
                _consume_lots(locked, entry=entry, points=amount, exclude_lot_id=None)
                debt = -amount if source_type == DEBT_SOURCE else 0
                delta = _Counters(balance=-amount, debt=debt)
                _apply_counters(locked, delta, now=now, activity=False)
        except _Replay as replay:
            return LedgerResult(replay.entry, False)
        _mirror_counters(member, locked)
    return LedgerResult(entry, True)


def _replay_if_used(locked: Member, *, idempotency_key: str, kind: str) -> None:
    existing = LedgerEntry.objects.filter(
        shop_id=locked.shop_id, idempotency_key=idempotency_key
    ).first()
    if existing is None:
        return
    if existing.member_id != locked.pk or existing.kind != kind:
        raise IdempotencyKeyReused(
            f"The key {idempotency_key!r} was already used for a different change."
        )
    raise _Replay(existing)


def _active_since(locked: Member, *, since: datetime, now: datetime) -> bool:
    """Did the member earn or redeem after `since`, or did points become spendable after it
    (pending points released after `since` start the inactivity clock again)?"""
    if (locked.last_activity_at or locked.enrolled_at) > since:
        return True
    return LedgerEntry.objects.filter(
        member=locked,
        state=EntryState.ACTIVE,
        available_at__gt=since,
        available_at__lte=now,
        points__gt=0,
    ).exists()


def _require_positive(points: int) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise ValueError(f"points must be a positive integer, not {points!r}.")


def _lock_member(member: Member) -> Member:
    return _lock_member_id(member.pk)


def _lock_member_id(member_id: int) -> Member:
    return member_lock(member_id=member_id)


class _Replay(Exception):
    def __init__(self, entry: LedgerEntry):
        self.entry = entry


def _insert_or_replay(locked: Member, **fields) -> LedgerEntry:
    entry, created = _insert_entry(locked, **fields)
    if not created:
        raise _Replay(entry)
    return entry


def _insert_entry(
    locked: Member, *, figures_vary: bool = False, **fields
) -> tuple[LedgerEntry, bool]:
    """Insert, or return the entry already written under this key when the call is the same.

    `figures_vary`: the entry's points depend on the balance at the time (a debt repayment, a
    balance expiry), so a replay is recognised by its key, member and kind alone."""
    key = fields["idempotency_key"]
    if not key:
        raise ValueError("idempotency_key is required.")
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(shop_id=locked.shop_id, member=locked, **fields), True
    except IntegrityError:
        existing = LedgerEntry.objects.filter(shop_id=locked.shop_id, idempotency_key=key).first()
        if existing is None:
            raise
    reverses = fields.get("reverses")
    same_call = (
        existing.member_id == locked.pk
        and existing.kind == fields["kind"]
        and existing.reverses_id == (reverses.pk if reverses else None)
        # A reversal's figures depend on the balance at the time; its target identifies it.
        and (figures_vary or reverses is not None or existing.points == fields["points"])
    )
    if not same_call:
        raise IdempotencyKeyReused(f"The key {key!r} was already used for a different change.")
    return existing, False


def _open_lots(locked: Member, *, exclude_lot_id: int | None):
    lots = LedgerEntry.objects.filter(
        member=locked, state=EntryState.ACTIVE, remaining__gt=0, points__gt=0
    ).order_by("created_at", "pk")
    if exclude_lot_id is not None:
        lots = lots.exclude(pk=exclude_lot_id)
    return lots


def _consume_lots(
    locked: Member, *, entry: LedgerEntry, points: int, exclude_lot_id: int | None
) -> int:
    """Move up to `points` out of the member's spendable lots, oldest first; returns how many."""
    taken = 0
    for lot in _open_lots(locked, exclude_lot_id=exclude_lot_id).iterator(chunk_size=200):
        if taken == points:
            break
        take = min(lot.remaining, points - taken)
        _move(entry=entry, lot=lot, points=take)
        taken += take
    return taken


def _move(*, entry: LedgerEntry, lot: LedgerEntry, points: int) -> None:
    """Record and apply a movement: positive out of the lot, negative back into it."""
    LotMovement.objects.create(shop_id=entry.shop_id, entry=entry, lot=lot, points=points)
    LedgerEntry.objects.filter(pk=lot.pk)._update_lot_bookkeeping(remaining=F("remaining") - points)


@dataclasses.dataclass(frozen=True)
class _ReversalPlan:
    points: int  # the reversal entry's signed points
    from_own_lot: int = 0
    already_expired: int = 0
    from_other_lots: int = 0
    shortfall: int = 0


def _plan_reversal(locked: Member, original: LedgerEntry, amount: int) -> _ReversalPlan:
    """Work out a reversal's figures before anything is written (the member is locked)."""
    if original.points < 0:
        return _ReversalPlan(points=amount)
    if original.state == EntryState.PENDING:
        # Pending points were never spendable, so all of them are still in the lot.
        return _ReversalPlan(points=-amount, from_own_lot=amount)
    from_own_lot = min(original.remaining, max(amount, 0))
    rest = max(amount - from_own_lot, 0)
    # Points that left the lot by expiring are gone already: taking them back from other lots
    # would take them twice. Of the rest, the expired part counts first (the member's favour).
    already_expired = min(_expired_not_yet_reversed(original), rest) if rest else 0
    rest -= already_expired
    from_other_lots = 0
    if rest:
        others = _open_lots(locked, exclude_lot_id=original.pk).aggregate(total=Sum("remaining"))
        from_other_lots = min(others["total"] or 0, rest)
    taken = from_own_lot + from_other_lots
    return _ReversalPlan(
        points=-taken,
        from_own_lot=from_own_lot,
        already_expired=already_expired,
        from_other_lots=from_other_lots,
        shortfall=rest - from_other_lots,
    )


def _expired_not_yet_reversed(lot: LedgerEntry) -> int:
    """Points that expired out of `lot` (net of expiries undone) that no earlier reversal of the
    lot has already counted as expired."""
    expired = LotMovement.objects.filter(
        Q(entry__kind=EntryKind.EXPIRE) | Q(entry__reverses__kind=EntryKind.EXPIRE), lot=lot
    ).aggregate(total=Sum("points", default=0))["total"]
    counted = lot.reversals.aggregate(total=Sum("already_expired", default=0))["total"]
    return max(expired - counted, 0)


def _reverse_credit(
    locked: Member,
    original: LedgerEntry,
    reversal: LedgerEntry,
    amount: int,
    plan: _ReversalPlan,
    *,
    now: datetime,
) -> None:
    if plan.from_own_lot:
        _move(entry=reversal, lot=original, points=plan.from_own_lot)
    if plan.from_other_lots:
        _consume_lots(
            locked, entry=reversal, points=plan.from_other_lots, exclude_lot_id=original.pk
        )
    if original.state == EntryState.PENDING:
        if original.remaining == amount:
            LedgerEntry.objects.filter(pk=original.pk)._update_lot_bookkeeping(
                state=EntryState.VOID
            )
        _apply_counters(locked, _Counters(pending=-amount, earned=-amount), now=now, activity=False)
    else:
        taken = plan.from_own_lot + plan.from_other_lots
        delta = _Counters(balance=-taken, earned=-amount, debt=reversal.debt)
        _apply_counters(locked, delta, now=now, activity=False)


def _reverse_debit(
    locked: Member, original: LedgerEntry, reversal: LedgerEntry, amount: int, *, now: datetime
) -> None:
    held_by_lot = _net_consumed_by_lot(original)
    restored = 0
    # Most recently opened lots first, so a partial reversal leaves the oldest ones spent.
    for lot_id in sorted(held_by_lot, reverse=True):
        if restored == amount:
            break
        give = min(held_by_lot[lot_id], amount - restored)
        if give > 0:
            _move(entry=reversal, lot=LedgerEntry(pk=lot_id), points=-give)
            restored += give
    if restored != amount:  # the movements say less was consumed than the entry claims
        raise NotReversible(f"Entry {original.pk} consumed {restored} points, not {amount}.")
    spent = -amount if original.kind == EntryKind.REDEEM else 0
    # Undoing a debt repayment gives the points back and makes them owed again.
    debt = amount if original.source_type == DEBT_SOURCE else 0
    _apply_counters(
        locked, _Counters(balance=amount, spent=spent, debt=debt), now=now, activity=False
    )


def _net_consumed_by_lot(original: LedgerEntry) -> dict[int, int]:
    rows = (
        LotMovement.objects.filter(Q(entry=original) | Q(entry__reverses=original))
        .values("lot_id")
        .annotate(net=Sum("points"))
    )
    return {row["lot_id"]: row["net"] for row in rows}


def _settle_locked(locked: Member, *, now: datetime) -> None:
    """Bring the member up to date before spending: release due pending, expire due lots."""
    _release_due_locked(locked, now=now)
    _expire_due_locked(locked, now=now)


def _release_due_locked(locked: Member, *, now: datetime) -> int:
    due = LedgerEntry.objects.filter(member=locked, state=EntryState.PENDING, available_at__lte=now)
    released = due.aggregate(total=Sum("remaining"))["total"] or 0
    count = due._update_lot_bookkeeping(state=EntryState.ACTIVE)
    if count:
        _apply_counters(
            locked, _Counters(balance=released, pending=-released), now=now, activity=False
        )
    return released


def _expire_due_locked(locked: Member, *, now: datetime) -> list[LedgerEntry]:
    lots = _open_lots(locked, exclude_lot_id=None).filter(expires_at__lte=now)
    expired = []
    for lot in lots:
        already = LedgerEntry.objects.filter(
            member=locked, kind=EntryKind.EXPIRE, movements__lot=lot
        ).count()
        entry, created = _insert_entry(
            locked,
            kind=EntryKind.EXPIRE,
            points=-lot.remaining,
            idempotency_key=f"expire:lot:{lot.pk}:{already + 1}",
            source_type="lot",
            source_id=str(lot.pk),
            reason="Points expired",
            actor="system",
            created_at=now,
        )
        if created:
            _move(entry=entry, lot=lot, points=lot.remaining)
            _apply_counters(locked, _Counters(balance=-lot.remaining), now=now, activity=False)
            expired.append(entry)
    return expired


def _apply_counters(
    locked: Member, delta: _Counters, *, now: datetime, activity: bool = True
) -> None:
    """Add the deltas to the locked row and to its in-memory copy; `activity`: the member
    earned or redeemed (see the module docstring), which moves `last_activity_at`."""
    member_changed(shop_id=locked.shop_id, platform_customer_id=locked.platform_customer_id)
    Member.objects.filter(pk=locked.pk).update(
        points_balance=F("points_balance") + delta.balance,
        points_pending=F("points_pending") + delta.pending,
        lifetime_earned=F("lifetime_earned") + delta.earned,
        lifetime_spent=F("lifetime_spent") + delta.spent,
        points_debt=F("points_debt") + delta.debt,
        **({"last_activity_at": now} if activity else {}),
    )
    locked.points_balance += delta.balance
    locked.points_pending += delta.pending
    locked.lifetime_earned += delta.earned
    locked.lifetime_spent += delta.spent
    locked.points_debt += delta.debt
    if activity:
        locked.last_activity_at = now


def _mirror_counters(member: Member, locked: Member) -> None:
    """Show the caller's object the committed-to-be values."""
    for field in COUNTER_FIELDS:
        setattr(member, field, getattr(locked, field))
