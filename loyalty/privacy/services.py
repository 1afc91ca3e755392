"""Privacy requests: export what Setia holds on a customer, erase a customer, erase a shop.
Each is recorded once per request (`source_id` is unique), so a repeated request is harmless."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.analytics.services import analytics_customer_redact
from loyalty.earning.models import OrderRecord
from loyalty.earning.services import order_records_redact
from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member
from loyalty.members.services import member_redact
from loyalty.privacy.models import PrivacyRequest, PrivacyRequestKind
from loyalty.referrals.codes import email_normalised
from loyalty.referrals.models import ReferralClaim
from loyalty.referrals.services import referral_claims_redact
from loyalty.shops.models import Shop


def _record(
    *, shop: Shop, kind: str, source_id: str, platform_customer_id: str = "", received_at
) -> PrivacyRequest | None:
    """Insert the request's row; None when this request was already handled."""
    try:
        with transaction.atomic():
            return PrivacyRequest.objects.create(
                shop=shop,
                shop_domain=shop.domain,
                kind=kind,
                platform_customer_id=platform_customer_id,
                source_id=source_id,
                received_at=received_at or timezone.now(),
            )
    except IntegrityError:
        return None


def _complete(
    request: PrivacyRequest, *, summary: str, export: dict | None = None
) -> PrivacyRequest:
    request.export = export
    request.summary = summary
    request.completed_at = timezone.now()
    request.save()
    return request


def _referral_export(
    *, shop: Shop, platform_customer_id: str, member: Member | None, email: str
) -> dict:
    """The customer's referrals: those they made (without their friends' emails: another
    person's data) and the welcome codes they claimed as a friend."""
    made = (
        ReferralClaim.objects.filter(shop=shop, referrer=member).order_by("created_at", "pk")
        if member is not None
        else ReferralClaim.objects.none()
    )
    as_friend = Q(friend_customer_id=platform_customer_id)
    for known in (email, member.email if member is not None else ""):
        if known:  # the request's email, the member's
            as_friend |= Q(friend_email=email_normalised(known))
    claimed = ReferralClaim.objects.filter(as_friend, shop=shop).order_by("created_at", "pk")
    return {
        "made": [
            {"created_at": c.created_at.isoformat(), "status": c.status, "points": c.points}
            for c in made
        ],
        "claimed": [
            {"created_at": c.created_at.isoformat(), "code": c.code, "status": c.status}
            for c in claimed
        ],
    }


def customer_export(*, shop: Shop, platform_customer_id: str, email: str = "") -> dict:
    member = Member.objects.filter(shop=shop, platform_customer_id=platform_customer_id).first()
    referrals = _referral_export(
        shop=shop, platform_customer_id=platform_customer_id, member=member, email=email
    )
    if member is None:
        return {
            "customer_id": platform_customer_id,
            "member": None,
            "ledger": [],
            "referrals": referrals,
        }
    ledger = LedgerEntry.objects.filter(shop=shop, member=member).order_by("created_at", "pk")
    return {
        "customer_id": platform_customer_id,
        "member": {
            "email": member.email,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "birthday": {
                "year": member.birthday_year,
                "month": member.birthday_month,
                "day": member.birthday_day,
            },
            "status": member.status,
            "enrolled_at": member.enrolled_at.isoformat(),
            "points": {
                "balance": member.points_balance,
                "pending": member.points_pending,
                "lifetime_earned": member.lifetime_earned,
                "lifetime_spent": member.lifetime_spent,
            },
        },
        "ledger": [
            {
                "created_at": e.created_at.isoformat(),
                "kind": e.kind,
                "points": e.points,
                "state": e.state,
                "source": f"{e.source_type}:{e.source_id}",
                "reason": e.reason,
            }
            for e in ledger
        ],
        "referrals": referrals,
    }


def privacy_customer_data_request(
    *,
    shop: Shop,
    platform_customer_id: str,
    source_id: str,
    received_at: datetime | None,
    email: str = "",
) -> PrivacyRequest | None:
    with transaction.atomic():
        request = _record(
            shop=shop,
            kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST,
            source_id=source_id,
            platform_customer_id=platform_customer_id,
            received_at=received_at,
        )
        if request is None:
            return None
        return _complete(
            request,
            summary="Export ready for the merchant.",
            export=customer_export(
                shop=shop, platform_customer_id=platform_customer_id, email=email
            ),
        )


def privacy_customer_redact(
    *,
    shop: Shop,
    platform_customer_id: str,
    source_id: str,
    received_at: datetime | None,
    scrub_records,
    order_ids: tuple[str, ...] = (),
    email: str = "",
) -> PrivacyRequest | None:
    """Erase the customer's personal data. `scrub_records(shop, customer_id)` lets the platform
    adapter erase its own copies (raw webhook bodies) in the same transaction."""
    with transaction.atomic():
        request = _record(
            shop=shop,
            kind=PrivacyRequestKind.CUSTOMER_REDACT,
            source_id=source_id,
            platform_customer_id=platform_customer_id,
            received_at=received_at,
        )
        if request is None:
            return None
        # Their emails as the request, the stored orders and the member know them, read before
        # the last two erase them: guests' analytics days and referral claims name emails.
        emails = [
            email,
            *OrderRecord.objects.filter(
                Q(platform_customer_id=platform_customer_id) | Q(order_id__in=list(order_ids)),
                shop=shop,
            ).values_list("email", flat=True),
            *Member.objects.filter(shop=shop, platform_customer_id=platform_customer_id)
            .exclude(email="")
            .values_list("email", flat=True),
        ]
        analytics_customer_redact(
            shop=shop, platform_customer_id=platform_customer_id, emails=emails
        )
        referral_claims_redact(shop=shop, platform_customer_id=platform_customer_id, emails=emails)
        member = member_redact(shop=shop, platform_customer_id=platform_customer_id)
        scrubbed = scrub_records(shop, platform_customer_id)
        scrubbed += order_records_redact(
            shop=shop, platform_customer_id=platform_customer_id, order_ids=order_ids
        )
        # Exports made earlier for this customer hold the same personal data.
        PrivacyRequest.objects.filter(
            shop=shop,
            platform_customer_id=platform_customer_id,
            kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST,
        ).update(export=None, summary="Export erased by a later redact request.")
        return _complete(
            request,
            summary=f"Member {'redacted' if member else 'not found'}; "
            f"{scrubbed} stored record(s) scrubbed.",
        )


def privacy_shop_redact(
    *, shop: Shop, source_id: str, received_at: datetime | None, delete_records
) -> PrivacyRequest | None:
    """Delete everything Setia holds for the shop; keep only this audit row (domain, times).
    `delete_records(shop)` lets the platform adapter delete its own copies first."""
    with transaction.atomic():
        request = _record(
            shop=shop,
            kind=PrivacyRequestKind.SHOP_REDACT,
            source_id=source_id,
            received_at=received_at,
        )
        if request is None:
            return None
        deleted_records = delete_records(shop)
        PrivacyRequest.objects.filter(shop=shop).update(export=None)
        members = Member.objects.filter(shop=shop).count()
        shop.delete()
        request.refresh_from_db()
        return _complete(
            request,
            summary=f"Shop data deleted: {members} member(s) with their ledgers, "
            f"{deleted_records} stored record(s).",
        )
