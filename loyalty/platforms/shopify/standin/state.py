"""In-memory state of the stand-in: shops and what the app created in them, tokens, faults.

Everything lives behind one re-entrant lock (``Store.lock``): the server is threaded and the
app's concurrency logic (single refresh, idempotent discount creation) is exactly what tests
want to exercise, so state changes must be atomic per request.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .signing import SHOP_DOMAIN_RE

ACCESS_TOKEN_TTL = 3600  # expiring offline tokens live one hour
ONLINE_TOKEN_TTL = 86400  # online tokens follow the staff session (about a day)
REFRESH_TOKEN_TTL = 90 * 86400
CODE_TTL = 600  # authorization codes: ten minutes, single use
REFRESH_RECOVERY_WINDOW = 30 * 86400  # "until_replacement_used" policy, Shopify 2026-08-28

DEFAULT_SCOPES: tuple[str, ...] = (
    "read_customers",
    "write_customers",
    "read_discounts",
    "write_discounts",
    "read_orders",
    "write_app_proxy",
)

FAULT_KINDS = ("throttled", "429", "500", "502", "503", "504", "slow", "network")
FAULT_TARGETS = ("graphql", "token", "any")

RefreshReuse = Literal["reject", "until_replacement_used"]


def normalize_scopes(scopes: Iterable[str] | str | None) -> tuple[str, ...]:
    """Split a comma list (or iterable of comma lists), strip, de-duplicate, keep order."""
    if scopes is None:
        return ()
    items = [scopes] if isinstance(scopes, str) else list(scopes)
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return tuple(out)


def granted_scope_string(scopes: Iterable[str]) -> str:
    """The ``scope`` Shopify returns: ``read_x`` is left out when ``write_x`` is granted.

    Apps that compare the granted scope to the requested one must treat write as implying read.
    """
    scopes = tuple(scopes)
    kept = [s for s in scopes if not (s.startswith("read_") and "write_" + s[5:] in scopes)]
    return ",".join(kept)


def has_scope(granted: Iterable[str], needed: str) -> bool:
    """True when ``needed`` is granted directly or implied (``write_x`` implies ``read_x``)."""
    granted = set(granted)
    if needed in granted:
        return True
    return needed.startswith("read_") and "write_" + needed[5:] in granted


def iso(ts: float) -> str:
    """Shopify's DateTime rendering: UTC, second precision, ``Z`` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class Customer:
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    state: str = "ENABLED"
    verified_email: bool = True
    number_of_orders: int = 0
    amount_spent: str = "0.00"
    locale: str = "en"
    created_at: float = 0.0
    updated_at: float = 0.0
    email_marketing_state: str = "NOT_SUBSCRIBED"  # customerEmailMarketingConsentUpdate
    email_marketing_opt_in_level: str | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Customer/{self.id}"

    def as_dict(self) -> dict[str, Any]:
        """The shape ``StandIn.add_customer`` returns (REST-like names plus the GID)."""
        return {
            "id": self.id,
            "gid": self.gid,
            "admin_graphql_api_id": self.gid,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "tags": sorted(self.tags),
            "note": self.note,
            "number_of_orders": self.number_of_orders,
            "amount_spent": self.amount_spent,
        }


@dataclass
class Metafield:
    id: int
    owner_gid: str
    namespace: str
    key: str
    value: str
    type: str
    created_at: float
    updated_at: float
    version: int = 1

    @property
    def gid(self) -> str:
        return f"gid://shopify/Metafield/{self.id}"

    @property
    def compare_digest(self) -> str:
        """Changes on every write, so a stale reader's compare-and-set fails (STALE_OBJECT)."""
        raw = f"{self.id}|{self.type}|{self.value}|{self.version}".encode()
        return hashlib.sha256(raw).hexdigest()


@dataclass
class Discount:
    id: int
    kind: Literal["basic", "free_shipping"]
    code: str
    title: str
    input: dict[str, Any]
    created_at: float
    redeem_code_id: int

    @property
    def gid(self) -> str:
        return f"gid://shopify/DiscountCodeNode/{self.id}"


@dataclass
class WebhookSubscription:
    id: int
    topic: str
    uri: str
    format: str
    api_version: str
    created_at: float
    include_fields: list[str] = field(default_factory=list)
    metafield_namespaces: list[str] = field(default_factory=list)
    filter: str | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/WebhookSubscription/{self.id}"


