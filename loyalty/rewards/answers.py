"""How a request to redeem is answered over HTTP: for every refusal and outcome of
`reward_redeem`, the status, the contract's body and the headers. The storefront (app proxy,
checkout, standalone widget) and the REST API answer alike, so one client handles both."""

from __future__ import annotations

import dataclasses

from loyalty.core.errors import error_body
from loyalty.core.platform import PlatformError
from loyalty.ledger.services import InsufficientPoints
from loyalty.members.models import Member
from loyalty.rewards import services as rewards
from loyalty.rewards.models import Redemption, RedemptionStatus, Reward
from loyalty.rewards.selectors import redemption_as_dict

_REFUSALS = {
    InsufficientPoints: 409,
    rewards.RewardUnavailable: 404,
    rewards.RewardLimitReached: 409,
    rewards.RedemptionKeyReused: 409,
    rewards.InvalidPoints: 400,
    rewards.InvalidKey: 400,
}


@dataclasses.dataclass(frozen=True)
class RedeemAnswer:
    status: int
    body: dict
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    created: bool = False  # a new redemption was made (not a replay of its key, nor refused)


def redeem_and_answer(
    *,
    member: Member,
    reward: Reward,
    idempotency_key: str,
    points: int | None,
    actor: str = "member",
) -> RedeemAnswer:
    """`reward_redeem`, answered: 200 with the redemption and the new balance, or the error."""
    try:
        result = rewards.reward_redeem(
            member=member,
            reward=reward,
            idempotency_key=idempotency_key,
            points=points,
            actor=actor,
        )
    except rewards.RateLimited as refused:
        return RedeemAnswer(
            429,
            error_body(refused.code, refused.message),
            {"Retry-After": str(refused.retry_after)},
        )
    except tuple(_REFUSALS) as refused:
        return RedeemAnswer(_REFUSALS[type(refused)], error_body(refused.code, str(refused)))
    except (PlatformError, rewards.RedemptionError) as failed:
        return RedeemAnswer(503, error_body("platform_unavailable", str(failed)))
    answer = _redemption_answer(result.redemption)
    return dataclasses.replace(answer, created=result.created and answer.status == 200)


def _redemption_answer(redemption: Redemption) -> RedeemAnswer:
    """A redemption's outcome: issued (or donated) is 200; held while the store has not
    answered, or failed with the points returned, is 503."""
    if redemption.status == RedemptionStatus.PENDING:
        return RedeemAnswer(
            503,
            error_body(
                "redemption_pending",
                "The store has not confirmed your code yet. Your points are held; try "
                "again in a moment with the same idempotency_key.",
            ),
            {"Retry-After": "5"},
        )
    if redemption.status == RedemptionStatus.FAILED:
        return RedeemAnswer(
            503,
            error_body(
                "platform_unavailable",
                "The store could not create your code; your points were returned.",
            ),
        )
    balance = Member.objects.values_list("points_balance", flat=True).get(pk=redemption.member_id)
    return RedeemAnswer(
        200,
        {"redemption": redemption_as_dict(redemption), "balance": balance},
        {"Cache-Control": "private, no-store"},
    )
