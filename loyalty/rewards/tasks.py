"""Periodic rewards work: settle what requests left pending, expire unused codes. Each
redemption is handled on its own, so one failure or a crash loses nothing."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from loyalty.rewards import selectors, services
from loyalty.rewards.models import Redemption, RedemptionStatus

logger = logging.getLogger(__name__)

BATCH = 200
# A request settles its own redemption; the sweeper leaves fresh ones to it.
IDLE_BEFORE_SWEEP = timedelta(seconds=60)


@shared_task(ignore_result=True)
def settle_pending_redemptions() -> dict[str, int]:
    now = timezone.now()
    outcome = {"issued": 0, "failed": 0, "pending": 0}
    ids = selectors.redemptions_to_settle(now=now, idle_for=IDLE_BEFORE_SWEEP, limit=BATCH)
    for redemption in Redemption.objects.filter(pk__in=ids).order_by("pk"):
        try:
            settled = services.redemption_settle(redemption=redemption, create=False, now=now)
        except Exception:
            logger.exception("redemption %s could not be settled now", redemption.pk)
            outcome["pending"] += 1
            continue
        key = settled.status if settled.status in outcome else "issued"
        outcome[key] += 1
    logger.info("settled pending redemptions: %s", outcome)
    return outcome


@shared_task(ignore_result=True)
def expire_unused_codes() -> int:
    now = timezone.now()
    ids = selectors.redemptions_due_to_expire(now=now, limit=BATCH)
    expired = 0
    for redemption in Redemption.objects.filter(pk__in=ids).order_by("pk"):
        try:
            done = services.redemption_expire(redemption=redemption, now=now)
        except Exception:  # one broken redemption must not hold back the others
            logger.exception("redemption %s could not be expired now", redemption.pk)
            continue
        if done.status == RedemptionStatus.EXPIRED:
            expired += 1
    if len(ids) == BATCH and expired:  # more may be due; never loop on failing ones alone
        expire_unused_codes.delay()
    logger.info("expired %d unused reward codes", expired)
    return expired
