"""Referral writes: the merchant's terms, a friend's welcome code, the referrer's points.

Rules:
- A friend (an email, normalised: `codes.email_normalised`) gets one welcome code per shop,
  whichever link they came through; asking again shows the same code. The code is chosen and
  recorded first, then asked of the store (single use, any customer), so asking again after a
  timeout is safe: the store answers that our code is taken and the gateway returns it.
- Refused at once, with nothing issued: the referrer's own email, and an email that already
  has paid orders with the shop (as Setia has heard of them).
- The referrer is credited `referrer_points` when an order using the code is paid, is the
  friend's first paid order, is not the referrer's own (customer id or email), the referrer
  is still an active member, under the monthly cap of rewarded referrals, and referrals are
  still on. A refusal is kept on the claim with its reason. The credit's key is
  `referral:<claim id>`, pending for the program's pending days as order points are.
- When that order is cancelled or fully refunded, the credit is reversed (once).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.audit.services import audit_record, audit_snapshot
from loyalty.core.platform import DiscountCodeSpec, DiscountKind, PlatformError, gateway_for
from loyalty.earning.models import OrderRecord
from loyalty.earning.pending import order_available_at
from loyalty.expiry.services import credit_expires_at
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit, ledger_reverse
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_lock, redacted_customer_id
from loyalty.referrals.codes import email_normalised
from loyalty.referrals.models import (
    ClaimStatus,
    FriendDiscountKind,
    ReferralClaim,
    ReferralProgram,
)
from loyalty.shops.models import Program, Shop, ShortfallPolicy

_CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# --- the merchant's terms -------------------------------------------------------------------


def referral_program_update(
    *, shop: Shop, actor: str, changes: Mapping[str, Any]
) -> ReferralProgram:
    """Save the shop's referral terms with an audit row (who, before, after)."""
    fields = list(changes)
    with transaction.atomic():
        ReferralProgram.objects.get_or_create(shop=shop)
        locked = ReferralProgram.objects.select_for_update().get(shop=shop)
        before = audit_snapshot(instance=locked, fields=fields)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])
        locked.refresh_from_db(fields=fields)
        audit_record(
            shop=shop,
            actor=actor,
            action="program.referrals_update",
            target=locked,
            before=before,
            after=audit_snapshot(instance=locked, fields=fields),
        )
    return locked


# --- the friend's welcome code --------------------------------------------------------------


@dataclass(frozen=True)
class ClaimAnswer:
    claim: ReferralClaim | None = None
    refused: str = ""  # why nothing was issued, for the friend
    unavailable: bool = False  # the store did not confirm the code (yet): ask again


def referral_new_code() -> str:
    """`REF-XXXX-XXXX`: 40 random bits, unique per shop by constraint."""
    chars = "".join(secrets.choice(_CODE_CHARS) for _ in range(8))
    return f"REF-{chars[:4]}-{chars[4:]}"


def referral_claim_issue(
    *,
    shop: Shop,
    program: ReferralProgram,
    referrer: Member,
    email: str,
    signed_in_customer_id: str = "",
    now: datetime | None = None,
) -> ClaimAnswer:
    """Issue (or show again) the friend's welcome code. `signed_in_customer_id`: the shopper
    signed in to the store, as the app proxy's signature vouches for it (empty for a guest).

    One answer for every "not for you" (a past buyer, an email with a claim made through
    another member's link, a signed-in customer who has ordered): the page must not tell a
    stranger whether an email has bought, nor show someone else's code."""
    now = now or timezone.now()
    friend = email_normalised(email)
    if (referrer.email and friend == email_normalised(referrer.email)) or (
        signed_in_customer_id and signed_in_customer_id == referrer.platform_customer_id
    ):
        return ClaimAnswer(refused="This is your own link: share it with a friend instead.")
    claim = ReferralClaim.objects.filter(shop=shop, friend_email=friend).first()
    if claim is not None and claim.referrer_id != referrer.pk:
        return ClaimAnswer(refused=NOT_FOR_YOU)
    if claim is None:
        if _has_bought(shop, email, friend) or (
            signed_in_customer_id and _customer_has_bought(shop, signed_in_customer_id)
        ):
            return ClaimAnswer(refused=NOT_FOR_YOU)
        try:
            with transaction.atomic():
                claim = ReferralClaim.objects.create(
                    shop=shop,
                    referrer=referrer,
                    friend_email=friend,
                    code=referral_new_code(),
                    expires_at=(
                        now + timedelta(days=program.code_lifetime_days)
                        if program.code_lifetime_days
                        else None
                    ),
                )
        except IntegrityError:  # the same friend at the same moment: theirs is the claim
            claim = ReferralClaim.objects.get(shop=shop, friend_email=friend)
            if claim.referrer_id != referrer.pk:
                return ClaimAnswer(refused=NOT_FOR_YOU)
    if claim.status != ClaimStatus.PENDING:
        return ClaimAnswer(claim=claim)
    return _ask_the_store(shop, program, claim)


