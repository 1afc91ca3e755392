"""What a member sees (the storefront's `state` answer) may be cached, keyed by the member's
*version*: a token in the shared cache that every change to the member's points, tier, codes or
enrolment replaces when its transaction commits. A reader fetches the version with the cached
answer in one round trip and uses the answer only when it was built at that version.

A writer calls `member_changed` (or `member_ids_changed`) inside its transaction; nothing
happens if it rolls back. Without a shared cache (CACHE_URL unset: each process's memory), a
change made in another process reaches a cached answer only when it expires
(STOREFRONT_CACHE_SECONDS)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_TTL = 7 * 24 * 3600  # longer than any cached answer lives


def member_version_key(*, shop_id: int, platform_customer_id: str) -> str:
    return f"member-version:{shop_id}:{platform_customer_id}"


def member_changed(*, shop_id: int, platform_customer_id: str) -> None:
    members_changed(pairs=[(shop_id, platform_customer_id)])


def members_changed(*, pairs: Iterable[tuple[int, str]]) -> None:
    """New versions for these (shop id, platform customer id), once the transaction commits."""
    pairs = set(pairs)
    keys = {member_version_key(shop_id=s, platform_customer_id=c) for s, c in pairs}
    if keys:
        transaction.on_commit(lambda: _committed(keys, pairs))


def member_ids_changed(*, member_ids: Iterable[int]) -> None:
    from loyalty.members.models import Member

    ids = sorted(set(member_ids))
    if ids:
        members_changed(
            pairs=Member.objects.filter(pk__in=ids).values_list("shop_id", "platform_customer_id")
        )


def _committed(keys: set[str], pairs: set[tuple[int, str]]) -> None:
    from loyalty.members.balance_sync import balance_sync_schedule

    _bump(keys)
    # The balance shown by the store's theme (a metafield) follows too, debounced.
    balance_sync_schedule(pairs=pairs)


def _bump(keys: set[str]) -> None:
    try:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=VERSION_TTL)
    except Exception:  # the cache is down: cached answers age out on their own
        logger.warning("could not move %d member version(s)", len(keys), exc_info=True)
