"""The webhook inbox: intake stores a verified delivery and answers at once; processing turns
it into a domain event in a Celery task, with bounded retries and a visible record."""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import queue
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty.core.db import update_by_id
from loyalty.core.dispatch import PlatformRecords, handle_event, handle_order_events
from loyalty.core.events import OrderEvent
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.errors import AdminApiError
from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery
from loyalty.platforms.shopify.products import (
    order_event_with_product_facts,
    order_events_with_product_facts,
)
from loyalty.shops.models import Platform, Shop

logger = logging.getLogger(__name__)

UNFINISHED = (DeliveryStatus.RECEIVED, DeliveryStatus.RETRYING)
# Privacy and lifecycle topics still apply after an uninstall (shop/redact comes 48 h later).
AFTER_UNINSTALL_TOPICS = translate.PRIVACY_TOPICS | translate.LIFECYCLE_TOPICS
ORDER_TOPICS = sorted(translate.ORDER_TOPICS)


UNKNOWN_SHOP = "unknown shop: waiting for the install"
# What an X-Shopify-Hmac-Sha256 header can look like: base64 of 32 bytes.
BASE64_DIGEST_RE = re.compile(r"[A-Za-z0-9+/]{43}=")


class TransientError(Exception):
    """Worth retrying later: a dependency was down or busy."""


@dataclass(frozen=True)
class Incoming:
    webhook_id: str
    topic: str
    shop_domain: str
    body: str
    event_id: str = ""
    api_version: str = ""
    triggered_at: datetime | None = None


_INSERT_DELIVERY = """
INSERT INTO shopify_webhookdelivery
  (webhook_id, event_id, topic, shop_domain, api_version, triggered_at, received_at, body,
   status, attempts, last_error, outcome, platform_customer_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '', '')
ON CONFLICT DO NOTHING
RETURNING id
"""


def signature_is_valid(*, body: bytes, signature: str) -> bool:
    """Whether `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body with the app
    secret, compared in constant time.

    Setia's own rather than `shopify_app`'s `verify_webhook_req`, which computes the same HMAC
    but first parses and re-serialises the whole body to redact a log record Setia never reads:
    about 0.27 ms of its 0.28 ms on a 7.6 KB order, on every delivery (see README, Webhooks).
    """
    if not BASE64_DIGEST_RE.fullmatch(signature):
        return False  # missing, malformed or non-ASCII: no signature of ours
    secret = settings.SHOPIFY_API_SECRET.encode()
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode("ascii"))


def delivery_store(*, incoming: Incoming) -> int | None:
    """Insert the delivery; its id, or None when this webhook id, or this event (delivered
    again through a second subscription), was stored before.

    One statement, one round trip in autocommit: this is the hot path of every webhook, and
    `ON CONFLICT DO NOTHING` is the insert-and-catch the inbox needs (PostgreSQL and SQLite).
    """
    params = [
        incoming.webhook_id,
        incoming.event_id,
        incoming.topic,
        incoming.shop_domain,
        incoming.api_version,
        incoming.triggered_at,
        timezone.now(),
        incoming.body,
        DeliveryStatus.RECEIVED,
    ]
    if connection.vendor != "postgresql":
        adapt = connection.ops.adapt_datetimefield_value
        params[5], params[6] = adapt(params[5]), adapt(params[6])
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_DELIVERY, params)
            row = cursor.fetchone()
        return row[0] if row else None
    # Server-side binding for this one statement (Django's cursors bind on the client): the
    # 7 KB body travels as a parameter instead of being escaped into the SQL text and parsed
    # back. Not prepared (no measurable gain), so any connection pooler works.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INSERT_DELIVERY, params, prepare=False)
        row = cursor.fetchone()
    return row[0] if row else None


def enqueue(delivery_id: int) -> None:
    """Hand a delivery to a worker once the transaction that changed it commits."""
    transaction.on_commit(lambda: publish(delivery_id))


def publish(delivery_id: int) -> None:
    """Hand an already committed delivery to a worker.

    With a broker, ids are published in small batches from a background thread (one Celery
    message per batch instead of per delivery, which is most of the intake's cost); if the
    process dies first, or the broker is down, the sweeper finds the stored rows instead.
    """
    from loyalty.platforms.shopify.tasks import process_webhook, process_webhooks

    try:
        if process_webhook.app.conf.task_always_eager:
            process_webhook.delay(delivery_id)
        else:
            _batcher(process_webhooks).add(delivery_id)
    except Exception:
        logger.exception("could not enqueue webhook delivery %s; the sweeper will", delivery_id)


