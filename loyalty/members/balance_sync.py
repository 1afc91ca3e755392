"""The member's points balance in the store, kept fresh between tier changes.

The tier sync (`loyalty.tiers.services.tier_sync_member`) sets the customer's app-owned
metafields `tier` and `points_balance`, but only when the tier changes; a theme that shows
`customer.metafields.<app namespace>.points_balance` needs the balance after every earn,
redemption, refund or expiry. So every change a shopper can see, once its transaction commits
(`loyalty.members.freshness`), reaches `balance_sync_schedule`, and within
SETIA_METAFIELD_SYNC_SECONDS (S) each member costs the store at most one Admin API call, made
with the balance as it is when the call is made:

- the first change claims the member's *guard* in the shared cache (an `add` lasting S) and
  sends a task due S + 1 seconds later; further changes find the guard and do nothing more;
- the task reads the balance when it runs, after the guard has lapsed: a change committed while
  the guard lasted is in what it reads, and a change committed after it found no guard and
  scheduled a task of its own. Bursts coalesce into one call, and no change is left unsent.

Cost on the hot paths: one cache round trip per committed transaction, however many members it
changed (with Redis one pipeline of `SET NX`; another cache: `add` per member, in-process), and
one task message per BALANCE_SYNC_CHUNK newly claimed members, so a batch of 200 orders sends
four messages, not 200. The task sends its members' balances together through the gateway's
`customers_metafield_set` (on Shopify one `metafieldsSet` per 25 customers, in the tier sync's
namespace with its key and type), so a burst touching 5,000 members costs about 200 calls, not
5,000.

Without a broker (tasks run in-process: `make run`, the tests) a task cannot wait, so nothing
is scheduled and the balance reaches the store with the tier sync only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from loyalty.core.platform import gateway_for
from loyalty.members.models import Member, MemberStatus
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)

# The metafield `tier_sync_member` sets with the tier (same key, same value format).
BALANCE_METAFIELD = "points_balance"
BALANCE_SYNC_CHUNK = 50  # members per task message (a task's calls stay well within its limit)

Pair = tuple[int, str]  # (shop id, platform customer id), as `freshness` names members


def balance_guard_key(*, shop_id: int, platform_customer_id: str) -> str:
    return f"balance-sync:{shop_id}:{platform_customer_id}"


def balance_sync_schedule(*, pairs: Iterable[Pair]) -> None:
    """After commit: a debounced store sync for each of these members not already waiting for
    one. Never raises (the change is committed; a failure here only delays the metafield)."""
    seconds = settings.SETIA_METAFIELD_SYNC_SECONDS
    if seconds <= 0:
        return
    from loyalty.tiers.tasks import sync_member_balances

    if sync_member_balances.app.conf.task_always_eager:
        return
    guards = {
        balance_guard_key(shop_id=shop_id, platform_customer_id=customer_id): (shop_id, customer_id)
        for shop_id, customer_id in pairs
    }
    try:
        claimed = _add_many(list(guards), timeout=seconds)
    except Exception:  # the cache is down: the next change after it is back sends the balance
        logger.warning("balance sync: could not claim %d guard(s)", len(guards), exc_info=True)
        return
    members = sorted(guards[key] for key in claimed)
    for start in range(0, len(members), BALANCE_SYNC_CHUNK):
        chunk = members[start : start + BALANCE_SYNC_CHUNK]
        try:
            sync_member_balances.apply_async(
                ([list(pair) for pair in chunk],), countdown=seconds + 1
            )
        except Exception:
            # No task will come for these members: free their guards so the next change sends.
            logger.warning(
                "balance sync: could not enqueue %d member(s)", len(chunk), exc_info=True
            )
            _forget([balance_guard_key(shop_id=s, platform_customer_id=c) for s, c in chunk])


def member_balances_sync(*, pairs: Iterable[Pair]) -> list[Pair]:
    """Send these members' current spendable balance to the store, shop by shop, batched by
    the gateway. Members not active (excluded, erased) or gone, and shops without the app, are
    skipped. Returns the members left for a retry: after a transient failure (throttled, 5xx,
    a timeout) the shop's members not yet sent wait rather than press on against the same
    limit. A definite refusal (e.g. a customer the store does not know) is logged and not
    retried, and does not hold back the other members sent with it."""
    wanted: dict[int, list[str]] = defaultdict(list)
    for shop_id, customer_id in pairs:
        wanted[int(shop_id)].append(str(customer_id))
    retry: list[Pair] = []
    for shop in Shop.objects.filter(pk__in=wanted).order_by("pk"):
        if not shop.is_installed:
            continue
        balances = dict(
            Member.objects.filter(
                shop=shop,
                platform_customer_id__in=wanted[shop.pk],
                status=MemberStatus.ACTIVE,
            )
            .order_by("pk")
            .values_list("platform_customer_id", "points_balance")
        )
        if not balances:
            continue
        failed = gateway_for(shop).customers_metafield_set(
            shop=shop,
            key=BALANCE_METAFIELD,
            values={customer_id: str(balance) for customer_id, balance in balances.items()},
        )
        refused: dict[tuple[str, str], list[str]] = defaultdict(list)
        for customer_id, exc in failed.items():
            if exc.transient:
                retry.append((shop.pk, customer_id))
            else:
                refused[(exc.code, str(exc))].append(customer_id)
        for (code, message), customer_ids in refused.items():
            logger.warning(
                "balance sync for customer(s) %s of %s refused: %s: %s",
                ", ".join(customer_ids),
                shop.domain,
                code,
                message,
            )
    return retry


def _add_many(keys: list[str], *, timeout: int) -> list[str]:
    """The keys added (absent until now), each to expire after `timeout` seconds. Redis: one
    round trip for all of them; any other cache is a process's own memory, where `add` per key
    costs nothing."""
    cache = caches["default"]
    if not keys:
        return []
    if not isinstance(cache, RedisCache):
        return [key for key in keys if cache.add(key, 1, timeout)]
    client = cache._cache.get_client(write=True)
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(cache.make_and_validate_key(key), 1, nx=True, ex=timeout)
        added = pipe.execute()
    return [key for key, ok in zip(keys, added, strict=True) if ok]


def _forget(keys: list[str]) -> None:
    try:
        caches["default"].delete_many(keys)
    except Exception:  # the guards lapse on their own after SETIA_METAFIELD_SYNC_SECONDS
        logger.warning("balance sync: could not free %d guard(s)", len(keys), exc_info=True)
