"""Tier work in the background: the store sync (with bounded retries and a visible record of
a final failure), its periodic resync, the debounced sync of the points balance metafield, and
the periodic downgrade check."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from loyalty.core.platform import PlatformError
from loyalty.members import balance_sync
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import TierDowngrade
from loyalty.tiers import services
from loyalty.tiers.models import TierHistory

logger = logging.getLogger(__name__)

BATCH = 500
SYNC_MAX_ATTEMPTS = 5
SYNC_BACKOFF_SECONDS = 30
# The resync leaves young rows to the task enqueued on commit, and gives up on a member after
# this many failed attempts (the rows keep their error for the merchant to see).
RESYNC_MIN_AGE = timedelta(minutes=10)
RESYNC_MAX_ATTEMPTS = 25


@shared_task(ignore_result=True)
def sync_member_tier(member_id: int, attempt: int = 1) -> str:
    """Send the member's tier to the store. A transient failure is tried again later, at most
    SYNC_MAX_ATTEMPTS times in all; every failure is written on the member's unsynced history.
    (The next attempt is a new message rather than `self.retry`, so that without a broker,
    where tasks run in-process, a failure never raises into the caller.)"""
    try:
        services.tier_sync_member(member_id=member_id)
    except Member.DoesNotExist:
        return "member gone"
    except PlatformError as exc:
        error = f"{exc.code}: {exc}"
        services.tier_sync_failed(member_id=member_id, error=error)
        if not exc.transient or attempt >= SYNC_MAX_ATTEMPTS:
            logger.warning("tier sync for member %s failed for good: %s", member_id, error)
            return f"failed: {error}"
        sync_member_tier.apply_async(
            (member_id,),
            {"attempt": attempt + 1},
            countdown=SYNC_BACKOFF_SECONDS * 2 ** (attempt - 1),
        )
        return f"will retry: {error}"
    return "synced"


@shared_task(ignore_result=True)
def sync_member_balances(pairs: list[list], attempt: int = 1) -> str:
    """Send these members' points balance, read now, to the store's balance metafield
    (`loyalty.members.balance_sync`, which schedules this task). Members a transient failure
    left unsent are tried again with the tier sync's backoff, at most SYNC_MAX_ATTEMPTS times
    in all, reading their balance again then."""
    left = balance_sync.member_balances_sync(pairs=[(shop_id, c) for shop_id, c in pairs])
    if not left:
        return "synced"
    if attempt >= SYNC_MAX_ATTEMPTS:
        logger.warning("balance sync for %d member(s) failed for good", len(left))
        return f"failed: {len(left)} left"
    sync_member_balances.apply_async(
        ([list(pair) for pair in left],),
        {"attempt": attempt + 1},
        countdown=SYNC_BACKOFF_SECONDS * 2 ** (attempt - 1),
    )
    return f"will retry: {len(left)} left"


@shared_task(ignore_result=True)
def resync_member_tiers() -> int:
    """Members whose last tier changes never reached the store: try again."""
    now = timezone.now()
    member_ids = list(
        TierHistory.objects.filter(
            synced_at__isnull=True,
            at__lte=now - RESYNC_MIN_AGE,
            sync_attempts__lt=RESYNC_MAX_ATTEMPTS,
        )
        .values_list("member_id", flat=True)
        .distinct()[:BATCH]
    )
    for member_id in member_ids:
        sync_member_tier.delay(member_id)
    return len(member_ids)


@shared_task(ignore_result=True)
def check_tier_downgrades(after_pk: int = 0) -> int:
    """Members holding a tier in shops whose program may downgrade (the policy's clock runs
    without any event)."""
    members = Member.objects.filter(
        tier__isnull=False, status=MemberStatus.ACTIVE, shop__uninstalled_at__isnull=True
    ).exclude(shop__program__tier_downgrade=TierDowngrade.NEVER)
    return _evaluate_in_batches(check_tier_downgrades, members, after_pk=after_pk)


@shared_task(ignore_result=True)
def evaluate_shop_members(shop_id: int, after_pk: int = 0) -> int:
    """Every active member of a shop, e.g. once the merchant has added a tier."""
    members = Member.objects.filter(shop_id=shop_id, status=MemberStatus.ACTIVE)
    return _evaluate_in_batches(evaluate_shop_members, members, after_pk=after_pk, shop_id=shop_id)


def _evaluate_in_batches(task, members, *, after_pk: int, **task_kwargs) -> int:
    """Evaluate `members` in primary-key batches, each member in its own transaction; a member
    that fails is logged and skipped; the next batch is a new task."""
    now = timezone.now()
    batch = list(
        members.filter(pk__gt=after_pk).order_by("pk").values_list("pk", "shop_id")[:BATCH]
    )
    changed = 0
    for member_id, shop_id in batch:
        try:
            if services.tier_evaluate(member=Member(pk=member_id, shop_id=shop_id), now=now):
                changed += 1
        except Exception:
            logger.exception("tier evaluation failed for member %s", member_id)
    if len(batch) == BATCH:
        task.delay(after_pk=batch[-1][0], **task_kwargs)
    logger.info(
        "%s: %d members, %d changed (after pk %d)", task.name, len(batch), changed, after_pk
    )
    return changed