class _Batcher:
    """Collects ids for up to `window` seconds (or `size` ids) and sends them as one task.

    A Celery message costs about 1 ms of CPU to send, whatever it carries, and the thread
    sending it holds the GIL meanwhile, stalling the request the worker is serving. A 0.2 s
    window makes that one message per 0.2 s per busy worker instead of one per few requests;
    processing starts at most that much later, which no webhook notices. The thread wakes once
    for the first id and once when the window closes, not once per id."""

    def __init__(self, task, *, window: float = 0.2, size: int = 500):
        self.task, self.window, self.size = task, window, size
        self.queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.inflight: list[int] = []
        self.thread = threading.Thread(target=self._run, name="webhook-enqueue", daemon=True)
        self.thread.start()

    def add(self, delivery_id: int) -> None:
        self.queue.put(delivery_id)

    def flush(self) -> None:
        """Send what is still waiting (at process exit: a graceful restart loses nothing).
        The batch the thread may be sending right now goes again: processing is idempotent."""
        batch = list(self.inflight)
        with contextlib.suppress(queue.Empty):
            while True:
                batch.append(self.queue.get_nowait())
        if batch:
            self.task.delay(batch)

    def _run(self) -> None:
        while True:
            # `inflight` is the batch being gathered and sent, so that flush() can see it.
            self.inflight = batch = [self.queue.get()]
            time.sleep(self.window)
            with contextlib.suppress(queue.Empty):
                while len(batch) < self.size:
                    batch.append(self.queue.get_nowait())
            try:
                self.task.delay(batch)
            except Exception:
                logger.exception(
                    "could not enqueue %d webhook deliveries; the sweeper will", len(batch)
                )
            self.inflight = []


_batchers: dict[int, _Batcher] = {}
_batchers_lock = threading.Lock()


def _batcher(task) -> _Batcher:
    # One per process (gunicorn forks workers after import: the thread must start in each).
    pid = os.getpid()
    with _batchers_lock:
        if pid not in _batchers:
            _batchers[pid] = _Batcher(task)
            atexit.register(_batchers[pid].flush)
        return _batchers[pid]


def parse_triggered_at(value: str | None) -> datetime | None:
    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ProcessResult:
    status: str
    retry_in: float | None = None


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min, ... capped at an hour."""
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return base + random.uniform(0, base / 10)  # noqa: S311 - jitter, not security


class _InboxRecords(PlatformRecords):
    """The raw payloads the inbox keeps, as the privacy handlers must see them."""

    def __init__(self, current: WebhookDelivery):
        self.current = current

    def scrub_customer(self, shop: Shop, platform_customer_id: str) -> int:
        return (
            WebhookDelivery.objects.filter(shop=shop, platform_customer_id=platform_customer_id)
            .exclude(pk=self.current.pk)
            .update(body="{}", platform_customer_id="")
        )

    def delete_shop(self, shop: Shop) -> int:
        deleted, _ = (
            WebhookDelivery.objects.filter(shop_domain=shop.domain)
            .exclude(pk=self.current.pk)
            .delete()
        )
        return deleted


def process_delivery(delivery_id: int, *, now: datetime | None = None) -> ProcessResult:
    """Process one delivery exactly once. The handler's writes and the delivery's new status
    commit together; a failing handler leaves no partial effect, only a visible error."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status__in=UNFINISHED)
            .first()
        )
        if delivery is None:
            return ProcessResult("skipped")  # done already, or another worker has it
        if delivery.status == DeliveryStatus.RETRYING and delivery.next_attempt_at > now:
            return ProcessResult("skipped")  # its retry is not due yet
        delivery.attempts += 1
        retry_in = None
        try:
            with transaction.atomic():
                status, outcome = _dispatch(delivery)
        except (TransientError, DatabaseError, SoftTimeLimitExceeded) as exc:
            if delivery.attempts >= settings.SHOPIFY_WEBHOOK_MAX_ATTEMPTS:
                status, outcome = DeliveryStatus.FAILED, "gave up after retries"
            else:
                retry_in = retry_delay(delivery.attempts)
                status, outcome = DeliveryStatus.RETRYING, "will retry"
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        except Exception as exc:
            logger.exception("webhook delivery %s failed", delivery.pk)
            status, outcome = DeliveryStatus.FAILED, "failed"
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        else:
            delivery.last_error = ""
        delivery.status = status
        delivery.outcome = outcome[:255]
        delivery.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in else None
        delivery.processed_at = (
            now if status in (DeliveryStatus.PROCESSED, DeliveryStatus.IGNORED) else None
        )
        delivery.save(
            update_fields=[
                "attempts",
                "status",
                "outcome",
                "last_error",
                "next_attempt_at",
                "processed_at",
                "shop",
                "platform_customer_id",
            ]
        )
    return ProcessResult(status, retry_in)


