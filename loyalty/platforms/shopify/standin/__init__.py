"""A faithful local stand-in for the parts of Shopify Setia talks to.

Start it in tests with ``StandIn(...).start()`` (or as a context manager) and point the app's
``SHOPIFY_API_ORIGIN`` at ``standin.origin``; run it on its own with
``python -m loyalty.platforms.shopify.standin``. It depends only on the standard library,
httpx and PyJWT (no Django), so it can run as a separate process.
"""

from .core import StandIn
from .senders import AsyncRewriteOriginTransport, RewriteOriginTransport
from .state import DEFAULT_SCOPES, FAULT_KINDS, RecordedRequest

__all__ = [
    "DEFAULT_SCOPES",
    "FAULT_KINDS",
    "AsyncRewriteOriginTransport",
    "RecordedRequest",
    "RewriteOriginTransport",
    "StandIn",
]
