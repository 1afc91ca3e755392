"""Reads for points expiry: which members to look at, and what of theirs expires when."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.db.models import F, Max, Min, QuerySet, Sum
from django.db.models.functions import Coalesce

from loyalty.expiry.models import ExpiryReminder
from loyalty.ledger.models import EntryState, LedgerEntry
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import ExpiryMode, Program


@dataclasses.dataclass(frozen=True)
class Expiring:
    """What a reminder announces: `points` expire from `first_at`, the last of them at
    `last_at` (the same moment under inactivity expiry)."""

    points: int
    first_at: datetime
    last_at: datetime


def programs_for_expiry(*, modes: tuple[str, ...] | None = None) -> QuerySet[Program]:
    """Programs of installed shops, switched on, whose points can expire."""
    programs = Program.objects.filter(
        is_active=True, shop__installed_at__isnull=False, shop__uninstalled_at__isnull=True
    ).exclude(expiry_mode=ExpiryMode.NEVER)
    if modes is not None:
        programs = programs.filter(expiry_mode__in=modes)
    return programs.select_related("shop").order_by("pk")


def member_inactivity_started_at(*, member: Member, now: datetime) -> datetime:
    """The last activity (earn or redemption; enrolment when there was none), or the last time
    points became spendable, whichever is later."""
    started = member.last_activity_at or member.enrolled_at
    released = (
        LedgerEntry.objects.filter(member=member, points__gt=0, available_at__lte=now)
        .exclude(state=EntryState.VOID)  # due pending lots count: they are released on sight
        .aggregate(latest=Max("available_at"))["latest"]
    )
    return max(started, released) if released else started


def _with_idle_since(members: QuerySet[Member]) -> QuerySet[Member]:
    return members.annotate(idle_since=Coalesce(F("last_activity_at"), F("enrolled_at")))


def member_ids_idle(
    *, program: Program, idle_since_before: datetime, after_id: int, limit: int
) -> list[int]:
    """Members holding spendable points whose last activity is at or before
    `idle_since_before` (a superset: releases, checked per member, may move it later)."""
    members = _with_idle_since(
        Member.objects.filter(shop_id=program.shop_id, points_balance__gt=0, pk__gt=after_id)
    ).filter(idle_since__lte=idle_since_before)
    return list(members.order_by("pk").values_list("pk", flat=True)[:limit])


def member_ids_to_remind_of_inactivity(
    *,
    program: Program,
    idle_since_after: datetime | None,
    idle_since_before: datetime,
    after_id: int,
    limit: int,
) -> list[int]:
    """Active members with an email and spendable points, last active within the bounds."""
    members = _with_idle_since(
        Member.objects.filter(
            shop_id=program.shop_id,
            status=MemberStatus.ACTIVE,
            points_balance__gt=0,
            pk__gt=after_id,
        ).exclude(email="")
    ).filter(idle_since__lte=idle_since_before)
    if idle_since_after is not None:
        members = members.filter(idle_since__gt=idle_since_after)
    return list(members.order_by("pk").values_list("pk", flat=True)[:limit])


def member_ids_with_lots_expiring(
    *, program: Program, now: datetime, until: datetime, after_id: int, limit: int
) -> list[int]:
    """Active members with an email holding spendable lots that expire in (now, until]."""
    rows = (
        LedgerEntry.objects.filter(
            shop_id=program.shop_id,
            state=EntryState.ACTIVE,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=until,
            member_id__gt=after_id,
            member__status=MemberStatus.ACTIVE,
        )
        .exclude(member__email="")
        .order_by("member_id")
        .values_list("member_id", flat=True)
        .distinct()[:limit]
    )
    return list(rows)


def member_lots_expiring(*, member: Member, now: datetime, until: datetime) -> Expiring | None:
    """The member's spendable lots expiring in (now, until] that no earlier reminder covered;
    None when there are none."""
    covered = ExpiryReminder.objects.filter(member=member).aggregate(until=Max("covers_until"))
    lots = LedgerEntry.objects.filter(
        member=member,
        state=EntryState.ACTIVE,
        remaining__gt=0,
        expires_at__gt=max(now, covered["until"]) if covered["until"] else now,
        expires_at__lte=until,
    ).aggregate(
        points=Sum("remaining"),
        first=Min("expires_at"),
        last=Max("expires_at"),
    )
    if not lots["points"]:
        return None
    return Expiring(points=lots["points"], first_at=lots["first"], last_at=lots["last"])


def reminder_window(*, program: Program, now: datetime) -> datetime | None:
    """Expiries up to this moment are reminded of now; None when the program sends none."""
    if not program.expiry_reminder_days:
        return None
    return now + timedelta(days=program.expiry_reminder_days)
