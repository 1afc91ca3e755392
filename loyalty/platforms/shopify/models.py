from django.db import models
from django.db.models import Q


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, waiting for a worker
    RETRYING = "retrying", "Retrying"  # failed transiently; next_attempt_at says when
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # unknown topic or shop, uninstalled shop, stale event
    FAILED = "failed", "Failed"  # gave up; replay with `manage.py webhooks_replay`


class WebhookDelivery(models.Model):
    """The webhook inbox: every verified delivery, stored before it is answered."""

    webhook_id = models.CharField(max_length=255, unique=True)
    event_id = models.CharField(max_length=255, blank=True)
    topic = models.CharField(max_length=128)
    shop_domain = models.CharField(max_length=255)
    shop = models.ForeignKey(
        "shops.Shop", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_version = models.CharField(max_length=32, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    # Times the sweeper handed it out again: bounds a delivery that kills its worker every
    # time (its attempts, rolled back with the crash, never count).
    sweeps = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True)
    outcome = models.CharField(max_length=255, blank=True, help_text="What processing did.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Filled while processing, so a customer redact can find and scrub this customer's bodies.
    platform_customer_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["received", "retrying"]),
                name="webhook_unfinished",
            ),
            # The queue a worker's batch gathers from, oldest first (see process_deliveries).
            models.Index(
                fields=["id"], condition=Q(status="received"), name="webhook_received_queue"
            ),
            models.Index(fields=["shop_domain", "-received_at"], name="webhook_shop_recent"),
            models.Index(fields=["shop", "platform_customer_id"], name="webhook_shop_customer"),
        ]
        constraints = [
            # One event reaches us once per subscription (app config and API): same event id.
            models.UniqueConstraint(
                fields=["shop_domain", "topic", "event_id"],
                condition=~Q(event_id=""),
                name="webhook_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} from {self.shop_domain} ({self.status})"


class ProductFacts(models.Model):
    """A product's tags and collections as the Admin API last told them: what earn rules on
    collections and tags match, and what order payloads do not carry. A cache: rows older than
    `SHOPIFY_PRODUCT_FACTS_TTL` are read again when an order names the product."""

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="+")
    product_id = models.CharField(max_length=64, help_text="Shopify's numeric product id.")
    tags = models.JSONField(default=list)
    collections = models.JSONField(default=list, help_text="Numeric collection ids.")
    # False: Shopify knows no such product (deleted): nothing to match, and not asked again
    # before the period ends.
    found = models.BooleanField(default=True)
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "product facts"
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "product_id"], name="productfacts_unique_per_shop"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id} of shop {self.shop_id}"


class OAuthState(models.Model):
    """A single-use nonce for the authorization-code grant, bound to the browser by a cookie."""

    nonce = models.CharField(max_length=64, unique=True)
    shop_domain = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"oauth state for {self.shop_domain}"
