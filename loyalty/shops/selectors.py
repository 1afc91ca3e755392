"""Reads of shops."""

from __future__ import annotations

from loyalty.shops.models import Shop

# Every storefront request starts here, so it is one plain statement: no ORM query to compile,
# and the encrypted token columns left out (they load, and decrypt, only if something reads
# them, as Django does with deferred fields).
_INSTALLED_SHOP_SQL = (
    "SELECT id, platform, domain, name, currency, iana_timezone, installed_at, uninstalled_at "
    "FROM shops_shop WHERE platform = %s AND domain = %s "
    "AND installed_at IS NOT NULL AND uninstalled_at IS NULL"
)


def shop_installed_by_domain(*, platform: str, domain: str) -> Shop | None:
    """The shop with Setia installed at `domain` on `platform`, or None."""
    return next(iter(Shop.objects.raw(_INSTALLED_SHOP_SQL, [platform, domain.lower()])), None)
