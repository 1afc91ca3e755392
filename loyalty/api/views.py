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

from loyalty.api.authentication import ApiKeyAuthentication, PerKeyThrottle
from loyalty.core.errors import error_body
from loyalty.earning.actions import ActionError, action_claim
from loyalty.earning.models import ActionKind
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import member_history
from loyalty.members.models import Member, MemberStatus
from loyalty.rewards.selectors import reward_as_dict, rewards_active

LEDGER_PAGE = 50
LEDGER_PAGE_MAX = 200


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
