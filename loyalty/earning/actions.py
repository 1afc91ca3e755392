"""Points for actions: joining, birthdays, anniversaries, the newsletter, reviews, social
follows and shares, and custom actions from the merchant's own code.

A claim is a ledger credit whose idempotency key is `action:{rule}:{member}:{period}`: the
period is "once", the day or the year (in the shop's timezone) per the rule's cap, so a second
claim in the same period is a replay that returns the first entry and changes nothing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from loyalty.earning.models import ActionCap, ActionKind, ActionRule
from loyalty.expiry.services import credit_expires_at
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Program, Shop


class ActionError(Exception):
    code = "action_unavailable"


@dataclass(frozen=True)
class Claim:
    rule: ActionRule
    entry: LedgerEntry
    created: bool  # False: already claimed in this period


def _local_day(shop: Shop, now: datetime) -> date:
    try:
        zone = ZoneInfo(shop.iana_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def _period(cap: str, day: date) -> str:
    return {
        ActionCap.ONCE: "once",
        ActionCap.PER_DAY: day.isoformat(),
        ActionCap.PER_YEAR: str(day.year),
    }[cap]


def action_claim_key(*, rule_id: int, cap: str, member_id: int, day: date) -> str:
    """The ledger key of a member's claim of a rule in the period holding `day` (the shop's
    local day: `action_local_day`); a second claim in that period finds it taken."""
    return f"action:{rule_id}:{member_id}:{_period(cap, day)}"


def action_local_day(*, shop: Shop, now: datetime) -> date:
    """The day it is in the shop's timezone: what action caps count in."""
    return _local_day(shop, now)


def active_action_rules(*, shop: Shop, now: datetime | None = None):
    now = now or timezone.now()
    return ActionRule.objects.filter(shop=shop, enabled=True).filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    )


def action_claim(
    *, shop: Shop, member: Member, action: str, key: str = "", now: datetime | None = None
) -> list[Claim]:
    """Credit every active rule for `action` (and `key`, for social networks and custom
    actions) that the member has not claimed in its period. Returns what was claimed or
    found already claimed; raises ActionError when no rule rewards this action."""
    if member.shop_id != shop.pk:
        raise ActionError("That member belongs to another shop.")
    if member.status != MemberStatus.ACTIVE:
        raise ActionError("Only active members earn points.")
    now = now or timezone.now()
    rules = active_action_rules(shop=shop, now=now).filter(action=action)
    if action in (ActionKind.SOCIAL_FOLLOW, ActionKind.SOCIAL_SHARE, ActionKind.CUSTOM):
        rules = rules.filter(key=key)
    rules = list(rules.order_by("pk"))
    if not rules:
        raise ActionError(f"No active rule rewards {action!r}{f' ({key})' if key else ''}.")
    day = _local_day(shop, now)
    expires_at = credit_expires_at(program=Program.objects.get(shop=shop), earned_at=now)
    claims = []
    for rule in rules:
        result = ledger_credit(
            member=member,
            points=rule.points,
            idempotency_key=action_claim_key(
                rule_id=rule.pk, cap=rule.cap, member_id=member.pk, day=day
            ),
            source_type="action",
            source_id=f"{rule.action}:{rule.pk}",
            reason=rule.name,
            expires_at=expires_at,
            now=now,
        )
        claims.append(Claim(rule, result.entry, result.created))
    return claims


def action_claim_if_rewarded(**kwargs) -> list[Claim]:
    """The same, for the platform's own signals (signup, newsletter): no rule, no claim."""
    try:
        return action_claim(**kwargs)
    except ActionError:
        return []


def members_celebrating(*, shop: Shop, action: str, now: datetime | None = None):
    """Members whose birthday or membership anniversary is today in the shop's timezone."""
    day = _local_day(shop, now or timezone.now())
    members = Member.objects.filter(shop=shop, status=MemberStatus.ACTIVE)
    if action == ActionKind.BIRTHDAY:
        today = Q(birthday_month=day.month, birthday_day=day.day)
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            today |= Q(birthday_month=2, birthday_day=29)  # leap-day birthdays on the 28th
        return members.filter(today)
    return members.filter(enrolled_at__month=day.month, enrolled_at__day=day.day).exclude(
        enrolled_at__year=day.year
    )
