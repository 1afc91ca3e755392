"""Reads of the rewards catalogue and of redemptions, for the widget, the admin and tasks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from loyalty.members.models import Member
from loyalty.rewards.models import Redemption, RedemptionStatus, Reward, RewardKind
from loyalty.rewards.services import SPENT_STATUSES, reward_claim_problem
from loyalty.shops.models import Shop


def rewards_active(*, shop: Shop, now: datetime | None = None):
    now = now or timezone.now()
    return (
        Reward.objects.filter(shop=shop, enabled=True)
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("points_cost", "pk")
    )


def reward_as_dict(reward: Reward, *, currency: str) -> dict:
    item = {
        "id": str(reward.pk),
        "name": reward.name,
        "kind": reward.kind,
        "points_cost": reward.points_cost,
        "value": str(reward.value) if reward.kind != RewardKind.FREE_SHIPPING else None,
        "currency": currency,
        "minimum_subtotal": str(reward.minimum_subtotal) if reward.minimum_subtotal else None,
        "code_expiry_days": reward.code_expiry_days,
    }
    if reward.kind == RewardKind.POINTS_TO_MONEY:
        item["min_points"] = max(reward.min_points or reward.points_cost, reward.points_cost)
        item["max_points"] = reward.max_points
    elif reward.kind == RewardKind.FREE_PRODUCT:
        item["product_variant_id"] = reward.product_variant_id
    elif reward.kind == RewardKind.CHARITY:
        item["cause"] = reward.cause
    return item


def rewards_for_member(
    *,
    shop: Shop,
    member: Member | None,
    now: datetime | None = None,
    rewards: Iterable[Reward] | None = None,
    signed_in: bool = False,
) -> dict[str, list[dict]]:
    """What the member can claim now, and what is still out of reach (with why and how many
    points are missing). A guest claims nothing: every active reward is locked for sign-in.
    `rewards`: the shop's active rewards when the caller already has them (a cached list).
    `signed_in`: the shopper is logged in (not yet a member when `member` is None)."""
    now = now or timezone.now()
    rewards = list(rewards_active(shop=shop, now=now) if rewards is None else rewards)
    claimed: dict[int, int] = {}
    if member is not None and any(r.per_customer_limit is not None for r in rewards):
        claimed = dict(
            Redemption.objects.filter(member=member, status__in=SPENT_STATUSES)
            .values_list("reward_id")
            .annotate(n=Count("pk"))
        )
    balance = member.points_balance if member is not None else 0
    available, locked = [], []
    for reward in rewards:
        item = reward_as_dict(reward, currency=shop.currency)
        cost = item.get("min_points", reward.points_cost)
        if member is None:
            # A signed-in shopper with no points yet needs points, not an account.
            reason = "points" if signed_in else "sign_in"
            locked.append({**item, "locked_reason": reason, "points_needed": cost})
            continue
        problem = reward_claim_problem(reward=reward, member=member, now=now)
        if problem:
            locked.append({**item, "locked_reason": "tier", "points_needed": 0})
        elif reward.per_customer_limit is not None and (
            claimed.get(reward.pk, 0) >= reward.per_customer_limit
        ):
            locked.append({**item, "locked_reason": "limit_reached", "points_needed": 0})
        elif balance < cost:
            locked.append({**item, "locked_reason": "points", "points_needed": cost - balance})
        else:
            available.append(item)
    return {"available": available, "locked": locked}


def redemption_as_dict(redemption: Redemption) -> dict:
    reward = redemption.reward
    code = redemption.code if redemption.status != RedemptionStatus.FAILED else ""
    return {
        "id": str(redemption.pk),
        "reward_id": str(reward.pk),
        "reward_name": reward.name,
        "kind": reward.kind,
        "status": redemption.status,
        "code": code or None,
        "points_spent": redemption.points,
        "value": str(redemption.money_value) if redemption.money_value is not None else None,
        "apply_url": (
            f"https://{redemption.shop.domain}/discount/{code}"
            if code and redemption.status == RedemptionStatus.ISSUED
            else None
        ),
        "expires_at": redemption.expires_at.isoformat() if redemption.expires_at else None,
        "created_at": redemption.created_at.isoformat(),
        "used_at": redemption.used_at.isoformat() if redemption.used_at else None,
        "cause": reward.cause if reward.kind == RewardKind.CHARITY else None,
    }


# The widget asks for these on every page view: one plain statement, no ORM query to compile.
_RECENT_SQL = (
    "SELECT id, shop_id, member_id, reward_id, status, points, money_value, code, expires_at, "
    "created_at, used_at FROM rewards_redemption WHERE member_id = %s AND status <> %s "
    "ORDER BY created_at DESC, id DESC LIMIT %s"
)


def recent_redemptions(
    *, member: Member, limit: int = 5, rewards: Iterable[Reward] = ()
) -> list[dict]:
    """The member's latest redemptions with their codes, newest first (failed ones left out:
    their points came back and they have no code). `rewards`: reward objects the caller already
    holds (a cached catalogue); any other reward is read when needed."""
    known = {reward.pk: reward for reward in rewards}
    rows = list(
        Redemption.objects.raw(_RECENT_SQL, [member.pk, RedemptionStatus.FAILED, int(limit)])
    )
    for row in rows:
        row.shop = member.shop  # the member's (often already loaded): not a read per row
        if row.reward_id in known:
            row.reward = known[row.reward_id]
    return [redemption_as_dict(r) for r in rows]


def donations_by_cause(*, shop: Shop) -> list[dict]:
    """What members pledged to each cause: points and their worth in shop money."""
    rows = (
        Redemption.objects.filter(shop=shop, status=RedemptionStatus.DONATED)
        .values("reward__cause")
        .annotate(points=Sum("points"), money=Sum("money_value"), count=Count("pk"))
        .order_by("reward__cause")
    )
    return [
        {
            "cause": row["reward__cause"],
            "donations": row["count"],
            "points": row["points"],
            "money": str(Decimal(row["money"] or 0).quantize(Decimal("0.01"))),
            "currency": shop.currency,
        }
        for row in rows
    ]


def redemptions_due_to_expire(*, now: datetime, limit: int) -> list[int]:
    """Issued codes past their end (and past the grace for late orders)."""
    cutoff = now - timedelta(seconds=settings.REWARDS_EXPIRED_CODE_GRACE_SECONDS)
    return list(
        Redemption.objects.filter(status=RedemptionStatus.ISSUED, expires_at__lte=cutoff)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def redemptions_to_settle(*, now: datetime, idle_for: timedelta, limit: int) -> list[int]:
    """Pending redemptions no request has touched for `idle_for`."""
    return list(
        Redemption.objects.filter(status=RedemptionStatus.PENDING, updated_at__lte=now - idle_for)
        .order_by("updated_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def redemption_codes_open(*, shop: Shop, codes) -> set[str]:
    """Which of these discount codes are Setia codes still waiting to be used (an order that
    used one marks it used: `redemption_mark_used`). Codes compare as stored: upper case."""
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    if not wanted:
        return set()
    return set(
        Redemption.objects.filter(
            shop=shop,
            code__in=wanted,
            status__in=(RedemptionStatus.ISSUED, RedemptionStatus.PENDING),
        ).values_list("code", flat=True)
    )
