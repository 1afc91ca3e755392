"""`/api/v1/`: the REST API for merchants' own code and the apps they connect (review apps
claim review points here). Every request carries one of the shop's API keys; every query is
scoped by that key's shop, so another shop's customer answers 404 like an unknown one."""

from __future__ import annotations

from django.http import Http404
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings

from loyalty.api.authentication import ApiKeyAuthentication, PerKeyThrottle
from loyalty.api.services import (
    MAX_ADJUSTMENT,
    REDEEM_KEY_PREFIX,
    AdjustmentOutOfRange,
    api_member_adjust,
)
from loyalty.core.errors import error_body
from loyalty.earning.actions import ActionError, action_claim
from loyalty.earning.models import ActionKind
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import member_history
from loyalty.ledger.services import IdempotencyKeyReused, InsufficientPoints
from loyalty.members.models import Member, MemberStatus
from loyalty.rewards.answers import redeem_and_answer
from loyalty.rewards.models import Redemption, Reward
from loyalty.rewards.selectors import redemption_as_dict, reward_as_dict, rewards_active

LEDGER_PAGE = 50
LEDGER_PAGE_MAX = 200
REDEMPTIONS_SHOWN = 50
MAX_ID = 2**63 - 1  # the largest primary key: beyond it nothing can match


def _endpoint(methods: list[str]):
    """An API view: key authentication, per-key throttling, the contract's error shape."""

    def wrap(view):
        view = throttle_classes([PerKeyThrottle])(view)
        view = permission_classes([IsAuthenticated])(view)
        view = authentication_classes([ApiKeyAuthentication])(view)
        return api_view(methods)(view)

    return wrap


def _member(request, customer_id: str) -> Member:
    member = (
        Member.objects.filter(shop=request.user.shop, platform_customer_id=str(customer_id))
        .exclude(status=MemberStatus.REDACTED)
        .select_related("tier")
        .first()
    )
    if member is None:
        raise Http404("No member with this customer id.")
    return member


def member_as_dict(member: Member) -> dict:
    return {
        "customer_id": member.platform_customer_id,
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "points": {
            "balance": member.points_balance,
            "pending": member.points_pending,
            "lifetime_earned": member.lifetime_earned,
            "lifetime_spent": member.lifetime_spent,
            "debt": member.points_debt,
        },
        "tier": {"name": member.tier.name} if member.tier else None,
        "last_activity_at": member.last_activity_at,
    }


def entry_as_dict(entry: LedgerEntry) -> dict:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "state": entry.state,
        "points": entry.points,
        "source": {"type": entry.source_type, "id": entry.source_id},
        "reason": entry.reason,
        "created_at": entry.created_at,
        "available_at": entry.available_at,
        "expires_at": entry.expires_at,
    }


@_endpoint(["GET"])
def member_detail(request, customer_id: str) -> Response:
    """`GET /api/v1/members/{customer_id}`: balance, pending, lifetime figures and tier."""
    return Response(member_as_dict(_member(request, customer_id)))


class _Page(serializers.Serializer):
    before = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=LEDGER_PAGE_MAX)


