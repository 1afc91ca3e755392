"""``StandIn``: the object tests and scripts hold. Owns the state, the server and the senders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from . import admin_api, payloads, senders
from .oauth import AppConfig
from .server import Dispatcher, HTTPServerThread
from .signing import (
    QueryValue,
    checkout_token_claims,
    encode_jwt,
    session_token_claims,
)
from .signing import sign_oauth_query as _sign_oauth_query
from .state import (
    DEFAULT_SCOPES,
    AccessToken,
    FaultQueue,
    RecordedRequest,
    RefreshReuse,
    Shop,
    Store,
    normalize_scopes,
)


class StandIn:
    """A local Shopify: OAuth, token exchange and refresh, Admin GraphQL, faults, senders.

    ``refresh_reuse`` chooses what a used refresh token does when presented again:
    ``"reject"`` (default: strictly single use, the pessimistic textbook rotation) or
    ``"until_replacement_used"`` (Shopify since 2026-08-28: retryable for up to 30 days until
    the app uses the replacement, which retires it).
    """

    def __init__(
        self,
        api_key: str = "test-api-key",
        api_secret: str = "test-api-secret",  # noqa: S107 - the test settings' dev secret
        port: int = 0,
        *,
        scopes: Iterable[str] | str = DEFAULT_SCOPES,
        redirect_urls: Sequence[str] | None = None,
        refresh_reuse: RefreshReuse = "reject",
        bucket_size: float = 2000.0,
        restore_rate: float = 100.0,
        enforce_throttle: bool = True,
        clock: Callable[[], float] = time.time,
        max_recorded_requests: int = 10_000,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret are required")
        self.api_key = api_key
        self.api_secret = api_secret
        self.store = Store(
            default_scopes=[scopes] if isinstance(scopes, str) else scopes,
            clock=clock,
            refresh_reuse=refresh_reuse,
            bucket_size=bucket_size,
            restore_rate=restore_rate,
            enforce_throttle=enforce_throttle,
            max_recorded_requests=max_recorded_requests,
        )
        self.app = AppConfig(api_key, api_secret, tuple(redirect_urls) if redirect_urls else None)
        # Where the app under test serves; enables the demo pages (see demo.py).
        self.app_url: str | None = None
        self._stop_event = threading.Event()
        self._dispatcher = Dispatcher(self.store, self.app, self._stop_event, standin=self)
        self._server = HTTPServerThread(self._dispatcher, port)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> StandIn:
        """Bind 127.0.0.1 and serve on a background thread. Idempotent."""
        self._stop_event.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut keep-alive connections, wake "slow" faults. Idempotent."""
        self._stop_event.set()
        self._server.stop()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        port = self._server.port
        if port is None:
            raise RuntimeError("the stand-in is not running; call start() first")
        return port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, timeout: float = 5.0, **kwargs: Any) -> httpx.Client:
        """An httpx client whose every request goes to this stand-in, Host header kept."""
        return httpx.Client(
            transport=senders.RewriteOriginTransport(self.origin), timeout=timeout, **kwargs
        )

    # -- state -----------------------------------------------------------------------------------
    @property
    def faults(self) -> FaultQueue:
        return self.store.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the recorded requests, oldest first."""
        with self.store.lock:
            return list(self.store.requests)

    def reset(self) -> None:
        """Clear recorded requests and pending faults; shops and their data stay."""
        self.store.reset()

    def add_shop(
        self,
        shop_domain: str,
        *,
        name: str | None = None,
        currency: str = "USD",
        iana_timezone: str = "UTC",
        email: str | None = None,
        plan: str = "Basic",
        scopes: Iterable[str] | str | None = None,
    ) -> Shop:
        """Create (or update) a shop. ``scopes`` are what managed install grants."""
        return self.store.add_shop(
            shop_domain,
            name=name,
            email=email,
            currency=currency,
            iana_timezone=iana_timezone,
            plan=plan,
            scopes=scopes,
        )

    def shop(self, shop_domain: str) -> Shop:
        """The live state of a shop (customers, discounts, webhooks, metafields)."""
        return self.store.shop(shop_domain)

    def add_customer(
        self,
        shop_domain: str,
        customer_id: int | None = None,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        tags: Iterable[str] = (),
        phone: str | None = None,
        note: str | None = None,
        number_of_orders: int = 0,
        amount_spent: str = "0.00",
    ) -> dict[str, Any]:
        """Add a customer; returns ``{"id": 123, "gid": "gid://shopify/Customer/123", ...}``."""
        customer = self.store.add_customer(
            shop_domain,
            customer_id,
            email=email,
            first_name=first_name,
            last_name=last_name,
            tags=tags,
            phone=phone,
            note=note,
            number_of_orders=number_of_orders,
            amount_spent=amount_spent,
        )
        return customer.as_dict()

    def add_order(self, shop_domain: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Put an order into the shop, given as the webhook payload dict
        (``payloads.order_payload(...)``), so one fixture feeds both webhooks and the Admin API.

        Adding an order with an id already there replaces it (an edit, a refund, a
        cancellation). The payload's ``updated_at`` is kept as given; without one, a new order
        was last updated when created and a replaced one now. Returns
        ``{"id", "gid", "name", "updated_at"}``.
        """
        return self.store.add_order(shop_domain, payload)

    def add_product(
        self,
        shop_domain: str,
        product_id: int | None = None,
        *,
        title: str | None = None,
        tags: Iterable[str] = (),
        collections: Iterable[int | str | dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """Put a product into the shop's catalogue with its tags and collections (each an id,
        a GID or ``{"id", "handle", "title"}``), for ``nodes(ids:)`` to answer. The same id
        again replaces it. Returns ``{"id", "gid", "title", "tags", "collections"}``."""
        return self.store.add_product(
            shop_domain, product_id, title=title, tags=tags, collections=collections
        )

    def graphql(
        self,
        shop_domain: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        scopes: Iterable[str] | str | None = None,
        api_version: str = "2026-10",
    ) -> dict[str, Any]:
        """Run an Admin GraphQL document in-process, as the shop's app (``scopes``: the shop's
        by default): the JSON body Shopify would send. No HTTP, no faults, nothing recorded;
        validation, scopes and the cost bucket apply. Works without ``start()``, for pure
        tests of what the app makes of an answer."""
        shop = self.shop(shop_domain)
        token = AccessToken(
            token="in-process",  # noqa: S106 - never stored, never valid over HTTP
            shop=shop.domain,
            scopes=normalize_scopes(scopes) if scopes is not None else shop.scopes,
            online=False,
            expires_at=None,
            created_at=self.store.now(),
        )
        context = admin_api.Context(self.store, shop, token, api_version)
        return admin_api.execute(context, query, variables).body

    # -- credentials -------------------------------------------------------------------------------
    def issue_code(
        self, shop_domain: str, scopes: Iterable[str] | str | None = None, *, online: bool = False
    ) -> str:
        """An authorization code as the authorize endpoint issues it (single use, 10 minutes)."""
        return self.store.issue_code(shop_domain, scopes, online)

    def session_token(
        self, shop_domain: str, user_id: str = "1", exp_seconds: int = 60, **overrides: Any
    ) -> str:
        """An App Bridge session token. ``overrides`` replace claims; a ``None`` drops one."""
        claims = session_token_claims(
            shop_domain, self.api_key, user_id, exp_seconds, now=self.store.now()
        )
        claims.update(overrides)
        return encode_jwt(claims, self.api_secret)

    def checkout_session_token(
        self, shop_domain: str, customer_id: int | str | None = None, *, exp_seconds: int = 300
    ) -> str:
        """A checkout UI extension token (``dest`` without scheme; ``sub`` = customer GID)."""
        claims = checkout_token_claims(
            shop_domain, self.api_key, customer_id, exp_seconds, now=self.store.now()
        )
        return encode_jwt(claims, self.api_secret)

    def expire_access_token(self, token_or_shop: str) -> int:
        """Make one access token (or all of a shop's) expired now. Returns how many."""
        return self.store.expire_access_token(token_or_shop)

    def uninstall(self, shop_domain: str, app_url: str | None = None) -> httpx.Response | None:
        """Revoke the shop's tokens and subscriptions; with ``app_url``, send app/uninstalled."""
        shop = self.shop(shop_domain)
        self.store.revoke_shop(shop.domain)
        if app_url is None:
            return None
        payload = payloads.app_uninstalled_payload(
            shop.domain,
            shop_id=shop.id,
            name=shop.name,
            email=shop.email,
            currency=shop.currency,
            iana_timezone=shop.iana_timezone,
        )
        return self.send_webhook(app_url, "app/uninstalled", shop.domain, payload)

    def sign_oauth_query(self, params: Mapping[str, QueryValue]) -> dict[str, Any]:
        """Add ``hmac`` (hex) to install/callback query params."""
        return _sign_oauth_query(params, self.api_secret)

    # -- senders ----------------------------------------------------------------------------------
    def send_webhook(
        self,
        app_url: str,
        topic: str,
        shop_domain: str,
        payload: dict[str, Any] | bytes,
        *,
        webhook_id: str | None = None,
        event_id: str | None = None,
        api_version: str = "2026-10",
        triggered_at: datetime | str | None = None,
        hmac_override: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """POST a signed webhook to ``{app_url}/shopify/webhooks`` (timeout 10 s)."""
        return senders.send_webhook(
            self.api_secret,
            app_url,
            topic,
            shop_domain,
            payload,
            webhook_id=webhook_id,
            event_id=event_id,
            api_version=api_version,
            triggered_at=triggered_at,
            hmac_override=hmac_override,
            client=client,
        )

    def proxy_request(
        self,
        app_url: str,
        path: str,
        shop_domain: str,
        *,
        customer_id: int | str | None = None,
        method: str = "GET",
        json: Any = None,
        extra_params: Mapping[str, str | int | Sequence[str | int]] | None = None,
        timestamp: int | None = None,
        tamper: bool = False,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """Call ``{app_url}/shopify/proxy{path}`` with Shopify's app proxy query and signature."""
        return senders.proxy_request(
            self.api_secret,
            app_url,
            path,
            shop_domain,
            customer_id=customer_id,
            method=method,
            json=json,
            extra_params=extra_params,
            timestamp=timestamp,
            tamper=tamper,
            client=client,
        )

    def install(
        self, app_url: str, shop_domain: str, client: httpx.Client | None = None
    ) -> httpx.Response:
        """Authorization-code install through the app and this stand-in; see ``senders.install``."""
        return senders.install(self.api_secret, self.origin, app_url, shop_domain, client)
