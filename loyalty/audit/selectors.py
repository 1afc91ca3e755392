from django.db.models import QuerySet

from loyalty.audit.models import AuditEntry
from loyalty.shops.models import Shop


def audit_entries(*, shop: Shop, target_type: str = "", target_id: str = "") -> QuerySet:
    """A shop's audit log, newest first; optionally for one target."""
    entries = AuditEntry.objects.filter(shop=shop)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=str(target_id))
    return entries.order_by("-created_at", "-id")