NOT_FOR_YOU = (
    "This welcome offer is for new customers, and cannot be used with this email. "
    "If a friend sent you their link before, use the code from that link."
)

# A claim still pending this long after it was made had its store call fail or go unanswered
# (the friend was told to try again): the sweep asks the store again, with the same code, for
# a day; after that the claim stays pending (an order using its code is still handled).
SETTLE_AFTER = timedelta(minutes=2)
SETTLE_FOR = timedelta(days=1)
SETTLE_BATCH = 100


def referral_claims_settle(*, now: datetime | None = None) -> dict[str, int]:
    """Ask the store again for the welcome codes of claims left pending (the friend may never
    come back to ask). The same code each time, so a code the store made but never confirmed
    is recognised (the gateway's TAKEN recovery); a definite refusal drops the claim as the
    friend's page does. Counts by outcome."""
    now = now or timezone.now()
    counts = {"issued": 0, "dropped": 0, "waiting": 0}
    # Only shops that have Setia and referrals on: a claim that cannot be settled now is not
    # at the head of every sweep.
    enabled = ReferralProgram.objects.filter(enabled=True).values("shop_id")
    pending = ReferralClaim.objects.filter(
        status=ClaimStatus.PENDING,
        created_at__lt=now - SETTLE_AFTER,
        created_at__gte=now - SETTLE_FOR,
        shop_id__in=enabled,
        shop__installed_at__isnull=False,
        shop__uninstalled_at__isnull=True,
    ).select_related("shop")
    for claim in pending.order_by("pk")[:SETTLE_BATCH]:
        shop = claim.shop
        program = ReferralProgram.objects.get(shop=shop)
        answer = _ask_the_store(shop, program, claim)
        if answer.claim is not None:
            counts["issued"] += 1
        elif ReferralClaim.objects.filter(pk=claim.pk).exists():
            counts["waiting"] += 1
        else:
            counts["dropped"] += 1
    return counts


def _has_bought(shop: Shop, email: str, friend: str) -> bool:
    """A paid order under this email in any spelling (the records' indexed `email_key`), or
    by a member with this email. Separate indexed reads, never a scan of the shop's orders."""
    paid = OrderRecord.objects.filter(shop=shop, paid_at__isnull=False)
    if paid.filter(email_key=friend).exists():
        return True
    members = Member.objects.filter(shop=shop, email__iexact=email.strip()).values("pk")
    return paid.filter(member__in=members).exists()


def _customer_has_bought(shop: Shop, platform_customer_id: str) -> bool:
    return OrderRecord.objects.filter(
        shop=shop, platform_customer_id=platform_customer_id, paid_at__isnull=False
    ).exists()


