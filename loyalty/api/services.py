from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from loyalty.api.models import ApiKey
from loyalty.audit.services import audit_record
from loyalty.ledger.services import IdempotencyKeyReused, LedgerResult
from loyalty.members.models import Member
from loyalty.merchant_admin.services import member_adjust
from loyalty.shops.models import Shop

KEY_PREFIX = "setia_"
# last_used_at is written at most this often per key: not a write on every API call.
LAST_USED_RESOLUTION = timedelta(minutes=5)
# One adjustment moves at most this many points: far beyond any real correction, and far
# inside what the ledger's 32-bit columns hold.
MAX_ADJUSTMENT = 10_000_000
# Member.points_balance and lifetime_earned are 32-bit integer columns.
MAX_COUNTER = 2_147_483_647
# The API's own idempotency key spaces: a client's key never meets a key of the admin's forms
# (adjustments) or of the storefront's widget (redemptions). Ledger and redemption keys are
# unique per shop and per member, so each space is per shop as well.
ADJUST_KEY_SPACE = "api-adjust"
REDEEM_KEY_PREFIX = "api:"


class AdjustmentOutOfRange(ValueError):
    """Would carry the member's points past what the database holds."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_create(*, shop: Shop, name: str, actor: str) -> tuple[ApiKey, str]:
    """A new key for `shop`; returns it with the plaintext token, which is never stored."""
    name = name.strip()
    if not name:
        raise ValueError("A key needs a name (what uses it).")
    prefix = secrets.token_hex(6)
    token = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        key = ApiKey.objects.create(
            shop=shop, name=name[:100], prefix=prefix, digest=_digest(token), created_by=actor
        )
        audit_record(shop=shop, actor=actor, action="api_key.create", target=key, note=name)
    return key, token


def api_key_revoke(*, shop: Shop, key_id: int, actor: str) -> ApiKey:
    """Revoke one of the shop's keys (another shop's id: `ApiKey.DoesNotExist`)."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(shop=shop, pk=key_id)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(shop=shop, actor=actor, action="api_key.revoke", target=key)
    return key


def api_key_verify(*, token: str) -> ApiKey | None:
    """The live key this token is, with its shop; None for anything else. Constant-time."""
    if not token.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = token[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret or len(token) > 200:
        return None
    key = (
        ApiKey.objects.select_related("shop").filter(prefix=prefix, revoked_at__isnull=True).first()
    )
    if key is None:
        _digest(token)  # the same work as a known prefix, so timing tells nothing
        return None
    if not hmac.compare_digest(key.digest, _digest(token)):
        return None
    if not key.shop.is_installed:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_member_adjust(
    *, member: Member, points: int, reason: str, idempotency_key: str, actor: str
) -> LedgerResult:
    """The admin's manual adjustment (`member_adjust`), made by an API key (`actor`) in the
    API's key space. Replaying a key must repeat the whole change: other points (the ledger's
    check) or another reason raise `IdempotencyKeyReused`, and nothing is written either way.

    Raises AdjustmentOutOfRange (nothing written) when the credit would overflow the member's
    counters, and InsufficientPoints when taking more than the spendable balance."""
    if not 0 < abs(points) <= MAX_ADJUSTMENT:
        raise AdjustmentOutOfRange(
            f"points must be non-zero, from -{MAX_ADJUSTMENT} to {MAX_ADJUSTMENT}."
        )
    if points > 0 and max(member.lifetime_earned, member.points_balance) + points > MAX_COUNTER:
        raise AdjustmentOutOfRange(
            f"The member would hold more than {MAX_COUNTER} points; add fewer."
        )
    result = member_adjust(
        member=member,
        points=points,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        key_space=ADJUST_KEY_SPACE,
    )
    if not result.created and result.entry.reason != reason:
        raise IdempotencyKeyReused("This idempotency_key was already used for another reason.")
    return result
