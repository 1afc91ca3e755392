"""Every change of a member's tier goes through this module.

The rules, in one place:

- The *metric* is what the program's tier basis counts over the qualifying period: points
  earned from orders and actions, amount spent (`OrderRecord.net_amount`) or paid orders kept
  (`OrderRecord.net_items > 0`), each net of refunds. Periods: lifetime, the calendar year in the
  shop's timezone, or the last 12 months.
- A member is *entitled* to the highest visible tier whose threshold the metric reaches. With a
  calendar year and a downgrade policy, the previous year's metric counts too: a tier earned in
  one year is kept through the next ("at the end of the period, what the last period earned").
- Upgrades happen at once. Hidden tiers are never reached by qualification, and a member on a
  hand-assigned hidden tier is never moved automatically; a hand-assigned visible tier is kept
  until the member earns a higher one.
- Refunds: when the metric as of the moment the member reached a tier, counting the refunds
  since, no longer reaches it, the upgrade is undone at once (reason "refund"), whatever the
  policy, and that tier's entry reward is taken back.
- Downgrades otherwise follow the policy: never; end of period (calendar year: as above; rolling
  12 months: a tier is held at least 12 months, then follows the metric; lifetime: never); grace
  (below the tier for `tier_grace_days`, then down to what the metric reaches).
- Every change writes a `TierHistory` row in the same transaction, credits the entry reward
  once ever (ledger idempotency key `tier:{tier}:entry:{member}`), and after commit enqueues
  the store sync (tag and app-owned metafields).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from loyalty.core.platform import CustomerTierSync, PlatformError, gateway_for
from loyalty.earning.models import OrderRecord
from loyalty.expiry.services import credit_expires_at
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import COUNTER_FIELDS, ledger_credit, ledger_reverse
from loyalty.members.freshness import member_changed
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Program, Shop, TierDowngrade, TierPeriod
from loyalty.tiers.models import Tier, TierChange, TierHistory
from loyalty.tiers.selectors import (
    TierLadder,
    member_tier_metric,
    months_after,
    previous_year_window,
    qualifying_window,
)

NO_TIER_VALUE = "none"  # Shopify refuses a blank metafield value
TIER_FIELDS = ("tier", "tier_since", "tier_by_hand", "tier_below_since")


class TierError(Exception):
    code = "tier_error"


# --- public services --------------------------------------------------------------------------


def tier_create(
    *,
    shop: Shop,
    name: str,
    threshold: Decimal | int = 0,
    multiplier: Decimal | str = Decimal("1"),
    entry_points: int = 0,
    perks: list[str] | tuple[str, ...] = (),
    hidden: bool = False,
    tag: str = "",
) -> Tier:
    """A new tier; its store tag defaults to one derived from the name (`vip-gold`). Members
    who already qualify reach it in a background pass over the shop, after commit."""
    name = name.strip()
    with transaction.atomic():
        tier = Tier.objects.create(
            shop=shop,
            name=name,
            threshold=Decimal(threshold),
            multiplier=Decimal(multiplier),
            entry_points=entry_points,
            perks=[str(p) for p in perks],
            hidden=hidden,
            tag=tag.strip() or tier_default_tag(name=name),
        )
        if not hidden:
            transaction.on_commit(lambda: _enqueue_shop_evaluation(shop.pk), robust=True)
    return tier


def tier_default_tag(*, name: str) -> str:
    return f"vip-{slugify(name) or 'tier'}"[:255]


def tier_evaluate(*, member: Member, now: datetime | None = None) -> TierHistory | None:
    """Bring the member's tier in line with the rules above; returns the change, if any."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member(member.pk)
        if locked.status != MemberStatus.ACTIVE:
            return None
        program = Program.objects.get(shop_id=locked.shop_id)
        current = locked.tier
        if current is not None and current.hidden:
            return None  # hand-assigned hidden tier: only the merchant moves the member
        ladder = TierLadder.of(shop_id=locked.shop_id)
        if current is None and not ladder.tiers:
            return None  # the shop has no tiers to reach
        decision = _decide(locked, program, ladder, current, now)
        Member.objects.filter(pk=locked.pk).update(tier_metric=decision.metric, tier_metric_at=now)
        member_changed(shop_id=locked.shop_id, platform_customer_id=locked.platform_customer_id)
        member.tier_metric, member.tier_metric_at = decision.metric, now
        if decision.below_since != locked.tier_below_since and decision.target == current:
            Member.objects.filter(pk=locked.pk).update(tier_below_since=decision.below_since)
            member.tier_below_since = decision.below_since
        if decision.target == current:
            return None
        change = _move(
            locked,
            to=decision.target,
            reason=decision.reason,
            metric=decision.metric,
            basis=program.tier_basis,
            actor="system",
            by_hand=False,
            now=now,
            since=decision.since,
        )
        if decision.reason == TierChange.REFUND and current is not None:
            _take_back_entry_reward(locked, current, now=now)
    _mirror(member)
    return change


