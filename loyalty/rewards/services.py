"""Redeeming rewards: points and the store's discount code move together.

`reward_redeem` works in two steps. First, in one transaction under the member's lock: the
checks (rate, reward, tier, limit), the redemption row with its code already chosen, and the
ledger debit; a refusal writes nothing. Then, outside any transaction, the store is asked to
create that exact code (`redemption_settle`). Because the code is fixed before the first call,
asking again after an unknown outcome is safe: the store either has our code or it does not.

A redemption ends with its points spent and its code at the store, or failed with its points
returned (a ledger reversal). When the store's answer never came, the points stay held (status
`pending`) until the code is found, or until the call can no longer be applied and the code is
not there; the sweeper task settles what a request left pending.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.core.platform import (
    DiscountCodeSpec,
    DiscountKind,
    IssuedCode,
    PlatformError,
    gateway_for,
)
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_debit, ledger_reverse
from loyalty.members.freshness import member_ids_changed
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_lock
from loyalty.rewards.models import Redemption, RedemptionStatus, Reward, RewardKind
from loyalty.shops.models import Program, Shop

logger = logging.getLogger(__name__)

MAX_POINTS = 2_147_483_647  # Redemption.points and Member.points_balance are 32-bit
MAX_MONEY_VALUE = Decimal("9999999999.99")  # what Redemption.money_value (12 digits) holds
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud, typed by hand
DEFAULT_REWARD = {
    "name": "5 off your order",
    "kind": RewardKind.AMOUNT_OFF,
    "points_cost": 500,
    "value": Decimal("5"),
}
SPENT_STATUSES = (
    RedemptionStatus.PENDING,
    RedemptionStatus.ISSUED,
    RedemptionStatus.USED,
    RedemptionStatus.EXPIRED,
    RedemptionStatus.DONATED,
)
_DISCOUNT_KINDS = {
    RewardKind.AMOUNT_OFF: DiscountKind.AMOUNT,
    RewardKind.POINTS_TO_MONEY: DiscountKind.AMOUNT,
    RewardKind.PERCENT_OFF: DiscountKind.PERCENT,
    RewardKind.FREE_SHIPPING: DiscountKind.FREE_SHIPPING,
    RewardKind.FREE_PRODUCT: DiscountKind.FREE_PRODUCT,
}


class RedemptionError(Exception):
    code = "redemption_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RewardUnavailable(RedemptionError):
    """Unknown, disabled, outside its dates, or not for this member's tier."""

    code = "reward_unavailable"


class RewardLimitReached(RedemptionError):
    code = "reward_limit_reached"


class InvalidPoints(RedemptionError):
    code = "invalid_points"


class InvalidKey(RedemptionError):
    code = "invalid_idempotency_key"


