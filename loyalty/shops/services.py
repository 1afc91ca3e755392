from django.db import transaction
from django.utils import timezone

from loyalty.shops.models import Platform, Program, Shop


def shop_get_or_create(
    *,
    domain: str,
    platform: str = Platform.SHOPIFY,
    name: str = "",
    currency: str = "USD",
    iana_timezone: str = "UTC",
) -> tuple[Shop, bool]:
    """Create the shop with its default program, or return the existing one (any state)."""
    with transaction.atomic():
        shop, created = Shop.objects.get_or_create(
            platform=platform,
            domain=domain.lower(),
            defaults={
                "name": name,
                "currency": currency,
                "iana_timezone": iana_timezone,
                "installed_at": timezone.now(),
            },
        )
        Program.objects.get_or_create(shop=shop)
    return shop, created
