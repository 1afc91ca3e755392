"""Points expiry: when a credit expires, expiring idle members' balances, and reminders.

The rules, in one place:

- **Per lot** (`expiry_mode="per_lot"`): every credit (orders, actions, tier entry points,
  manual adjustments that add points) expires `expiry_days` after it became spendable:
  `credit_expires_at`. The clock starts at availability, not at earning: pending points cannot
  be spent, so starting at the earn would shorten (or, with a long return window, wipe out) the
  time the member has to use them. The date is written on the lot when it is credited and never
  changes (the ledger is append-only), so switching a program from `never` to `per_lot` does
  not expire older points: only credits from the switch on carry a date. Switching back to
  `never` does not lift dates already written either (they are what reminders announced).
  The ledger's `expire_due_lots` task (and any spend, which settles first) expires due lots.
- **Inactivity** (`expiry_mode="inactivity"`): the whole spendable balance expires
  `expiry_days` after the member was last active. Activity is earning points (any credit) or
  redeeming them (see `loyalty.ledger.services`); points that become spendable (pending points
  released) also restart the clock, so a return window longer than `expiry_days` cannot expire
  points the moment they arrive. The clock never starts before the mode took effect
  (`ExpiryModeSince`): switching to inactivity expiry gives every member the full period.
  Pending points are not part of the balance and do not expire.
- **Reminders**: `expiry_reminder_days` before the expiry (0: none), one email per member and
  expiry date, to active members with an email address.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from loyalty.expiry.models import ExpiryModeSince, ExpiryReminder, ReminderState
from loyalty.expiry.selectors import (
    Expiring,
    member_inactivity_started_at,
    member_lots_expiring,
    reminder_window,
)
from loyalty.ledger.services import LedgerResult, ledger_expire_balance
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import ExpiryMode, Program

logger = logging.getLogger(__name__)

REMINDER_MAX_ATTEMPTS = 3


def credit_expires_at(
    *, program: Program, earned_at: datetime, available_at: datetime | None = None
) -> datetime | None:
    """When a credit earned at `earned_at` (spendable from `available_at`, if later) expires
    under the program's policy; None when credits do not expire on their own."""
    if program.expiry_mode != ExpiryMode.PER_LOT:
        return None
    spendable_from = max(earned_at, available_at) if available_at else earned_at
    return spendable_from + timedelta(days=program.expiry_days)


def expiry_mode_since(*, program: Program, now: datetime) -> datetime:
    """Since when the program's current expiry mode has applied (first seen by the tasks)."""
    row, _ = ExpiryModeSince.objects.get_or_create(
        shop_id=program.shop_id, defaults={"mode": program.expiry_mode, "since": now}
    )
    if row.mode != program.expiry_mode:
        # Conditional on the mode read, so two tasks noticing the switch agree on one moment.
        ExpiryModeSince.objects.filter(pk=row.pk, mode=row.mode).update(
            mode=program.expiry_mode, since=now
        )
        row.refresh_from_db()
    return row.since


def expiry_modes_note(*, now: datetime) -> int:
    """Record mode switches of programs seen before (including switches to `never` and back,
    which restart the inactivity clock too); returns how many changed."""
    changed = 0
    for row in ExpiryModeSince.objects.exclude(mode=F("shop__program__expiry_mode")).values(
        "pk", "mode", "shop__program__expiry_mode"
    ):
        changed += ExpiryModeSince.objects.filter(pk=row["pk"], mode=row["mode"]).update(
            mode=row["shop__program__expiry_mode"], since=now
        )
    return changed


def inactivity_expires_at(
    *, member: Member, program: Program, mode_since: datetime, now
) -> datetime:
    """When the member's balance expires for inactivity if nothing happens until then."""
    return _idle_since(member, mode_since=mode_since, now=now) + timedelta(days=program.expiry_days)


def _idle_since(member: Member, *, mode_since: datetime, now: datetime) -> datetime:
    return max(member_inactivity_started_at(member=member, now=now), mode_since)


def expiry_expire_inactive(
    *, member: Member, program: Program, mode_since: datetime, now: datetime | None = None
) -> LedgerResult | None:
    """Expire the member's spendable balance if they have been inactive for `expiry_days`.

    The idempotency key names the member and the day the inactivity began, so a re-run (or a
    second worker) never expires twice for the same idle period; a balance restored later by
    the merchant stays until the member's next idle period runs out."""
    now = now or timezone.now()
    if program.expiry_mode != ExpiryMode.INACTIVITY:
        return None
    started = _idle_since(member, mode_since=mode_since, now=now)
    cutoff = now - timedelta(days=program.expiry_days)
    if started > cutoff:
        return None
    return ledger_expire_balance(
        member=member,
        idempotency_key=f"expiry:inactive:{member.pk}:{started.date().isoformat()}",
        inactive_since=cutoff,
        reason=f"Points expired after {program.expiry_days} days without activity",
        now=now,
    )


