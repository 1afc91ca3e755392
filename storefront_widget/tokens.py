"""Signed customer tokens for stores outside Shopify, where no app proxy vouches for the shopper.

The store's own server signs who is signed in, with the shop's widget secret (shown in Setia's
admin, /app/widget/), and renders the token into the page:

    token = f"{customer_id}.{unix_time}." + hmac_sha256_hex(secret, f"{customer_id}.{unix_time}")

The token is checked in constant time and is good for MAX_AGE_SECONDS after it was signed (and
never when dated more than FUTURE_SKEW_SECONDS ahead), so a token copied out of a page soon
stops working; rotating the secret ends every token at once."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

MAX_AGE_SECONDS = 3600
FUTURE_SKEW_SECONDS = 60
TOKEN_RE = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9]{1,12})\.([0-9a-f]{64})")


def _mac(secret: str, customer_id: str, timestamp: int) -> str:
    message = f"{customer_id}.{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def customer_token_sign(*, secret: str, customer_id: str, timestamp: int | None = None) -> str:
    """What a store's server puts in its page (a reference for merchants, and the tests)."""
    issued = int(time.time()) if timestamp is None else int(timestamp)
    return f"{customer_id}.{issued}.{_mac(secret, customer_id, issued)}"


def customer_token_verify(*, secret: str, token: str, now: float | None = None) -> str | None:
    """The customer id the token vouches for, or None when it is malformed, forged or stale."""
    match = TOKEN_RE.fullmatch(token or "")
    if match is None or not secret:
        return None
    customer_id, issued, mac = match.group(1), int(match.group(2)), match.group(3)
    if not hmac.compare_digest(_mac(secret, customer_id, issued), mac):
        return None
    age = (time.time() if now is None else now) - issued
    if age > MAX_AGE_SECONDS or age < -FUTURE_SKEW_SECONDS:
        return None
    return customer_id