@_endpoint(["GET"])
def member_ledger(request, customer_id: str) -> Response:
    """`GET /api/v1/members/{customer_id}/ledger?before=&limit=`: newest first, keyset paged:
    `next` is the `before` of the following page (null on the last)."""
    member = _member(request, customer_id)
    page = _Page(data=request.query_params)
    page.is_valid(raise_exception=True)
    limit = page.validated_data.get("limit", LEDGER_PAGE)
    entries = member_history(shop=request.user.shop, member=member).order_by("-pk")
    if "before" in page.validated_data:
        entries = entries.filter(pk__lt=page.validated_data["before"])
    rows = list(entries[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Response(
        {
            "entries": [entry_as_dict(e) for e in rows],
            "next": rows[-1].pk if more else None,
        }
    )


class _ActionClaim(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[
            ActionKind.REVIEW,
            ActionKind.SOCIAL_FOLLOW,
            ActionKind.SOCIAL_SHARE,
            ActionKind.CUSTOM,
            ActionKind.NEWSLETTER,
        ]
    )
    key = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


@_endpoint(["POST"])
def member_actions(request, customer_id: str) -> Response:
    """`POST /api/v1/members/{customer_id}/actions` `{"action": "review"}` (or `custom` /
    `social_follow` / `social_share` with `"key"`): credit every active rule for it that the
    member has not claimed in its period. 201 when points were credited, 200 when the period's
    claim was already made (nothing changes), 404 when no active rule rewards it."""
    member = _member(request, customer_id)
    body = _ActionClaim(data=request.data)
    body.is_valid(raise_exception=True)
    action, key = body.validated_data["action"], body.validated_data["key"].strip()
    if action in (ActionKind.SOCIAL_FOLLOW, ActionKind.SOCIAL_SHARE, ActionKind.CUSTOM) and not key:
        return Response(
            error_body("invalid", f"{action} needs a key (the network, or your action's name)."),
            status=400,
        )
    try:
        claims = action_claim(shop=request.user.shop, member=member, action=action, key=key)
    except ActionError as refused:
        return Response(error_body(refused.code, str(refused)), status=404)
    member.refresh_from_db()
    return Response(
        {
            "claims": [
                {
                    "rule": claim.rule.name,
                    "points": claim.entry.points,
                    "credited": claim.created,
                    "entry_id": claim.entry.pk,
                }
                for claim in claims
            ],
            "member": member_as_dict(member),
        },
        status=201 if any(claim.created for claim in claims) else 200,
    )


@_endpoint(["GET"])
def reward_list(request) -> Response:
    """`GET /api/v1/rewards`: the rewards members can claim now, cheapest first."""
    shop = request.user.shop
    return Response(
        {"rewards": [reward_as_dict(r, currency=shop.currency) for r in rewards_active(shop=shop)]}
    )


class _WholeNumber(serializers.IntegerField):
    """A JSON integer: not a string of digits, a fraction or a boolean."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class _Text(serializers.CharField):
    """A JSON string (not a number turned into one); no NUL or lone surrogate (DRF's)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _invalid(errors: dict) -> Response:
    """400 `invalid` naming each bad field, in words (not DRF's nested error structure)."""
    problems = []
    for field, messages in errors.items():
        name = "body" if field == api_settings.NON_FIELD_ERRORS_KEY else field
        problems.append(f"{name}: {' '.join(str(m) for m in messages)}")
    return Response(error_body("invalid", "; ".join(problems)), status=400)


class _Adjustment(serializers.Serializer):
    points = _WholeNumber(min_value=-MAX_ADJUSTMENT, max_value=MAX_ADJUSTMENT)
    reason = _Text(max_length=255)
    idempotency_key = _Text(max_length=100)

    def validate_points(self, points: int) -> int:
        if points == 0:
            raise serializers.ValidationError(
                "Send a number of points other than 0: positive to add, negative to take away."
            )
        return points


@_endpoint(["POST"])
def member_adjustments(request, customer_id: str) -> Response:
    """`POST /api/v1/members/{customer_id}/adjustments` `{"points": -40, "reason": "...",
    "idempotency_key": "..."}`: the admin's manual adjustment, recorded as made by the key.
    201 with the entry and the member; 200 with the same when the key is replayed with the same
    change; 409 when the key was used for another change, or when taking more than the
    spendable balance (nothing written)."""
    member = _member(request, customer_id)
    body = _Adjustment(data=request.data)
    if not body.is_valid():
        return _invalid(body.errors)
    data = body.validated_data
    try:
        result = api_member_adjust(
            member=member,
            points=data["points"],
            reason=data["reason"],
            idempotency_key=data["idempotency_key"],
            actor=request.user.actor,
        )
    except AdjustmentOutOfRange as refused:
        return Response(error_body("invalid", str(refused)), status=400)
    except InsufficientPoints as refused:
        return Response(error_body(refused.code, str(refused)), status=409)
    except IdempotencyKeyReused as refused:
        message = "This idempotency_key was already used for a different adjustment."
        return Response(error_body(refused.code, message), status=409)
    member.refresh_from_db()
    return Response(
        {"entry": entry_as_dict(result.entry), "member": member_as_dict(member)},
        status=201 if result.created else 200,
    )


class _Redeem(serializers.Serializer):
    reward_id = _WholeNumber()
    idempotency_key = _Text(max_length=100)
    # Checked against the reward by `reward_redeem` (only variable rewards take a choice).
    points = _WholeNumber(required=False, allow_null=True, default=None)


@_endpoint(["GET", "POST"])
def member_redemptions(request, customer_id: str) -> Response:
    """`GET /api/v1/members/{customer_id}/redemptions`: the member's latest redemptions,
    newest first, with their status and code.

    `POST` `{"reward_id": 12, "idempotency_key": "...", "points": 1500?}`: redeem one of the
    shop's rewards for the member, as the storefront does and with its answers (the store's
    failures included), except that a new redemption is 201 (a replay of its key is 200)."""
    member = _member(request, customer_id)
    if request.method == "GET":
        return _redemption_list(member)
    body = _Redeem(data=request.data)
    if not body.is_valid():
        return _invalid(body.errors)
    data = body.validated_data
    reward_id = data["reward_id"]
    reward = (
        Reward.objects.filter(shop=request.user.shop, pk=reward_id).first()
        if 0 < reward_id <= MAX_ID
        else None
    )
    if reward is None:
        return Response(error_body("unknown_reward", "No such reward."), status=404)
    answer = redeem_and_answer(
        member=member,
        reward=reward,
        # The API's own key space: a client's key never replays a shopper's widget redemption.
        idempotency_key=REDEEM_KEY_PREFIX + data["idempotency_key"],
        points=data["points"],
        actor=request.user.actor,
    )
    return Response(
        answer.body, status=201 if answer.created else answer.status, headers=answer.headers
    )


def _redemption_list(member: Member) -> Response:
    redemptions = (
        Redemption.objects.filter(shop_id=member.shop_id, member=member)
        .select_related("reward", "shop")
        .order_by("-created_at", "-pk")[:REDEMPTIONS_SHOWN]
    )
    return Response({"redemptions": [redemption_as_dict(r) for r in redemptions]})
