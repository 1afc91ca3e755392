"""Periodic ledger work. Each member is settled in its own transaction, so one failure or a
crash mid-run loses nothing: the next run picks up what is still due. A run takes members in id
order, a batch at a time, and hands the rest to a follow-up task from where it stopped, so a
member that keeps failing is logged and passed over instead of stalling everyone after it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from celery import shared_task
from django.utils import timezone

from loyalty.ledger import selectors, services
from loyalty.members.models import Member

logger = logging.getLogger(__name__)

BATCH = 500
T = TypeVar("T")


def task_now(now: str | None) -> datetime:
    """A task's moment: the ISO timestamp it was given (by a test, or by the run it continues),
    else the current time."""
    return datetime.fromisoformat(now) if now else timezone.now()


def for_each_member(member_ids: list[int], action: Callable[[Member], T], *, what: str) -> list[T]:
    """`action(member)` for each member in id order, each on its own (the services take their
    own transaction); a failure is logged and passed over, for the next run to retry."""
    results = []
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        try:
            results.append(action(member))
        except Exception:
            logger.exception("%s failed for member %s", what, member.pk)
    return results


@shared_task(ignore_result=True)
def release_due_points(now: str | None = None, after_id: int = 0) -> int:
    moment = task_now(now)
    member_ids = selectors.member_ids_with_due_pending(now=moment, limit=BATCH, after_id=after_id)
    released = sum(
        for_each_member(
            member_ids,
            lambda member: services.ledger_release_due(member=member, now=moment),
            what="releasing pending points",
        )
    )
    if len(member_ids) == BATCH:
        release_due_points.delay(now=moment.isoformat(), after_id=member_ids[-1])
    logger.info("released %d pending points for %d members", released, len(member_ids))
    return released


@shared_task(ignore_result=True)
def expire_due_lots(now: str | None = None, after_id: int = 0) -> int:
    """Per-lot expiry: an expire entry for every spendable lot past its `expires_at`."""
    moment = task_now(now)
    member_ids = selectors.member_ids_with_expiring_lots(now=moment, limit=BATCH, after_id=after_id)
    expired = sum(
        len(entries)
        for entries in for_each_member(
            member_ids,
            lambda member: services.ledger_expire_due(member=member, now=moment),
            what="expiring lots",
        )
    )
    if len(member_ids) == BATCH:
        expire_due_lots.delay(now=moment.isoformat(), after_id=member_ids[-1])
    logger.info("expired %d lots for %d members", expired, len(member_ids))
    return expired
