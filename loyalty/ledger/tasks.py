"""Periodic ledger work. Each member is settled in its own transaction, so one failure or a
crash mid-run loses nothing: the next run picks up what is still due."""

import logging

from celery import shared_task
from django.utils import timezone

from loyalty.ledger import selectors, services
from loyalty.members.models import Member

logger = logging.getLogger(__name__)

BATCH = 500


@shared_task(ignore_result=True)
def release_due_points() -> int:
    now = timezone.now()
    member_ids = selectors.member_ids_with_due_pending(now=now, limit=BATCH)
    released = sum(
        services.ledger_release_due(member=member, now=now)
        for member in Member.objects.filter(pk__in=member_ids).order_by("pk")
    )
    if len(member_ids) == BATCH:
        release_due_points.delay()
    logger.info("released %d pending points for %d members", released, len(member_ids))
    return released


@shared_task(ignore_result=True)
def expire_due_lots() -> int:
    now = timezone.now()
    member_ids = selectors.member_ids_with_expiring_lots(now=now, limit=BATCH)
    expired = 0
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        expired += len(services.ledger_expire_due(member=member, now=now))
    if len(member_ids) == BATCH:
        expire_due_lots.delay()
    logger.info("expired %d lots for %d members", expired, len(member_ids))
    return expired
