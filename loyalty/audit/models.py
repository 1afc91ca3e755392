from django.db import models

from loyalty.shops.models import Shop


class AuditEntry(models.Model):
    """One change a person made to a shop's program or data: who, when, what, before, after.

    Append-only by convention: written by `audit_record` in the same transaction as the change
    it describes, never updated."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="audit_entries")
    # "staff:<Shopify user id>", "api:<key prefix>", "system"; what the merchant reads.
    actor = models.CharField(max_length=100)
    action = models.CharField(max_length=100)  # e.g. "program.update", "member.adjust"
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "-created_at", "-id"], name="audit_shop_recent"),
            models.Index(fields=["shop", "target_type", "target_id"], name="audit_shop_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type}:{self.target_id}"
