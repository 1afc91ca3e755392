"""Transport-neutral request and response objects, so endpoints are plain functions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .signing import SHOP_DOMAIN_RE


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # as received (original case)
    body: bytes

    def __post_init__(self) -> None:
        self._lower = {k.lower(): v for k, v in self.headers.items()}
        self.query_lists: dict[str, list[str]] = parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self._lower.get(name.lower(), default)

    def arg(self, name: str) -> str | None:
        values = self.query_lists.get(name)
        return values[-1] if values else None

    @property
    def query(self) -> dict[str, str | list[str]]:
        """Single values as str, repeated keys as lists (like shopify_app parses queries)."""
        return {k: v[0] if len(v) == 1 else v for k, v in self.query_lists.items()}

    @property
    def host_shop(self) -> str | None:
        """The shop named by the Host header, if it is a ``*.myshopify.com`` host.

        The app's transport rewrites only the origin and keeps ``Host: {shop}``, so this is a
        hint for which shop the app meant; a request to the bare origin has no hint.
        """
        host = (self.header("host") or "").strip().lower()
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return host if SHOP_DOMAIN_RE.match(host) else None

    def json(self) -> Any:
        """The parsed JSON body, or None when the body is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering ("network" fault)
    shop: str | None = None  # the shop this request resolved to, for the request log
    operation: str | None = None  # GraphQL root fields, for the request log

    @classmethod
    def json(cls, status: int, payload: Any, **kwargs: Any) -> Response:
        headers = {"Content-Type": "application/json; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, json.dumps(payload).encode(), headers, **kwargs)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain", **kwargs: Any):
        headers = {"Content-Type": f"{content_type}; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, text.encode(), headers, **kwargs)