def _dispatch(delivery: WebhookDelivery) -> tuple[str, str]:
    shop = Shop.objects.filter(platform=Platform.SHOPIFY, domain=delivery.shop_domain).first()
    if shop is None:
        # With managed install, Shopify may deliver before the merchant first opens the app
        # (which is when Setia gets its token and the shop row): wait for the install.
        raise TransientError(UNKNOWN_SHOP)
    delivery.shop = shop
    if not shop.is_installed and delivery.topic not in AFTER_UNINSTALL_TOPICS:
        return DeliveryStatus.IGNORED, "shop not installed"
    event = _event_of(delivery, shop)
    if event is None:
        return DeliveryStatus.IGNORED, f"no handler for topic {delivery.topic}"
    note = ""
    if isinstance(event, OrderEvent):
        try:
            event, note = order_event_with_product_facts(shop=shop, event=event)
        except AdminApiError as exc:  # transient: later, rather than earn without the rules
            raise TransientError(f"reading product facts: {exc}") from exc
    outcome = handle_event(event, shop=shop, records=_InboxRecords(delivery))
    if note:  # earned without collection and tag rules: say why where it can be seen
        outcome = f"{outcome}; {note}"
    if delivery.topic == "shop/redact":
        delivery.shop = None  # deleted with everything else
    return DeliveryStatus.PROCESSED, outcome


