"""Periodic expiry work, fanned out per shop and done in batches of members, each member in its
own transaction: a failure is logged and skipped (the next run tries again), and a run never
holds more than one member's lock at a time.

Every task takes `now` as an ISO timestamp so a whole run (and its follow-ups) uses one moment;
the beat sends none and the current time is used."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from loyalty.expiry import selectors, services
from loyalty.ledger.tasks import for_each_member, task_now
from loyalty.shops.models import ExpiryMode, Program

logger = logging.getLogger(__name__)

BATCH = 500
DUMMY_EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"


@shared_task(ignore_result=True)
def expire_inactive_balances(now: str | None = None) -> int:
    """Fan out: one task per shop whose program expires points after inactivity."""
    moment = task_now(now)
    services.expiry_modes_note(now=moment)
    stamp = moment.isoformat()
    programs = list(selectors.programs_for_expiry(modes=(ExpiryMode.INACTIVITY,)))
    for program in programs:
        expire_inactive_balances_for_shop.delay(shop_id=program.shop_id, now=stamp)
    return len(programs)


@shared_task(ignore_result=True)
def expire_inactive_balances_for_shop(shop_id: int, now: str | None = None, after_id: int = 0):
    moment = task_now(now)
    program = Program.objects.select_related("shop").get(shop_id=shop_id)
    if program.expiry_mode != ExpiryMode.INACTIVITY:
        return 0
    mode_since = services.expiry_mode_since(program=program, now=moment)
    cutoff = moment - timedelta(days=program.expiry_days)
    if mode_since > cutoff:
        return 0  # the mode has not applied for a whole period yet
    ids = selectors.member_ids_idle(
        program=program, idle_since_before=cutoff, after_id=after_id, limit=BATCH
    )
    results = for_each_member(
        ids,
        lambda member: services.expiry_expire_inactive(
            member=member, program=program, mode_since=mode_since, now=moment
        ),
        what="inactivity expiry",
    )
    expired = sum(1 for result in results if result is not None and result.created)
    if len(ids) == BATCH:
        expire_inactive_balances_for_shop.delay(
            shop_id=shop_id, now=moment.isoformat(), after_id=ids[-1]
        )
    logger.info("shop %s: expired %d idle balances of %d members", shop_id, expired, len(ids))
    return expired


@shared_task(ignore_result=True)
def send_expiry_reminders(now: str | None = None) -> int:
    """Fan out one task per shop that sends reminders; retry failed reminders."""
    if settings.EMAIL_BACKEND == DUMMY_EMAIL_BACKEND:
        logger.warning("no email backend configured (EMAIL_URL): expiry reminders not sent")
        return 0
    moment = task_now(now)
    services.expiry_modes_note(now=moment)
    programs = [p for p in selectors.programs_for_expiry() if p.expiry_reminder_days]
    for program in programs:
        send_expiry_reminders_for_shop.delay(shop_id=program.shop_id, now=moment.isoformat())
    services.expiry_reminders_retry(now=moment)
    return len(programs)


@shared_task(ignore_result=True)
def send_expiry_reminders_for_shop(
    shop_id: int, now: str | None = None, phase: str = "lots", after_id: int = 0
) -> int:
    """Two phases, each in batches: members with lots expiring soon, then (inactivity expiry)
    members whose idle period ends soon."""
    moment = task_now(now)
    program = Program.objects.select_related("shop").get(shop_id=shop_id)
    until = selectors.reminder_window(program=program, now=moment)
    if until is None or program.expiry_mode == ExpiryMode.NEVER:
        return 0
    mode_since = services.expiry_mode_since(program=program, now=moment)
    if phase == "lots":
        ids = selectors.member_ids_with_lots_expiring(
            program=program, now=moment, until=until, after_id=after_id, limit=BATCH
        )
    else:
        period = timedelta(days=program.expiry_days)
        # Idle since no later than `until - period`; and, once the mode has applied for a
        # whole period, since after `now - period` (older ones are due to expire, not remind).
        ids = selectors.member_ids_to_remind_of_inactivity(
            program=program,
            idle_since_after=moment - period if mode_since <= moment - period else None,
            idle_since_before=until - period,
            after_id=after_id,
            limit=BATCH,
        )
    sent = sum(
        len(reminders)
        for reminders in for_each_member(
            ids,
            lambda member: services.expiry_reminders_for_member(
                member=member, program=program, mode_since=mode_since, now=moment
            ),
            what="expiry reminders",
        )
    )
    if len(ids) == BATCH:
        send_expiry_reminders_for_shop.delay(
            shop_id=shop_id, now=moment.isoformat(), phase=phase, after_id=ids[-1]
        )
    elif phase == "lots" and program.expiry_mode == ExpiryMode.INACTIVITY:
        send_expiry_reminders_for_shop.delay(
            shop_id=shop_id, now=moment.isoformat(), phase="inactivity"
        )
    logger.info("shop %s: %d expiry reminders (%s)", shop_id, sent, phase)
    return sent