class RateLimited(RedemptionError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class RedemptionKeyReused(RedemptionError):
    code = "idempotency_key_reused"


@dataclasses.dataclass(frozen=True)
class RedeemResult:
    redemption: Redemption
    created: bool  # False: the idempotency key was replayed


# --- the catalogue ---------------------------------------------------------------------------


def reward_ensure_default(*, shop: Shop) -> Reward:
    """The contract's reward from the start (5 off for 500 points). Created once per shop, and
    again on a reinstall if it was deleted; a merchant's edits to it are kept."""
    try:
        with transaction.atomic():
            return Reward.objects.create(shop=shop, is_default=True, **DEFAULT_REWARD)
    except IntegrityError:
        return Reward.objects.get(shop=shop, is_default=True)


def reward_claim_problem(*, reward: Reward, member: Member, now: datetime) -> str | None:
    """Why `member` may not claim `reward` now (apart from points), or None."""
    if not reward.is_active(now):
        return "This reward is not available."
    if reward.tiers and not _tier_allowed(member, reward.tiers):
        return "This reward is for other tiers."
    return None


def _tier_allowed(member: Member, tiers: list) -> bool:
    """`tiers` names tiers by id, name or tag (case-insensitive). Read defensively: a member
    without the tiers app's field is in no tier."""
    tier = getattr(member, "tier", None)
    if tier is None:
        return False
    wanted = {str(t).strip().lower() for t in tiers}
    names = {
        str(tier.pk),
        str(getattr(tier, "name", "")).lower(),
        str(getattr(tier, "tag", "")).lower(),
    }
    return bool(wanted & (names - {""}))


def reward_points_for(*, reward: Reward, points: int | None) -> int:
    """The points a redemption of `reward` spends; `points` only for variable rewards."""
    if not reward.is_variable:
        if points is not None and points != reward.points_cost:
            raise InvalidPoints(f"This reward costs exactly {reward.points_cost} points.")
        return reward.points_cost
    if points is None:
        points = reward.min_points or reward.points_cost
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidPoints("points must be a positive whole number.")
    if points > MAX_POINTS:  # more than any balance can hold, and than the column takes
        raise InvalidPoints(f"Spend at most {MAX_POINTS} points.")
    low = max(reward.min_points or reward.points_cost, reward.points_cost)
    if points < low or (reward.max_points is not None and points > reward.max_points):
        high = f" and at most {reward.max_points}" if reward.max_points is not None else ""
        raise InvalidPoints(f"Spend at least {low}{high} points.")
    if points % reward.points_cost:
        raise InvalidPoints(f"Spend points in steps of {reward.points_cost}.")
    if reward_money_value(reward=reward, points=points) > MAX_MONEY_VALUE:
        raise InvalidPoints("That is more than one redemption can be worth; spend fewer points.")
    return points


def reward_money_value(*, reward: Reward, points: int) -> Decimal | None:
    """What a redemption is worth in shop money, when that is known in advance."""
    if reward.kind in (RewardKind.POINTS_TO_MONEY, RewardKind.CHARITY):
        return (reward.value * points / reward.points_cost).quantize(Decimal("0.01"))
    if reward.kind in (RewardKind.AMOUNT_OFF, RewardKind.FREE_PRODUCT) and reward.value:
        return reward.value
    return None


# --- redeeming -------------------------------------------------------------------------------


def reward_redeem(
    *,
    member: Member,
    reward: Reward,
    idempotency_key: str,
    points: int | None = None,
    now: datetime | None = None,
    actor: str = "member",
) -> RedeemResult:
    """Spend points on `reward`. The same key again returns the first redemption (and carries
    on settling it if it is still pending).

    Raises InsufficientPoints, RateLimited, RewardUnavailable, RewardLimitReached, InvalidPoints,
    RedemptionKeyReused; each refusal writes nothing. A store failure does not raise: the
    redemption comes back `failed` (points returned) or `pending` (points held, being settled).
    """
    now = now or timezone.now()
    if not idempotency_key or len(idempotency_key) > 255 or not _storable(idempotency_key):
        raise InvalidKey("idempotency_key must be 1 to 255 characters of text (no NUL).")
    if reward.shop_id != member.shop_id:
        raise RewardUnavailable("This reward is not available.")
    redemption, created = _reserve(
        member=member,
        reward=reward,
        idempotency_key=idempotency_key,
        points=points,
        now=now,
        actor=actor,
    )
    if redemption.status == RedemptionStatus.PENDING:
        redemption = redemption_settle(redemption=redemption, create=True)
    return RedeemResult(redemption, created)


def _storable(text: str) -> bool:
    """Text every database takes: encodable as UTF-8 (no lone surrogates), and no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _reserve(
    *,
    member: Member,
    reward: Reward,
    idempotency_key: str,
    points: int | None,
    now: datetime,
    actor: str,
) -> tuple[Redemption, bool]:
    """Step one, in one transaction under the member's lock: the checks, the row, the debit."""
    with transaction.atomic():
        locked = member_lock(member_id=member.pk)
        spend = reward_points_for(reward=reward, points=points)
        for _ in range(5):  # a new code on the (astronomically rare) clash with another
            try:
                with transaction.atomic():
                    redemption = Redemption.objects.create(
                        shop_id=locked.shop_id,
                        member=locked,
                        reward=reward,
                        idempotency_key=idempotency_key,
                        points=spend,
                        money_value=reward_money_value(reward=reward, points=spend),
                        code=redemption_new_code() if reward.needs_code else "",
                        expires_at=(
                            now + timedelta(days=reward.code_expiry_days)
                            if reward.needs_code and reward.code_expiry_days
                            else None
                        ),
                        status=(
                            RedemptionStatus.PENDING
                            if reward.needs_code
                            else RedemptionStatus.DONATED
                        ),
                        created_at=now,
                    )
                break
            except IntegrityError:
                first = Redemption.objects.filter(
                    member=locked, idempotency_key=idempotency_key
                ).first()
                if first is not None:
                    if first.reward_id != reward.pk or first.points != spend:
                        raise RedemptionKeyReused(
                            "This idempotency key was already used for another redemption."
                        ) from None
                    return first, False
        else:
            raise RedemptionError("Could not choose a unique code.")
        # Checked after the insert: a replay above is never refused by a limit it set itself.
        _check_rate(locked, redemption, now=now)
        _check_claimable(locked, reward, redemption, now=now)
        debit = ledger_debit(
            member=locked,
            points=spend,
            idempotency_key=f"redemption:{redemption.pk}:debit",
            source_type="redemption",
            source_id=str(redemption.pk),
            kind=EntryKind.REDEEM,
            reason=f"Redeemed: {reward.name}",
            actor=actor,  # the shopper, or the API key that redeemed for them
            now=now,
        )
        redemption.debit_entry = debit.entry
        redemption.save(update_fields=["debit_entry", "updated_at"])
    member.points_balance = locked.points_balance
    return redemption, True


def _lock_redemption(redemption: Redemption, *, status: str) -> Redemption | None:
    """The redemption's row if it still has `status`, locked after its member's row: the same
    order as redeeming and the ledger take them, so the two never wait on each other."""
    member_lock(member_id=redemption.member_id)
    return (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("reward", "member")
        .filter(pk=redemption.pk, status=status)
        .first()
    )


def _check_rate(locked: Member, redemption: Redemption, *, now: datetime) -> None:
    window = timedelta(seconds=settings.REWARDS_RATE_WINDOW_SECONDS)
    recent = (
        Redemption.objects.filter(member=locked, created_at__gt=now - window)
        .exclude(pk=redemption.pk)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    recent = list(recent)
    if len(recent) >= settings.REWARDS_RATE_LIMIT:
        oldest = recent[-settings.REWARDS_RATE_LIMIT]
        wait = max(int((oldest + window - now).total_seconds()) + 1, 1)
        raise RateLimited("Too many redemptions; try again shortly.", retry_after=wait)


def _check_claimable(locked: Member, reward: Reward, redemption: Redemption, *, now) -> None:
    if locked.status != MemberStatus.ACTIVE:
        raise RewardUnavailable("This reward is not available.")
    problem = reward_claim_problem(reward=reward, member=locked, now=now)
    if problem:
        raise RewardUnavailable(problem)
    if reward.per_customer_limit is not None:
        claimed = (
            Redemption.objects.filter(member=locked, reward=reward, status__in=SPENT_STATUSES)
            .exclude(pk=redemption.pk)
            .count()
        )
        if claimed >= reward.per_customer_limit:
            raise RewardLimitReached("You have claimed this reward as often as it allows.")


def redemption_new_code() -> str:
    """`SETIA-XXXX-XXXX`: 40 random bits, unguessable, unique per shop by constraint."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"SETIA-{chars[:4]}-{chars[4:]}"


# --- settling with the store -----------------------------------------------------------------


def redemption_settle(
    *, redemption: Redemption, create: bool, now: datetime | None = None
) -> Redemption:
    """Bring a pending redemption to issued or failed when that can be known; returns it fresh.

    With `create`, ask the store for the code (safe to repeat: the code is fixed). Without it,
    only find out whether the code exists (the sweeper never starts a new call). The points
    are returned only when the store has no such code and no call that could still create it
    is in flight.
    """
    shop = Shop.objects.get(pk=redemption.shop_id)
    gateway = gateway_for(shop)
    if create:
        started = _attempt_started(redemption)
        if started is None:  # settled meanwhile, or the points went back
            return Redemption.objects.get(pk=redemption.pk)
        attempt, in_doubt_before = started
        try:
            issued = gateway.discount_code_create(shop=shop, spec=_spec(attempt))
        except Exception as unexpected:
            if not isinstance(unexpected, PlatformError):
                # Not the port's error: nothing says the call was not applied; stay in doubt.
                logger.exception("redemption %s: store call broke", attempt.pk)
                return Redemption.objects.get(pk=redemption.pk)
            error = unexpected
            _attempt_ended(attempt, error, in_doubt_before=in_doubt_before)
            if not error.transient:
                # Answered, so it cannot land later; but a refusal of a request that was in fact
                # applied (a GraphQL internal error, say) must not leave code and points both:
                # look the code up before returning the points.
                logger.warning("redemption %s: store refused: %s", attempt.pk, error)
                return _find_out(shop, gateway, Redemption.objects.get(pk=attempt.pk), now=now)
            logger.warning("redemption %s: store call failed: %s", attempt.pk, error)
        else:
            return _mark_issued(attempt, issued)
    return _find_out(shop, gateway, Redemption.objects.get(pk=redemption.pk), now=now)


def _spec(redemption: Redemption) -> DiscountCodeSpec:
    reward = redemption.reward
    value = redemption.money_value or Decimal("0")
    if reward.kind == RewardKind.PERCENT_OFF:
        value = reward.value
    return DiscountCodeSpec(
        code=redemption.code,
        title=f"{reward.name} ({redemption.points} points)",
        platform_customer_id=redemption.member.platform_customer_id,
        kind=_DISCOUNT_KINDS[reward.kind],
        value=value,
        product_variant_id=reward.product_variant_id,
        minimum_subtotal=reward.minimum_subtotal,
        starts_at=redemption.created_at,
        ends_at=redemption.expires_at,
        combines_with=dict(reward.combines_with),
    )


def _attempt_started(redemption: Redemption) -> tuple[Redemption, datetime | None] | None:
    """Record the call before making it: until its outcome is known, the points stay held."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_redemption(redemption, status=RedemptionStatus.PENDING)
        if locked is None:
            return None
        previous = locked.in_doubt_since
        locked.platform_attempts += 1
        locked.last_attempt_at = now
        locked.in_doubt_since = now
        locked.save(
            update_fields=["platform_attempts", "last_attempt_at", "in_doubt_since", "updated_at"]
        )
    return locked, previous


def _attempt_ended(
    redemption: Redemption, error: PlatformError, *, in_doubt_before: datetime | None
) -> None:
    """An answer came (even a failure): this call can no longer apply later."""
    Redemption.objects.filter(pk=redemption.pk).update(
        error=f"{error.code}: {error}"[:2000], updated_at=timezone.now()
    )
    if not error.outcome_unknown:
        # Only if no later call has started since ours: its doubt is not ours to clear.
        Redemption.objects.filter(
            pk=redemption.pk, in_doubt_since=redemption.in_doubt_since
        ).update(in_doubt_since=in_doubt_before)


def _find_out(shop: Shop, gateway, redemption: Redemption, *, now: datetime | None) -> Redemption:
    if redemption.status != RedemptionStatus.PENDING:
        return redemption
    try:
        found = gateway.discount_code_find(
            shop=shop,
            code=redemption.code,
            platform_customer_id=redemption.member.platform_customer_id,
        )
    except PlatformError as error:
        logger.warning("redemption %s: could not look the code up: %s", redemption.pk, error)
        return redemption
    if found is not None:
        return _mark_issued(redemption, found)
    return _refund(redemption, error=redemption.error or "The store has no such code.", now=now)


def _mark_issued(redemption: Redemption, issued: IssuedCode) -> Redemption:
    member_ids_changed(member_ids=[redemption.member_id])
    Redemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.PENDING).update(
        status=RedemptionStatus.ISSUED,
        platform_discount_id=issued.platform_discount_id,
        in_doubt_since=None,
        error="",
        updated_at=timezone.now(),
    )
    return Redemption.objects.get(pk=redemption.pk)


def _refund(redemption: Redemption, *, error: str, now: datetime | None) -> Redemption:
    """Return the points of a redemption whose code does not exist, unless a call that could
    still create it may be in flight (then it stays pending for the sweeper)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.REWARDS_IN_DOUBT_GRACE_SECONDS)
    with transaction.atomic():
        locked = _lock_redemption(redemption, status=RedemptionStatus.PENDING)
        if locked is None:
            return Redemption.objects.get(pk=redemption.pk)
        if locked.in_doubt_since is not None and locked.in_doubt_since + grace > now:
            return locked
        refund = _return_points(
            locked, key=f"redemption:{locked.pk}:refund", reason="Reward code not issued", now=now
        )
        locked.status = RedemptionStatus.FAILED
        locked.refund_entry = refund
        locked.error = error[:2000]
        locked.save(update_fields=["status", "refund_entry", "error", "updated_at"])
    return locked


def _return_points(
    redemption: Redemption, *, key: str, reason: str, now: datetime
) -> LedgerEntry | None:
    if redemption.debit_entry_id is None:
        return None
    debit = LedgerEntry.objects.get(pk=redemption.debit_entry_id)
    return ledger_reverse(entry=debit, idempotency_key=key, reason=reason, now=now).entry


# --- after the code is out -------------------------------------------------------------------


def redemption_mark_used(
    *, shop: Shop, discount_codes: tuple[str, ...] | list[str], order_id: str
) -> int:
    """An order used codes: the issued redemptions among them are used (idempotent)."""
    wanted = {c.strip().upper() for c in discount_codes if c and c.strip()}
    if not wanted:
        return 0
    redemptions = Redemption.objects.filter(
        shop=shop,
        code__in=wanted,
        status__in=(RedemptionStatus.ISSUED, RedemptionStatus.PENDING),
    )
    with transaction.atomic():
        # Members' rows first, then the redemptions': the order settling and expiring take
        # them in (an order's delivery then takes the member's row again, to earn).
        member_ids = sorted(set(redemptions.values_list("member_id", flat=True)))
        for member_id in member_ids:
            member_lock(member_id=member_id)
        member_ids_changed(member_ids=member_ids)
        return redemptions.update(
            status=RedemptionStatus.USED,
            order_id=str(order_id),
            used_at=timezone.now(),
            in_doubt_since=None,
            updated_at=timezone.now(),
        )


def redemption_expire(*, redemption: Redemption, now: datetime | None = None) -> Redemption:
    """An issued code past its end: expired, and its points back when the program says so."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_redemption(redemption, status=RedemptionStatus.ISSUED)
        if locked is None:
            return Redemption.objects.get(pk=redemption.pk)
        program = Program.objects.filter(shop_id=locked.shop_id).first()
        if program is not None and program.return_points_for_expired_codes:
            locked.refund_entry = _return_points(
                locked,
                key=f"redemption:{locked.pk}:expired",
                reason="Reward code expired unused",
                now=now,
            )
        locked.status = RedemptionStatus.EXPIRED
        locked.save(update_fields=["status", "refund_entry", "updated_at"])
        member_ids_changed(member_ids=[locked.member_id])
    return locked