def _event_of(delivery: WebhookDelivery, shop: Shop):
    """The domain event the delivery's body describes (None for a topic without a handler);
    notes the customer it is about on the delivery. Raises `PayloadError` for a bad body."""
    try:
        payload = json.loads(delivery.body)
    except json.JSONDecodeError as exc:
        raise translate.PayloadError(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise translate.PayloadError("the body is not a JSON object")
    delivery.platform_customer_id = translate.customer_id_of(delivery.topic, payload)
    named = translate.shop_domain_of(delivery.topic, payload)
    if named and named != delivery.shop_domain:
        # The headers are not signed, only the body: a body about another shop is refused.
        raise translate.PayloadError(
            f"the body is about {named}, the headers about {delivery.shop_domain}"
        )
    return translate.to_event(
        topic=delivery.topic,
        payload=payload,
        shop_id=shop.pk,
        occurred_at=_occurred_at(delivery),
        source_id=delivery.webhook_id,
    )


def process_deliveries(
    delivery_ids: list[int], *, now: datetime | None = None, gather: int = 0
) -> list[int]:
    """Process a batch from intake: the first-seen orders of members together, in one
    transaction and a few statements (`handle_order_events`); returns the ids left for
    `process_delivery` one by one: every other delivery, and the whole batch when anything
    in it fails (then nothing of it was written).

    `gather`: also take up to that many other order deliveries waiting in the inbox, oldest
    first. Under a backlog (a sale-day burst) each task then works through one large batch
    instead of the few deliveries intake put in its message, and the tasks whose deliveries
    were taken find them done."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _process_together(delivery_ids, now=now, gather=gather)
    except Exception:
        logger.warning("a batch of %d deliveries goes one by one", len(delivery_ids), exc_info=True)
        return list(delivery_ids)


def _process_together(delivery_ids: list[int], *, now: datetime, gather: int) -> list[int]:
    waiting = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
        status=DeliveryStatus.RECEIVED
    )
    extra = []
    if gather:
        extra = list(
            waiting.filter(topic__in=ORDER_TOPICS)
            .exclude(pk__in=delivery_ids)
            .order_by("pk")
            .values_list("pk", flat=True)[:gather]
        )
    # Locked by this transaction; rows another worker holds are skipped (it processes them).
    locked = list(waiting.filter(pk__in=[*delivery_ids, *extra]).order_by("pk"))
    deliveries = [d for d in locked if d.topic in translate.ORDER_TOPICS]
    shops = {
        shop.domain: shop
        for shop in Shop.objects.filter(
            platform=Platform.SHOPIFY, domain__in={d.shop_domain for d in deliveries}
        )
    }
    by_shop: dict[int, tuple[Shop, list[tuple[WebhookDelivery, OrderEvent]]]] = {}
    for delivery in deliveries:
        shop = shops.get(delivery.shop_domain)
        if shop is None or not shop.is_installed:
            continue
        try:
            event = _event_of(delivery, shop)
        except translate.PayloadError:
            continue  # one by one, where the error is recorded
        by_shop.setdefault(shop.pk, (shop, []))[1].append((delivery, event))
    done: list[tuple[WebhookDelivery, Shop]] = []
    for shop, items in by_shop.values():
        enriched = order_events_with_product_facts(shop=shop, events=[e for _, e in items])
        outcomes = handle_order_events([event for event, _ in enriched], shop=shop)
        for (delivery, _), (_, note), outcome in zip(items, enriched, outcomes, strict=True):
            if outcome is None:
                continue
            delivery.outcome = (f"{outcome}; {note}" if note else outcome)[:255]
            done.append((delivery, shop))
    _mark_processed(done, now=now)
    processed = {d.pk for d, _ in done}
    left = [d.pk for d in locked if d.pk not in processed]
    held = {d.pk for d in locked}
    # Of the ids asked for but not locked here, only retries need `process_delivery` (it
    # knows when they are due); the others are done, or another worker has them.
    left += WebhookDelivery.objects.filter(
        pk__in=[pk for pk in delivery_ids if pk not in held], status=DeliveryStatus.RETRYING
    ).values_list("pk", flat=True)
    logger.info(
        "batch of %d deliveries (%d asked, %d gathered): %d together, %d one by one",
        len(locked),
        len(delivery_ids),
        len(extra),
        len(processed),
        len(left),
    )
    return left


def _mark_processed(done: list[tuple[WebhookDelivery, Shop]], *, now: datetime) -> None:
    """The batch's deliveries processed, in one statement."""
    update_by_id(
        table="shopify_webhookdelivery",
        per_row={
            "shop_id": {d.pk: shop.pk for d, shop in done},
            "outcome": {d.pk: d.outcome for d, _ in done},
            "platform_customer_id": {d.pk: d.platform_customer_id for d, _ in done},
        },
        same="status = %s, attempts = attempts + 1, last_error = '', next_attempt_at = NULL, "
        "processed_at = %s",
        same_params=[DeliveryStatus.PROCESSED, now],
    )


def _occurred_at(delivery: WebhookDelivery) -> datetime:
    """When Shopify says the event happened, but never later than we received it: the header
    is not covered by the signature."""
    triggered = delivery.triggered_at
    if triggered is None or triggered > delivery.received_at:
        return delivery.received_at
    return triggered


def deliveries_due(
    *, now: datetime, stuck_after: timedelta, limit: int, lease: timedelta = timedelta(minutes=5)
) -> list[int]:
    """Deliveries a worker should have taken by now: retries that are due, and received ones
    older than `stuck_after` (their task may have been lost by the broker).

    Received rows handed out here get a lease (`next_attempt_at`), so during a long backlog
    the sweeper does not queue the same rows again every minute. A row handed out more than
    twice the attempt limit without ever finishing is marked failed (a crash rolls back its
    attempt count, so only the sweeper can see it loop)."""
    due = Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now) | (
        Q(status=DeliveryStatus.RECEIVED, received_at__lte=now - stuck_after)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )
    ids = list(
        WebhookDelivery.objects.filter(due).order_by("pk").values_list("pk", flat=True)[:limit]
    )
    handed_out = WebhookDelivery.objects.filter(pk__in=ids, status__in=UNFINISHED)
    handed_out.filter(status=DeliveryStatus.RECEIVED).update(next_attempt_at=now + lease)
    handed_out.update(sweeps=F("sweeps") + 1)
    max_sweeps = 2 * settings.SHOPIFY_WEBHOOK_MAX_ATTEMPTS
    given_up = set(handed_out.filter(sweeps__gt=max_sweeps).values_list("pk", flat=True))
    if given_up:
        WebhookDelivery.objects.filter(pk__in=given_up).update(
            status=DeliveryStatus.FAILED,
            outcome="gave up: never finished processing",
            last_error=f"handed out {max_sweeps} times without finishing: does it crash a worker?",
            next_attempt_at=None,
        )
    return [pk for pk in ids if pk not in given_up]


def deliveries_waiting_for_install(*, shop_domain: str) -> int:
    """A shop was just installed: process what arrived for it before, at once."""
    ids = list(
        WebhookDelivery.objects.filter(
            shop_domain=shop_domain,
            status__in=[DeliveryStatus.RETRYING, DeliveryStatus.FAILED],
            last_error__contains=UNKNOWN_SHOP,
        ).values_list("pk", flat=True)
    )
    return deliveries_replay(ids=ids) if ids else 0


def deliveries_replay(*, ids: list[int]) -> int:
    """Put chosen deliveries back in the queue, whatever their status; returns how many."""
    count = WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.RECEIVED, next_attempt_at=None, last_error="", attempts=0, sweeps=0
    )
    for pk in ids:
        enqueue(pk)
    return count
