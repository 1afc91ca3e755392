from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from loyalty.api.models import ApiKey
from loyalty.audit.services import audit_record
from loyalty.shops.models import Shop

KEY_PREFIX = "setia_"
# last_used_at is written at most this often per key: not a write on every API call.
LAST_USED_RESOLUTION = timedelta(minutes=5)


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