def _ask_the_store(shop: Shop, program: ReferralProgram, claim: ReferralClaim) -> ClaimAnswer:
    spec = DiscountCodeSpec(
        code=claim.code,
        title=f"Referral welcome {claim.code}",
        platform_customer_id="",  # the friend has no account yet: any customer, one use
        kind=(
            DiscountKind.PERCENT
            if program.friend_discount_kind == FriendDiscountKind.PERCENT
            else DiscountKind.AMOUNT
        ),
        value=program.friend_discount_value,
        minimum_subtotal=program.friend_minimum_subtotal,
        ends_at=claim.expires_at,
    )
    try:
        issued = gateway_for(shop).discount_code_create(shop=shop, spec=spec)
    except PlatformError as error:
        if not (error.transient or error.outcome_unknown):
            # A definite refusal: the store has no such code; nothing was issued.
            ReferralClaim.objects.filter(pk=claim.pk, status=ClaimStatus.PENDING).delete()
        return ClaimAnswer(unavailable=True)
    ReferralClaim.objects.filter(pk=claim.pk, status=ClaimStatus.PENDING).update(
        status=ClaimStatus.ISSUED,
        platform_discount_id=issued.platform_discount_id,
        updated_at=timezone.now(),
    )
    claim.refresh_from_db()
    return ClaimAnswer(claim=claim)


# --- the referrer's points ------------------------------------------------------------------


def referral_order_seen(
    *,
    shop: Shop,
    record: OrderRecord,
    discount_codes: Iterable[str] | None,
    now: datetime | None = None,
) -> None:
    """Called by the earning path once an order's record has converged, in its transaction
    (the record is locked). `discount_codes`: the order's codes as the event gives them; None
    for an event that carries none (a refund), when the claim is found by the order instead.
    Costs nothing for an order without codes, and one indexed read for one with codes."""
    if discount_codes is None:
        claims = ReferralClaim.objects.filter(shop=shop, order_id=record.order_id)
    else:
        codes = {c.strip().upper() for c in discount_codes if c and c.strip()}
        if not codes:
            return
        claims = ReferralClaim.objects.filter(shop=shop, code__in=codes)
    claim = claims.select_for_update().order_by("pk").first()
    if claim is None or (claim.order_id and claim.order_id != record.order_id):
        return  # not a referral order (a single-use code cannot serve two orders)
    now = now or timezone.now()
    counted = bool(record.paid_at and record.facts and not record.facts.get("test"))
    kept = counted and not record.cancelled_at and record.net_items > 0
    if claim.status == ClaimStatus.REWARDED:
        if not kept:
            _reverse(shop, claim, record, now=now)
        return
    if claim.status in (ClaimStatus.REFUSED, ClaimStatus.REVERSED):
        return
    claim.order_id = record.order_id
    claim.friend_customer_id = record.platform_customer_id
    if record.cancelled_at:
        _refuse(claim, "The order was cancelled before it was credited.")
    elif not counted:
        claim.status = ClaimStatus.USED
        claim.save(update_fields=["order_id", "friend_customer_id", "status", "updated_at"])
    elif not kept:
        _refuse(claim, "The order was refunded before it was credited.")
    else:
        terms = ReferralProgram.objects.filter(shop=shop).first()
        if reason := _fraud_reason(shop, terms, claim, record, now=now):
            _refuse(claim, reason)
        else:
            claim.points = terms.referrer_points
            _credit(shop, claim, record, now=now)


def _refuse(claim: ReferralClaim, reason: str) -> None:
    claim.status = ClaimStatus.REFUSED
    claim.reason = reason
    claim.save(update_fields=["order_id", "friend_customer_id", "status", "reason", "updated_at"])


def _fraud_reason(
    shop: Shop,
    program: ReferralProgram | None,
    claim: ReferralClaim,
    record: OrderRecord,
    *,
    now: datetime,
) -> str:
    if program is None or not program.enabled:
        return "Referrals were turned off."
    # Locked: two friends' orders at once must not both pass the monthly cap's count.
    referrer = member_lock(member_id=claim.referrer_id)
    if referrer.status != MemberStatus.ACTIVE:
        return "The referrer is no longer an active member."
    buyer = record.platform_customer_id
    if (buyer and buyer == referrer.platform_customer_id) or (
        record.email_key and referrer.email and record.email_key == email_normalised(referrer.email)
    ):
        return "The referrer placed the order themselves."
    if _ships_to_the_referrer(shop, referrer, record):
        return "The order ships or bills to the referrer's address."
    earlier = OrderRecord.objects.filter(shop=shop, paid_at__isnull=False).exclude(pk=record.pk)
    if (record.email_key and earlier.filter(email_key=record.email_key).exists()) or (
        buyer and earlier.filter(platform_customer_id=buyer).exists()
    ):
        return "Not the friend's first paid order."
    month_start = timezone.localtime(now, ZoneInfo(shop.iana_timezone or "UTC")).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    rewarded = ReferralClaim.objects.filter(
        referrer_id=referrer.pk, status=ClaimStatus.REWARDED, rewarded_at__gte=month_start
    ).count()
    if rewarded >= program.monthly_cap:
        return f"The referrer reached the monthly cap of {program.monthly_cap} referrals."
    return ""


