"""Reads of shops."""

from __future__ import annotations

from loyalty.core.memo import ProcessMemo
from loyalty.shops.models import Shop

# Every storefront request starts here, so it is one plain statement: no ORM query to compile,
# and the encrypted token columns left out (they load, and decrypt, only if something reads
# them, as Django does with deferred fields).
_INSTALLED_SHOP_SQL = (
    "SELECT id, platform, domain, name, currency, iana_timezone, installed_at, uninstalled_at "
    "FROM shops_shop WHERE platform = %s AND domain = %s "
    "AND installed_at IS NOT NULL AND uninstalled_at IS NULL"
)

_recent = ProcessMemo()


def shop_installed_by_domain(*, platform: str, domain: str, max_age: float = 0) -> Shop | None:
    """The shop with Setia installed at `domain` on `platform`, or None.

    `max_age` > 0: a shop this process found installed within that many seconds is returned
    without asking the database again (an uninstall shows after at most that long). A shop not
    found is always asked for again.
    """
    key = (platform, domain.lower())
    if max_age > 0 and (remembered := _recent.get(key)) is not None:
        return remembered
    shop = next(iter(Shop.objects.raw(_INSTALLED_SHOP_SQL, list(key))), None)
    if max_age > 0 and shop is not None:
        _recent.put(key, shop, seconds=max_age)
    return shop


def shop_installed_forget() -> None:
    """Forget the shops this process has found installed."""
    _recent.forget()
