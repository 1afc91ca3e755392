"""Changes a merchant makes from the admin's core pages; each writes its audit row in the same
transaction as the change."""

from __future__ import annotations

from django.db import transaction

from loyalty.audit.services import audit_record, audit_snapshot, staff_actor
from loyalty.ledger.models import EntryKind
from loyalty.ledger.services import LedgerResult, ledger_credit, ledger_debit
from loyalty.members.models import Member
from loyalty.members.services import member_lock
from loyalty.platforms.shopify.models import WebhookDelivery
from loyalty.platforms.shopify.webhooks import deliveries_replay
from loyalty.shops.models import Shop

ADJUSTMENT_SOURCE = "adjustment"
MEMBER_FIGURES = ["points_balance", "points_pending", "points_debt", "lifetime_earned"]


class NotThisShops(Exception):
    """An id that is not one of the shop's (answered as not found)."""


def member_adjust(
    *,
    member: Member,
    points: int,
    reason: str,
    idempotency_key: str,
    user_id: str | None = None,
    actor: str | None = None,
    key_space: str = "admin-adjust",
) -> LedgerResult:
    """Add (points > 0) or take away (points < 0) points by hand, through the ledger, once per
    `idempotency_key` (a replay changes nothing and records nothing). Taking more than the
    spendable balance raises `InsufficientPoints` and changes nothing.

    A staff member (`user_id`) adjusts from the admin; another caller names itself with `actor`
    (an API key: `api:<prefix>`) and brings its own `key_space`, so that its clients' keys can
    never replay, or be refused by, a change made from the admin's forms."""
    actor = actor or staff_actor(user_id=user_id)
    fields = {
        "member": member,
        "idempotency_key": f"{key_space}:{idempotency_key}",
        "source_type": ADJUSTMENT_SOURCE,
        "kind": EntryKind.ADJUST,
        "reason": reason,
        "actor": actor,
    }
    with transaction.atomic():
        before = audit_snapshot(instance=member_lock(member_id=member.pk), fields=MEMBER_FIGURES)
        if points > 0:
            result = ledger_credit(points=points, **fields)
        else:
            result = ledger_debit(points=-points, **fields)
        if result.created:
            audit_record(
                shop=member.shop,
                actor=actor,
                action="members.adjust",
                target=member,
                before=before,
                after=audit_snapshot(instance=member, fields=MEMBER_FIGURES),
                note=f"{points:+d} points: {reason}",
            )
    return result


def webhook_deliveries_replay(*, shop: Shop, ids: list[int], user_id: str | None) -> int:
    """Queue the shop's chosen deliveries again. Raises NotThisShops (and queues nothing) when
    an id is not one of the shop's deliveries."""
    with transaction.atomic():
        found = list(
            WebhookDelivery.objects.filter(shop_domain=shop.domain, pk__in=ids)
            .order_by("pk")
            .values("pk", "topic", "status")
        )
        if len(found) != len(set(ids)):
            raise NotThisShops
        count = deliveries_replay(ids=[row["pk"] for row in found])
        audit_record(
            shop=shop,
            actor=staff_actor(user_id=user_id),
            action="operations.replay",
            target_type="shopify.webhookdelivery",
            target_id=",".join(str(row["pk"]) for row in found)[:64],
            before={"deliveries": [[row["pk"], row["topic"], row["status"]] for row in found]},
            note=f"{count} webhook deliveries queued again",
        )
    return count