@dataclass
class Collection:
    id: int
    handle: str
    title: str

    @property
    def gid(self) -> str:
        return f"gid://shopify/Collection/{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "gid": self.gid, "handle": self.handle, "title": self.title}


@dataclass
class Product:
    id: int
    title: str
    tags: list[str] = field(default_factory=list)
    collection_ids: list[int] = field(default_factory=list)  # in the shop's ``collections``

    @property
    def gid(self) -> str:
        return f"gid://shopify/Product/{self.id}"


@dataclass
class Shop:
    domain: str
    id: int
    name: str
    email: str
    currency: str
    iana_timezone: str
    plan: str
    scopes: tuple[str, ...]
    created_at: float
    customers: dict[int, Customer] = field(default_factory=dict)
    discounts: list[Discount] = field(default_factory=list)
    webhooks: list[WebhookSubscription] = field(default_factory=list)
    metafields: dict[tuple[str, str, str], Metafield] = field(default_factory=dict)
    # Orders as REST-shaped dicts (``payloads.order_payload``), by id; the Admin API renders
    # them as GraphQL ``Order`` objects (see ``orders.py``).
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The catalogue, as far as an app reads it: products with their tags and collections.
    products: dict[int, Product] = field(default_factory=dict)
    collections: dict[int, Collection] = field(default_factory=dict)
    bucket_available: float = 0.0
    bucket_updated: float = 0.0

    @property
    def gid(self) -> str:
        return f"gid://shopify/Shop/{self.id}"

    @property
    def subdomain(self) -> str:
        return self.domain.removesuffix(".myshopify.com")

    def discount_by_code(self, code: str) -> Discount | None:
        """Codes are unique per shop, case-insensitively, across all discount types."""
        wanted = code.strip().lower()
        return next((d for d in self.discounts if d.code.lower() == wanted), None)

    def summary(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "id": self.id,
            "gid": self.gid,
            "name": self.name,
            "email": self.email,
            "currency": self.currency,
            "iana_timezone": self.iana_timezone,
            "plan": self.plan,
            "scopes": list(self.scopes),
        }

    def dump(self) -> dict[str, Any]:
        """Everything the app changed in the shop, for assertions from another process."""
        return {
            **self.summary(),
            "customers": [c.as_dict() for c in self.customers.values()],
            "discounts": [
                {"id": d.gid, "kind": d.kind, "code": d.code, "title": d.title, "input": d.input}
                for d in self.discounts
            ],
            "webhooks": [
                {"id": w.gid, "topic": w.topic, "uri": w.uri, "format": w.format}
                for w in self.webhooks
            ],
            "metafields": [
                {
                    "owner": m.owner_gid,
                    "namespace": m.namespace,
                    "key": m.key,
                    "type": m.type,
                    "value": m.value,
                }
                for m in self.metafields.values()
            ],
        }


def product_dict(shop: Shop, product: Product) -> dict[str, Any]:
    """The shape ``StandIn.add_product`` returns."""
    return {
        "id": product.id,
        "gid": product.gid,
        "title": product.title,
        "tags": sorted(product.tags),
        "collections": [shop.collections[c].as_dict() for c in product.collection_ids],
    }


@dataclass
class AccessToken:
    token: str
    shop: str
    scopes: tuple[str, ...]
    online: bool
    expires_at: float | None
    created_at: float
    user: dict[str, Any] | None = None
    revoked: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class RefreshToken:
    token: str
    shop: str
    scopes: tuple[str, ...]
    expires_at: float
    parent: str | None = None
    used_at: float | None = None
    retired: bool = False


@dataclass
class AuthCode:
    code: str
    shop: str
    scopes: tuple[str, ...]
    online: bool
    expires_at: float
    used: bool = False


