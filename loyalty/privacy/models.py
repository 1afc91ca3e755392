from django.db import models


class PrivacyRequestKind(models.TextChoices):
    CUSTOMER_DATA_REQUEST = "customer_data_request", "Customer data request"
    CUSTOMER_REDACT = "customer_redact", "Customer redact"
    SHOP_REDACT = "shop_redact", "Shop redact"


class PrivacyRequest(models.Model):
    """The audit trail of privacy requests. It outlives the shop (shop redact keeps the row
    with the domain only), and holds the export a data request produced for the merchant."""

    shop = models.ForeignKey(
        "shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shop_domain = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=PrivacyRequestKind.choices)
    platform_customer_id = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(
        max_length=255, unique=True, help_text="What asked for it (e.g. the webhook id)."
    )
    export = models.JSONField(null=True, blank=True)
    summary = models.TextField(blank=True)
    received_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-received_at"], name="privacy_shop_recent")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.shop_domain}"
