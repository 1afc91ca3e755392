"""Fixtures for the stand-in tests: a running stand-in, Shopify's own package, a tiny receiver.

Everything goes over real HTTP on 127.0.0.1. No database is used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from shopify_app import ShopifyApp

from loyalty.platforms.shopify.standin import StandIn

API_KEY = "test-api-key"
API_SECRET = "test-api-secret"
SHOP = "demo-shop.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"
API_VERSION = "2026-10"
GRAPHQL_URL = f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(API_KEY, API_SECRET) as running:
        running.add_shop(
            SHOP,
            name="Demo Shop",
            currency="MYR",
            iana_timezone="Asia/Kuala_Lumpur",
            email="owner@demo-shop.example",
        )
        yield running


@pytest.fixture
def shopify_app() -> ShopifyApp:
    return ShopifyApp(client_id=API_KEY, client_secret=API_SECRET)


@pytest.fixture
def client(standin: StandIn) -> Iterator[httpx.Client]:
    """Requests to https://{shop}/... land on the stand-in with ``Host: {shop}`` kept."""
    with standin.client(timeout=5.0) as rewriting:
        yield rewriting


@pytest.fixture
def token(standin: StandIn, client: httpx.Client) -> dict[str, Any]:
    """An expiring offline token pair for SHOP, from the authorization-code grant."""
    code = standin.issue_code(SHOP)
    response = client.post(
        TOKEN_URL,
        json={"client_id": API_KEY, "client_secret": API_SECRET, "code": code, "expiring": 1},
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def graphql(client: httpx.Client, token: dict[str, Any]) -> Callable[..., httpx.Response]:
    """POST a GraphQL document with the shop's token; returns the raw response."""

    def send(query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        headers = {"X-Shopify-Access-Token": kwargs.pop("access_token", token["access_token"])}
        return client.post(GRAPHQL_URL, json=body, headers=headers, **kwargs)

    return send


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def url(self) -> str:
        return f"https://app.example{self.path}" + (f"?{self.query}" if self.query else "")

    def as_shopify_request(self) -> dict[str, Any]:
        """The RequestInput dict shopify_app's verify_* functions take."""
        return {
            "method": self.method,
            "headers": self.headers,
            "url": self.url,
            "body": self.body.decode("utf-8"),
        }


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Receiver:
    """A tiny app stand-in: records requests and answers with ``respond``."""

    respond: Callable[[Received], Reply] = lambda _req: (200, {}, b"ok")
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                path, _, query = self.path.partition("?")
                req = Received(
                    self.command, path, query, dict(self.headers.items()), self.rfile.read(length)
                )
                receiver.received.append(req)
                status, headers, body = receiver.respond(req)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(payload).encode(),
    )