def _ships_to_the_referrer(shop: Shop, referrer: Member, record: OrderRecord) -> bool:
    """Whether the friend's order names an address (shipping or billing) one of the referrer's
    own orders named: compared by the keyed fingerprints the order records keep."""
    keys = set((record.facts or {}).get("address_keys") or [])
    if not keys:
        return False
    # Two indexed reads (by member, by customer id), the referrer's latest orders first.
    for theirs in (
        OrderRecord.objects.filter(member=referrer),
        OrderRecord.objects.filter(shop=shop, platform_customer_id=referrer.platform_customer_id),
    ):
        for facts in (
            theirs.exclude(pk=record.pk).order_by("-pk").values_list("facts", flat=True)[:200]
        ):
            if keys & set((facts or {}).get("address_keys") or []):
                return True
    return False


def _credit(shop: Shop, claim: ReferralClaim, record: OrderRecord, *, now: datetime) -> None:
    program = Program.objects.get(shop=shop)
    name = record.facts.get("name") or record.order_id
    available_at = order_available_at(record=record, program=program)  # as the order's points
    if claim.points:
        ledger_credit(
            member=claim.referrer,
            points=claim.points,
            idempotency_key=f"referral:{claim.pk}",
            source_type="referral",
            source_id=str(claim.pk),
            reason=f"Referral: order {name}",
            available_at=available_at,
            expires_at=credit_expires_at(program=program, earned_at=now, available_at=available_at),
            now=now,
        )
    claim.status = ClaimStatus.REWARDED
    claim.rewarded_at = now
    claim.save(
        update_fields=[
            "order_id",
            "friend_customer_id",
            "status",
            "points",
            "rewarded_at",
            "updated_at",
        ]
    )


def _reverse(shop: Shop, claim: ReferralClaim, record: OrderRecord, *, now: datetime) -> None:
    entry = LedgerEntry.objects.filter(shop=shop, idempotency_key=f"referral:{claim.pk}").first()
    if entry is not None and entry.points > entry.reversed_points:
        program = Program.objects.get(shop=shop)
        ledger_reverse(
            entry=entry,
            idempotency_key=f"referral:{claim.pk}:reverse",
            allow_shortfall=True,
            shortfall_as_debt=program.shortfall_policy == ShortfallPolicy.DEBT,
            reason=f"Referral: order {record.facts.get('name') or record.order_id} "
            "cancelled or refunded",
            now=now,
        )
    claim.status = ClaimStatus.REVERSED
    claim.reason = "The order was cancelled or refunded."
    claim.save(update_fields=["status", "reason", "updated_at"])


def referral_claims_redact(*, shop: Shop, platform_customer_id: str, emails: Iterable[str]) -> int:
    """Erase a friend from the claims made with their emails or their customer id: the email
    becomes a stand-in (unique, as the column must be; no way back) and the customer id the
    erased id. The claim, its code and the referrer's points stay. Returns how many claims."""
    wanted = {email_normalised(e) for e in emails if e and e.strip()}
    claims = ReferralClaim.objects.filter(shop=shop).filter(
        Q(friend_email__in=wanted) | Q(friend_customer_id=platform_customer_id)
    )
    hidden = redacted_customer_id(shop=shop, platform_customer_id=platform_customer_id)
    changed = 0
    for claim in claims.select_for_update().order_by("pk"):
        claim.friend_email = redacted_customer_id(
            shop=shop, platform_customer_id=f"referral-email:{claim.friend_email}"
        )
        if claim.friend_customer_id == platform_customer_id:
            claim.friend_customer_id = hidden
        claim.save(update_fields=["friend_email", "friend_customer_id", "updated_at"])
        changed += 1
    return changed
