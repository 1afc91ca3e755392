from django.db import models

from loyalty.shops.models import Shop


class ApiKey(models.Model):
    """A merchant's key for `/api/v1/`: `setia_<prefix>_<secret>`, shown once when created.

    Only a SHA-256 digest of the whole key is stored (it is a random 256-bit secret, so a
    slow password hash would add nothing); the prefix finds the row, the digest is compared
    in constant time."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-created_at"], name="apikey_shop_recent")]

    def __str__(self) -> str:
        return f"{self.name} (setia_{self.prefix}_…)"
