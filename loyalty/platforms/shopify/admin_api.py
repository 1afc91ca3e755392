"""The one place Setia calls Shopify's Admin GraphQL API.

`shopify_app.admin_graphql_request` sends each attempt (with the shop's current token and our
http client); the retry policy is ours, because the SDK neither retries a THROTTLED answer that
comes as HTTP 200 nor accepts a fractional Retry-After. Every wait is bounded, and so is the
number of attempts and the total time.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable

from django.conf import settings

from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.sdk import http_client, shopify_app
from loyalty.platforms.shopify.tokens import shop_access_token
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 10.0
RETRYABLE_STATUSES = {500, 502, 503, 504}


def admin_graphql(
    *,
    shop: Shop,
    query: str,
    variables: dict | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    budget_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Run one GraphQL operation for `shop`; returns `data`. Raises AdminApiError."""
    started = time.monotonic()
    stale_token = ""
    unanswered = False  # an attempt went unanswered: it may be applied whatever comes next
    last_error = AdminApiError("not_sent", "no attempt was made", transient=True)
    subdomain = shop.domain.removesuffix(".myshopify.com")
    for attempt in range(1, max_attempts + 1):
        token = shop_access_token(shop=shop, stale_token=stale_token)
        with http_client() as client:
            result = shopify_app().admin_graphql_request(
                query,
                shop=subdomain,
                access_token=token,
                api_version=settings.SHOPIFY_API_VERSION,
                variables=variables,
                max_retries=0,
                http_client=client,
            )
        body = _json(result.response.body)
        if result.ok:
            _log_cost(shop, body.get("extensions") or result.extensions)
            return result.data or {}
        status = result.response.status
        wait: float | None = None
        if result.log.code == "graphql_errors":
            if _is_throttled(body):
                wait = _throttle_wait(body)
                last_error = AdminApiError(
                    "throttled", "Shopify throttled the request", transient=True
                )
            else:
                raise AdminApiError(
                    "graphql_errors",
                    _messages(body),
                    status=status,
                    outcome_unknown=unanswered,
                    error_codes=_error_codes(body),
                )
        elif status == 429:
            wait = _retry_after(_upstream_headers(result))
            last_error = AdminApiError(
                "rate_limited", "Shopify answered 429", transient=True, status=429
            )
        elif status in RETRYABLE_STATUSES or status == 0:
            wait = min(2 ** (attempt - 1), MAX_WAIT_SECONDS) * random.uniform(0.5, 1.0)  # noqa: S311
            unanswered = unanswered or status == 0
            last_error = AdminApiError(
                result.log.code,
                f"Shopify answered {status or 'nothing'}",
                transient=True,
                status=status,
                # No answer (a timeout, a dropped connection): it may have been applied.
                outcome_unknown=unanswered,
            )
        elif status == 401 and not stale_token and shop.refresh_token:
            stale_token = token  # refresh once, then try again at once
            wait = 0.0
            last_error = AdminApiError("unauthorized", "Shopify refused the token", status=401)
        else:
            raise AdminApiError(
                result.log.code,
                f"Shopify answered {status}",
                status=status,
                outcome_unknown=unanswered,
            )
        if attempt == max_attempts or time.monotonic() - started + wait > budget_seconds:
            break
        logger.info("admin api %s for %s; retrying in %.2fs", last_error.code, shop.domain, wait)
        sleep(wait)
    last_error.outcome_unknown = last_error.outcome_unknown or unanswered
    raise last_error


def _upstream_headers(result) -> dict:
    """Shopify's own response headers: the SDK's summary `response` may not carry them."""
    logs = result.http_logs or []
    return (
        (logs[-1].res.headers if logs and logs[-1].res else None) or result.response.headers or {}
    )


def _json(text: str) -> dict:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_throttled(body: dict) -> bool:
    errors = body.get("errors")
    return isinstance(errors, list) and any(
        (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in errors
        if isinstance(e, dict)
    )


def _throttle_wait(body: dict) -> float:
    """How long until the leaky bucket holds enough for this query again."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost", 0)) - float(
            status.get("currentlyAvailable", 0)
        )
        rate = float(status.get("restoreRate") or 50)
    except (TypeError, ValueError):
        return 1.0
    return min(max(needed / rate, 0.1), MAX_WAIT_SECONDS)


def _retry_after(headers: dict) -> float:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), "1")
    try:
        return min(max(float(value), 0.0), MAX_WAIT_SECONDS)
    except (TypeError, ValueError):
        return 1.0


def _error_codes(body: dict) -> tuple[str, ...]:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return ()
    codes = ((e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict))
    return tuple(dict.fromkeys(str(c) for c in codes if c))


def _messages(body: dict) -> str:
    errors = body.get("errors")
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def _log_cost(shop: Shop, extensions: dict | None) -> None:
    cost = (extensions or {}).get("cost") or {}
    if cost:
        logger.info(
            "admin api cost for %s: requested %s, actual %s, available %s",
            shop.domain,
            cost.get("requestedQueryCost"),
            cost.get("actualQueryCost"),
            (cost.get("throttleStatus") or {}).get("currentlyAvailable"),
        )


def user_errors(payload: dict | None) -> list[dict]:
    return list((payload or {}).get("userErrors") or [])
