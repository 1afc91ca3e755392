from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from loyalty.audit.models import AuditEntry
from loyalty.shops.models import Shop


def staff_actor(*, user_id: str | int | None) -> str:
    """How a Shopify staff member (session token `sub`) is named in the audit log."""
    return f"staff:{user_id}" if user_id else "staff:unknown"


def audit_snapshot(*, instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of a model instance as JSON-safe data (for before/after)."""
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    encoder = DjangoJSONEncoder()
    snapshot = {}
    for name in names:
        value = getattr(instance, name)
        if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = encoder.default(value)
        snapshot[name] = value
    return snapshot


def audit_record(
    *,
    shop: Shop,
    actor: str,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
) -> AuditEntry:
    """Record a change; call it inside the transaction that makes the change.

    With `before` and `after`, only the keys whose values differ are kept (both sides)."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    return AuditEntry.objects.create(
        shop=shop,
        actor=actor[:100],
        action=action[:100],
        target_type=target_type[:50],
        target_id=str(target_id)[:64],
        before=before,
        after=after,
        note=note,
    )