@dataclass
class RecordedRequest:
    """One request the stand-in answered (control API calls are not recorded)."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str | list[str]]
    body: bytes
    json: Any
    status: int  # 0 when the connection was dropped ("network" fault)
    shop: str | None
    time: float
    target: str  # "graphql", "token", "authorize" or "other"
    operation: str | None = None  # GraphQL root field(s), comma separated
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["body"] = self.body.decode("utf-8", "replace")
        return out


@dataclass
class Fault:
    kind: str
    remaining: int
    target: str = "graphql"
    retry_after: str | None = None
    delay: float | None = None

    def applies_to(self, target: str) -> bool:
        if self.target not in (target, "any"):
            return False
        # A THROTTLED body only exists in GraphQL; an "any" throttled fault skips token calls.
        return not (self.kind == "throttled" and target != "graphql")


class FaultQueue:
    """Faults to inject, consumed in push order by the next matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def push(
        self,
        kind: str,
        count: int = 1,
        *,
        target: str = "graphql",
        retry_after: str | int | float | None = None,
        delay: float | None = None,
    ) -> None:
        """Queue ``count`` occurrences of ``kind`` for requests to ``target``.

        ``retry_after`` (429 only) is sent as an integer string when it is a whole number,
        because shopify_app does ``int(Retry-After)`` and would crash on "0.0".
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if target not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {target!r}; expected one of {FAULT_TARGETS}")
        if kind == "throttled" and target == "token":
            raise ValueError("'throttled' is a GraphQL response; use '429' for the token endpoint")
        if count < 1:
            raise ValueError("count must be >= 1")
        if delay is not None and not 0 <= delay <= 120:
            raise ValueError("delay must be between 0 and 120 seconds")
        rendered: str | None = None
        if retry_after is not None:
            if isinstance(retry_after, float) and retry_after.is_integer():
                retry_after = int(retry_after)
            rendered = str(retry_after)
        with self._lock:
            self._faults.append(Fault(kind, int(count), target, rendered, delay))

    def take(self, target: str) -> Fault | None:
        """Consume one occurrence of the first fault that applies to ``target``."""
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(target):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return copy.copy(fault)
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)


class Store:
    """All mutable state. Methods take the lock themselves; callers may also hold it."""

    def __init__(
        self,
        *,
        default_scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
        refresh_reuse: RefreshReuse = "reject",
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        enforce_throttle: bool = True,
        app_id: int = 4242424242,
        max_recorded_requests: int = 10_000,
    ) -> None:
        if refresh_reuse not in ("reject", "until_replacement_used"):
            raise ValueError("refresh_reuse must be 'reject' or 'until_replacement_used'")
        self.lock = threading.RLock()
        self.clock = clock
        self.default_scopes = normalize_scopes(default_scopes)
        self.refresh_reuse: RefreshReuse = refresh_reuse
        self.bucket_size = float(bucket_size)
        self.restore_rate = float(restore_rate)
        self.enforce_throttle = enforce_throttle
        self.app_id = app_id
        self.shops: dict[str, Shop] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.requests: collections.deque[RecordedRequest] = collections.deque(
            maxlen=max_recorded_requests
        )
        self.faults = FaultQueue()
        self._ids = itertools.count(7_100_000_000_001)

    # -- ids and time -------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    # -- shops and customers ------------------------------------------------------------------
    def add_shop(
        self,
        domain: str,
        *,
        name: str | None = None,
        email: str | None = None,
        currency: str = "USD",
        iana_timezone: str = "UTC",
        plan: str = "Basic",
        scopes: Iterable[str] | str | None = None,
    ) -> Shop:
        """Create a shop, or update the given fields of an existing one (idempotent seeding)."""
        domain = domain.strip().lower()
        if not SHOP_DOMAIN_RE.match(domain):
            raise ValueError(f"not a *.myshopify.com domain: {domain!r}")
        with self.lock:
            now = self.now()
            shop = self.shops.get(domain)
            if shop is None:
                sub = domain.removesuffix(".myshopify.com")
                shop = Shop(
                    domain=domain,
                    id=self.next_id(),
                    name=name or sub.replace("-", " ").title(),
                    email=email or f"owner@{sub}.example",
                    currency=currency,
                    iana_timezone=iana_timezone,
                    plan=plan,
                    scopes=normalize_scopes(scopes) if scopes is not None else self.default_scopes,
                    created_at=now,
                    bucket_available=self.bucket_size,
                    bucket_updated=now,
                )
                self.shops[domain] = shop
                return shop
            shop.name = name or shop.name
            shop.email = email or shop.email
            shop.currency = currency
            shop.iana_timezone = iana_timezone
            shop.plan = plan
            if scopes is not None:
                shop.scopes = normalize_scopes(scopes)
            return shop

    def shop(self, domain: str) -> Shop:
        """The shop, or ``KeyError`` with a hint."""
        with self.lock:
            try:
                return self.shops[domain.strip().lower()]
            except KeyError:
                raise KeyError(f"unknown shop {domain!r}: call add_shop() first") from None

    def add_customer(
        self,
        domain: str,
        customer_id: int | None = None,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        tags: Iterable[str] = (),
        note: str | None = None,
        number_of_orders: int = 0,
        amount_spent: str = "0.00",
    ) -> Customer:
        with self.lock:
            shop = self.shop(domain)
            cid = int(customer_id) if customer_id is not None else self.next_id()
            now = self.now()
            customer = Customer(
                id=cid,
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                tags=list(dict.fromkeys(t.strip() for t in tags if t.strip())),
                note=note,
                number_of_orders=number_of_orders,
                amount_spent=amount_spent,
                created_at=now,
                updated_at=now,
            )
            shop.customers[cid] = customer
            return customer

    def add_order(self, domain: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Store (or replace) an order given as the webhook payload dict. Its customer, when it
        has one the shop does not know yet, is added to the shop's customers."""
        if not isinstance(payload, dict) or payload.get("id") in (None, ""):
            raise ValueError("an order needs an 'id'")
        order = copy.deepcopy(payload)
        order_id = int(order["id"])
        with self.lock:
            shop = self.shop(domain)
            if not order.get("updated_at"):
                # A change without a stamp happened now; a new order was last updated when made.
                replacing = order_id in shop.orders
                fresh = replacing or not order.get("created_at")
                order["updated_at"] = iso(self.now()) if fresh else order["created_at"]
            if not order.get("created_at"):
                order["created_at"] = order["updated_at"]
            customer = order.get("customer") or {}
            if customer.get("id") is not None and int(customer["id"]) not in shop.customers:
                self.add_customer(
                    shop.domain,
                    int(customer["id"]),
                    email=customer.get("email"),
                    first_name=customer.get("first_name"),
                    last_name=customer.get("last_name"),
                    phone=customer.get("phone"),
                    tags=str(customer.get("tags") or "").split(","),
                )
            shop.orders[order_id] = order
            return {
                "id": order_id,
                "gid": f"gid://shopify/Order/{order_id}",
                "name": order.get("name"),
                "updated_at": order["updated_at"],
            }

    def add_product(
        self,
        domain: str,
        product_id: int | None = None,
        *,
        title: str | None = None,
        tags: Iterable[str] = (),
        collections: Iterable[int | str | dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """Store (or replace) a product with its tags and the collections it belongs to.

        A collection is given as its id, a GID, or ``{"id", "handle"?, "title"?}``; one the
        shop does not know yet is created (handle ``collection-{id}`` unless given), one it
        knows keeps its handle and title unless new ones are given."""
        with self.lock:
            shop = self.shop(domain)
            pid = int(product_id) if product_id is not None else self.next_id()
            collection_ids = [self._collection(shop, c).id for c in collections]
            product = Product(
                id=pid,
                title=title or f"Product {pid}",
                tags=list(dict.fromkeys(t.strip() for t in tags if t.strip())),
                collection_ids=list(dict.fromkeys(collection_ids)),
            )
            shop.products[pid] = product
            return product_dict(shop, product)

    def _collection(self, shop: Shop, spec: int | str | dict[str, Any]) -> Collection:
        given = spec if isinstance(spec, dict) else {"id": spec}
        raw = str(given.get("id") or "").rsplit("/", 1)[-1]
        if not raw.isdigit():
            raise ValueError(f"a collection needs a numeric id or a Collection GID: {spec!r}")
        cid = int(raw)
        found = shop.collections.get(cid)
        if found is None:
            found = shop.collections[cid] = Collection(
                id=cid,
                handle=given.get("handle") or f"collection-{cid}",
                title=given.get("title") or f"Collection {cid}",
            )
        else:
            found.handle = given.get("handle") or found.handle
            found.title = given.get("title") or found.title
        return found

    # -- authorization codes and tokens -------------------------------------------------------
    def issue_code(self, domain: str, scopes: Iterable[str] | str | None, online: bool) -> str:
        with self.lock:
            shop = self.shop(domain)
            code = secrets.token_hex(16)
            granted = normalize_scopes(scopes) if scopes is not None else shop.scopes
            self.codes[code] = AuthCode(code, shop.domain, granted, online, self.now() + CODE_TTL)
            return code

    def redeem_code(self, code: str, host_shop: str | None) -> AuthCode | None:
        """Single use: the code is burnt even when this redemption fails later."""
        with self.lock:
            entry = self.codes.get(code)
            if entry is None or entry.used or entry.expires_at <= self.now():
                return None
            if host_shop is not None and host_shop != entry.shop:
                return None
            entry.used = True
            return entry

    def issue_access_token(
        self,
        domain: str,
        scopes: tuple[str, ...],
        *,
        online: bool,
        expiring: bool,
        user: dict[str, Any] | None = None,
        parent_refresh: str | None = None,
    ) -> tuple[AccessToken, RefreshToken | None]:
        with self.lock:
            now = self.now()
            prefix = "shpua_" if online else "shpat_"
            ttl = ONLINE_TOKEN_TTL if online else ACCESS_TOKEN_TTL
            access = AccessToken(
                token=prefix + secrets.token_hex(16),
                shop=domain,
                scopes=scopes,
                online=online,
                expires_at=now + ttl if (online or expiring) else None,
                created_at=now,
                user=user,
            )
            self.access_tokens[access.token] = access
            refresh = None
            if expiring and not online:
                refresh = RefreshToken(
                    token="shprt_" + secrets.token_hex(16),
                    shop=domain,
                    scopes=scopes,
                    expires_at=now + REFRESH_TOKEN_TTL,
                    parent=parent_refresh,
                )
                self.refresh_tokens[refresh.token] = refresh
            return access, refresh

    def use_refresh_token(self, token: str, host_shop: str | None) -> RefreshToken | None:
        """Validate and consume a refresh token per the configured reuse policy.

        ``reject``: strictly single use. ``until_replacement_used``: Shopify's behaviour since
        2026-08-28, where a used token may be retried (for 30 days at most) until the app starts
        using its replacement, which then retires it.
        """
        with self.lock:
            now = self.now()
            entry = self.refresh_tokens.get(token)
            if entry is None or entry.retired or entry.expires_at <= now:
                return None
            if host_shop is not None and host_shop != entry.shop:
                return None
            if entry.used_at is not None:
                if self.refresh_reuse == "reject":
                    return None
                if now - entry.used_at > REFRESH_RECOVERY_WINDOW:
                    return None
            else:
                entry.used_at = now
            if entry.parent is not None:
                parent = self.refresh_tokens.get(entry.parent)
                if parent is not None:
                    parent.retired = True
            return entry

    def authenticate(self, token: str | None, host_shop: str | None) -> AccessToken | None:
        """The valid access token, or None. A token sent to another shop's host is rejected."""
        if not token:
            return None
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None or not entry.valid(self.now()):
                return None
            if host_shop is not None and host_shop != entry.shop:
                return None
            return entry

    def expire_access_token(self, token_or_shop: str) -> int:
        """Expire one token (by value) or every access token of a shop. Returns how many."""
        with self.lock:
            past = self.now() - 1
            hits = [
                t
                for t in self.access_tokens.values()
                if t.token == token_or_shop or t.shop == token_or_shop.strip().lower()
            ]
            for t in hits:
                t.expires_at = past
            return len(hits)

    def revoke_shop(self, domain: str) -> None:
        """What uninstalling does: every token and refresh token of the shop stops working."""
        with self.lock:
            domain = domain.strip().lower()
            for t in self.access_tokens.values():
                if t.shop == domain:
                    t.revoked = True
            for r in self.refresh_tokens.values():
                if r.shop == domain:
                    r.retired = True
            if domain in self.shops:
                self.shops[domain].webhooks.clear()

    # -- rate limiting --------------------------------------------------------------------------
    def throttle_status(self, shop: Shop) -> dict[str, float]:
        return {
            "maximumAvailable": self.bucket_size,
            "currentlyAvailable": round(shop.bucket_available, 1),
            "restoreRate": self.restore_rate,
        }

    def spend(self, shop: Shop, cost: int) -> bool:
        """Leaky bucket per shop: refill by elapsed time, then spend ``cost`` if available."""
        with self.lock:
            now = self.now()
            elapsed = max(0.0, now - shop.bucket_updated)
            shop.bucket_available = min(
                self.bucket_size, shop.bucket_available + elapsed * self.restore_rate
            )
            shop.bucket_updated = now
            if self.enforce_throttle and cost > shop.bucket_available:
                return False
            shop.bucket_available = max(0.0, shop.bucket_available - cost)
            return True

    # -- recording --------------------------------------------------------------------------------
    def record(self, entry: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(entry)

    def reset(self) -> None:
        """Forget recorded requests and pending faults, refill buckets; shops are kept."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            now = self.now()
            for shop in self.shops.values():
                shop.bucket_available = self.bucket_size
                shop.bucket_updated = now