def expiry_reminders_for_member(
    *, member: Member, program: Program, mode_since: datetime, now: datetime | None = None
) -> list[ExpiryReminder]:
    """Send the member the reminders now due: spendable lots expiring within
    `expiry_reminder_days`, and under inactivity expiry the balance when its date is that
    close. Returns the reminders created (sent or failed)."""
    now = now or timezone.now()
    until = reminder_window(program=program, now=now)
    if until is None:
        return []
    due = []
    lots = member_lots_expiring(member=member, now=now, until=until)
    if lots:
        due.append(lots)
    if program.expiry_mode == ExpiryMode.INACTIVITY and member.points_balance > 0:
        at = inactivity_expires_at(member=member, program=program, mode_since=mode_since, now=now)
        if now < at <= until:
            due.append(Expiring(points=member.points_balance, first_at=at, last_at=at))
    reminders = []
    for expiring in due:
        reminder = expiry_reminder_send(member=member, program=program, expiring=expiring, now=now)
        if reminder is not None:
            reminders.append(reminder)
    return reminders


def expiry_reminder_send(
    *, member: Member, program: Program, expiring: Expiring, now: datetime | None = None
) -> ExpiryReminder | None:
    """Email the member about `expiring` unless they were already reminded of that expiry date.

    The reminder row is inserted first (its unique key is the guard), then the email is sent
    and the row marked sent, or failed for `expiry_reminders_retry`. Returns the row when this
    call created it."""
    now = now or timezone.now()
    if member.status != MemberStatus.ACTIVE or not member.email or expiring.points <= 0:
        return None
    try:
        with transaction.atomic():
            reminder = ExpiryReminder.objects.create(
                shop_id=member.shop_id,
                member=member,
                expires_on=_shop_date(program.shop, expiring.first_at),
                covers_until=expiring.last_at,
                points=expiring.points,
                created_at=now,
            )
    except IntegrityError:
        return None  # already reminded of this date
    _deliver(reminder, member=member, program=program, now=now)
    return reminder


def expiry_reminders_retry(*, now: datetime | None = None, stale_after=timedelta(hours=1)) -> int:
    """Send again reminders that failed (up to REMINDER_MAX_ATTEMPTS in all) or were left
    `sending` by a crash more than `stale_after` ago, while their date is still ahead. A crash
    after the email left but before the row was marked can, rarely, send it twice."""
    now = now or timezone.now()
    due = (
        ExpiryReminder.objects.filter(attempts__lt=REMINDER_MAX_ATTEMPTS, expires_on__gt=now.date())
        .filter(
            Q(state=ReminderState.FAILED, created_at__lt=now)  # not one this run just tried
            | Q(state=ReminderState.SENDING, created_at__lt=now - stale_after)
        )
        .select_related("member", "shop__program")
        .order_by("pk")[:500]
    )
    sent = 0
    for reminder in due:
        member = reminder.member
        if member.status != MemberStatus.ACTIVE or not member.email:
            continue
        if _deliver(reminder, member=member, program=reminder.shop.program, now=now):
            sent += 1
    return sent


def _shop_date(shop, at: datetime) -> date:
    """The day `at` falls on for the shop's customers (its timezone; UTC if unknown)."""
    try:
        zone = ZoneInfo(shop.iana_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).date()


def _deliver(reminder: ExpiryReminder, *, member: Member, program: Program, now) -> bool:
    context = {
        "first_name": member.first_name,
        "points": reminder.points,
        "points_name": program.points_name,
        "program_name": program.name,
        "shop_name": program.shop.name or program.shop.domain,
        "shop_url": f"https://{program.shop.domain}",
        "expires_on": reminder.expires_on,
        "last_expires_on": _shop_date(program.shop, reminder.covers_until),
    }
    subject = (
        f"{reminder.points} {program.points_name} at {context['shop_name']} "
        f"expire on {reminder.expires_on:%d %B %Y}"
    )
    try:
        send_mail(
            subject=subject,
            message=render_to_string("emails/points_expiring.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[member.email],
            html_message=render_to_string("emails/points_expiring.html", context),
        )
    except Exception as error:  # any transport failure: recorded, retried by the next runs
        logger.warning("expiry reminder %s not sent: %r", reminder.pk, error)
        ExpiryReminder.objects.filter(pk=reminder.pk).update(
            state=ReminderState.FAILED, attempts=F("attempts") + 1, last_error=repr(error)[:2000]
        )
        return False
    ExpiryReminder.objects.filter(pk=reminder.pk).update(
        state=ReminderState.SENT, attempts=F("attempts") + 1, sent_at=now, last_error=""
    )
    return True