def tier_assign(
    *,
    member: Member,
    tier: Tier | None,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> TierHistory | None:
    """Put the member on `tier` by hand (None: take the tier away). A hidden tier stays until
    the merchant changes it; a visible one until the member earns a higher one."""
    if tier is not None and tier.shop_id != member.shop_id:
        raise TierError("That tier belongs to another shop.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_member(member.pk)
        if locked.tier_id == (tier.pk if tier else None):
            return None
        program = Program.objects.get(shop_id=locked.shop_id)
        change = _move(
            locked,
            to=tier,
            reason=TierChange.MANUAL,
            metric=None,
            basis=program.tier_basis,
            actor=actor,
            note=reason,
            by_hand=tier is not None,
            now=now,
        )
    _mirror(member)
    return change


def tier_evaluate_order_buyer(
    *, shop: Shop, order_id: str, now: datetime | None = None
) -> TierHistory | None:
    """After an order or refund event: the order's member may have crossed a threshold."""
    if not tiers_in_use(shop=shop):
        return None
    member_id = (
        OrderRecord.objects.filter(shop=shop, order_id=order_id)
        .values_list("member_id", flat=True)
        .first()
    )
    return _evaluate_member_id(shop, member_id, now=now)


def tier_evaluate_customer(
    *, shop: Shop, platform_customer_id: str, now: datetime | None = None
) -> TierHistory | None:
    """After a customer event (claimed guest orders, an action's points)."""
    if not tiers_in_use(shop=shop):
        return None
    member_id = (
        Member.objects.filter(shop=shop, platform_customer_id=platform_customer_id)
        .values_list("pk", flat=True)
        .first()
    )
    return _evaluate_member_id(shop, member_id, now=now)


def tiers_in_use(*, shop: Shop) -> bool:
    """Many shops have no tiers: one cheap read spares their orders the evaluation's row lock
    and reads."""
    return Tier.objects.filter(shop=shop).exists()


def _evaluate_member_id(shop: Shop, member_id: int | None, *, now) -> TierHistory | None:
    if member_id is None:
        return None
    return tier_evaluate(member=Member(pk=member_id, shop=shop), now=now)


def tier_sync_member(*, member_id: int, now: datetime | None = None) -> None:
    """Show the member's current tier in the store: its tag added, the shop's other tier tags
    removed, the app-owned metafields set. Raises PlatformError; marks history rows synced."""
    now = now or timezone.now()
    member = Member.objects.select_related("shop", "tier").get(pk=member_id)
    if member.status == MemberStatus.REDACTED:
        TierHistory.objects.filter(member_id=member_id, synced_at__isnull=True).update(
            synced_at=now, sync_error="not sent: the customer's data was erased"
        )
        return
    if not member.shop.is_installed:
        raise PlatformError("not_installed", "The shop does not have the app installed.")
    latest = (
        TierHistory.objects.filter(member_id=member_id).order_by("-pk").values_list("pk", flat=True)
    ).first()
    tags = set(Tier.objects.filter(shop_id=member.shop_id).values_list("tag", flat=True))
    current = member.tier.tag if member.tier else None
    sync = CustomerTierSync(
        platform_customer_id=member.platform_customer_id,
        add_tags=(current,) if current else (),
        remove_tags=tuple(sorted(t for t in tags if t != current)),
        metafields={
            "tier": member.tier.name if member.tier else NO_TIER_VALUE,
            "points_balance": str(member.points_balance),
        },
    )
    gateway_for(member.shop).customer_tier_sync(shop=member.shop, sync=sync)
    if latest is None:
        return
    TierHistory.objects.filter(member_id=member_id, pk__lte=latest, synced_at__isnull=True).update(
        synced_at=now, sync_error=""
    )
    newer = TierHistory.objects.filter(member_id=member_id, pk__gt=latest).exists()
    if newer:
        # Another change landed while this sync was in flight, and its own sync may have
        # finished first: send the current state once more.
        _enqueue_sync(member_id)


def tier_sync_failed(*, member_id: int, error: str) -> None:
    """A sync attempt failed: say so on the member's unsynced rows (the resync task and the
    admin read them)."""
    TierHistory.objects.filter(member_id=member_id, synced_at__isnull=True).update(
        sync_error=error[:1000], sync_attempts=F("sync_attempts") + 1
    )


# --- decisions --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Decision:
    target: Tier | None
    reason: str = ""
    metric: Decimal | None = None
    since: datetime | None = None  # when the member reached `target` (a refund may restore one)
    below_since: datetime | None = None


def _decide(
    locked: Member, program: Program, ladder: TierLadder, current: Tier | None, now: datetime
) -> _Decision:
    entitled, metric = _entitled(locked, program, ladder, now)
    decision = _decide_between(locked, program, ladder, current, now, entitled, metric)
    return dataclasses.replace(decision, metric=metric)


def _decide_between(
    locked: Member,
    program: Program,
    ladder: TierLadder,
    current: Tier | None,
    now: datetime,
    entitled: Tier | None,
    metric: Decimal,
) -> _Decision:
    if ladder.rank(entitled) > ladder.rank(current):
        return _Decision(entitled, TierChange.UPGRADE, metric, since=now)
    if current is None or locked.tier_by_hand:
        return _Decision(current)
    undone = _undone_by_refunds(locked, program, ladder, current, now, entitled=entitled)
    if undone is not None:
        return dataclasses.replace(undone, metric=metric)
    if ladder.rank(entitled) >= ladder.rank(current):
        return _Decision(current)
    match program.tier_downgrade:
        case TierDowngrade.END_OF_PERIOD:
            if program.tier_period == TierPeriod.LIFETIME:
                return _Decision(current)
            if program.tier_period == TierPeriod.ROLLING_12_MONTHS and (
                locked.tier_since is not None and now < months_after(locked.tier_since, 12)
            ):
                return _Decision(current)
            return _Decision(entitled, TierChange.DOWNGRADE, metric, since=now)
        case TierDowngrade.GRACE:
            below_since = locked.tier_below_since or now
            if now >= below_since + timedelta(days=program.tier_grace_days):
                return _Decision(entitled, TierChange.DOWNGRADE, metric, since=now)
            return _Decision(current, below_since=below_since)
    return _Decision(current)


def _entitled(
    member: Member, program: Program, ladder: TierLadder, at: datetime
) -> tuple[Tier | None, Decimal]:
    """What the metric reaches at `at`, and the metric of the period that contains `at`."""
    shop = member.shop
    window = qualifying_window(program=program, shop=shop, at=at)
    metric = member_tier_metric(member_id=member.pk, basis=program.tier_basis, window=window)
    tier = ladder.reached(metric)
    if program.tier_period == TierPeriod.CALENDAR_YEAR and (
        program.tier_downgrade != TierDowngrade.NEVER
    ):
        last_year = member_tier_metric(
            member_id=member.pk,
            basis=program.tier_basis,
            window=previous_year_window(shop=shop, at=at),
        )
        tier = ladder.highest(tier, ladder.reached(last_year))
    return tier, metric


def _undone_by_refunds(
    locked: Member,
    program: Program,
    ladder: TierLadder,
    current: Tier,
    now: datetime,
    *,
    entitled: Tier | None,
) -> _Decision | None:
    """A refund correction, when refunds (and nothing else: not a new threshold, not another
    basis) took away what reached the current tier: recomputed over the period that reached
    it, the metric is now lower than it was then and no longer reaches the tier."""
    history = TierHistory.objects.filter(member=locked).order_by("-at", "-pk")
    reached_by = history.filter(to_tier=current).first()
    if (
        reached_by is None
        or reached_by.metric is None
        or reached_by.basis != program.tier_basis
        or reached_by.reason == TierChange.MANUAL
    ):
        return None
    earned_then, metric_then = _entitled(locked, program, ladder, reached_by.at)
    if metric_then >= reached_by.metric or ladder.rank(earned_then) >= ladder.rank(current):
        return None
    options = [(entitled, now), (earned_then, reached_by.at)]
    prior = reached_by.from_tier if reached_by.reason == TierChange.UPGRADE else None
    if prior is not None and not prior.hidden:
        # The tier held before that upgrade stands: it was reached without those orders.
        prior_reached = history.filter(to_tier=prior, pk__lt=reached_by.pk).first()
        options.append((prior, prior_reached.at if prior_reached else reached_by.at))
    target = ladder.highest(*(tier for tier, _ in options))
    # The member has held the target since the earliest of the ways they reached it.
    since = min(when for tier, when in options if tier == target)
    return _Decision(target, TierChange.REFUND, since=since)


# --- writing a change -------------------------------------------------------------------------


def _lock_member(member_id: int) -> Member:
    """The same lock the ledger takes (the member's row, in primary-key order), so a tier
    change and the entry reward it credits are one step for every other writer."""
    return (
        Member.objects.select_for_update(of=("self",))
        .select_related("shop")
        .order_by("pk")
        .get(pk=member_id)
    )


def _move(
    locked: Member,
    *,
    to: Tier | None,
    reason: str,
    metric: Decimal | None,
    basis: str,
    actor: str,
    by_hand: bool,
    now: datetime,
    since: datetime | None = None,
    note: str = "",
) -> TierHistory:
    previous = locked.tier
    change = TierHistory.objects.create(
        shop_id=locked.shop_id,
        member=locked,
        from_tier=previous,
        to_tier=to,
        from_name=previous.name if previous else "",
        to_name=to.name if to else "",
        reason=reason,
        basis=basis,
        metric=metric,
        note=note,
        actor=actor,
        at=now,
    )
    since = (since or now) if to else None
    member_changed(shop_id=locked.shop_id, platform_customer_id=locked.platform_customer_id)
    Member.objects.filter(pk=locked.pk).update(
        tier=to, tier_since=since, tier_by_hand=by_hand, tier_below_since=None
    )
    locked.tier, locked.tier_since, locked.tier_by_hand = to, since, by_hand
    locked.tier_below_since = None
    if to is not None and to.entry_points and reason in (TierChange.UPGRADE, TierChange.MANUAL):
        program = Program.objects.get(shop_id=locked.shop_id)
        ledger_credit(
            member=locked,
            points=to.entry_points,
            idempotency_key=_entry_key(to, locked),
            source_type="tier",
            source_id=str(to.pk),
            reason=f"Welcome to {to.name}",
            actor=actor,
            expires_at=credit_expires_at(program=program, earned_at=now),
            now=now,
        )
    member_id = locked.pk
    # Robust: the change is committed whatever becomes of the sync (it leaves its own record).
    transaction.on_commit(lambda: _enqueue_sync(member_id), robust=True)
    return change


def _take_back_entry_reward(locked: Member, tier: Tier, *, now: datetime) -> None:
    """An upgrade undone by refunds does not keep its welcome points (once ever, like the
    reward itself: reaching the tier again later does not pay twice)."""
    entry = LedgerEntry.objects.filter(
        shop_id=locked.shop_id, idempotency_key=_entry_key(tier, locked)
    ).first()
    if entry is None or entry.reversed_points >= entry.points:
        return
    ledger_reverse(
        entry=entry,
        idempotency_key=f"{_entry_key(tier, locked)}:refund",
        allow_shortfall=True,
        reason=f"{tier.name} undone by a refund",
        now=now,
    )


def _entry_key(tier: Tier, member: Member) -> str:
    return f"tier:{tier.pk}:entry:{member.pk}"


def _enqueue_sync(member_id: int) -> None:
    from loyalty.tiers.tasks import sync_member_tier

    sync_member_tier.delay(member_id)


def _enqueue_shop_evaluation(shop_id: int) -> None:
    from loyalty.tiers.tasks import evaluate_shop_members

    evaluate_shop_members.delay(shop_id)


def _mirror(member: Member) -> None:
    """Show the caller's object the new tier and the counters an entry reward moved."""
    member.refresh_from_db(fields=[*TIER_FIELDS, *COUNTER_FIELDS])
