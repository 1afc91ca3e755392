import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from loyalty.platforms.shopify import webhooks

logger = logging.getLogger(__name__)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def process_webhook(self, delivery_id: int) -> str:
    result = webhooks.process_delivery(delivery_id)
    if result.retry_in is not None and not self.request.is_eager:
        # The sweeper would find it too; this is just sooner. Both are safe together.
        raise self.retry(countdown=result.retry_in)
    return result.status


@shared_task(ignore_result=True, acks_late=True)
def process_webhooks(delivery_ids: list[int]) -> None:
    """A batch from intake: first-seen orders together in one transaction, the rest each in
    its own; retries go back one by one."""
    left = webhooks.process_deliveries(delivery_ids, gather=settings.SHOPIFY_WEBHOOK_BATCH_GATHER)
    for delivery_id in left:
        try:
            result = webhooks.process_delivery(delivery_id)
        except Exception:
            # One bad delivery must not hold up the rest of the batch; it stays in the inbox
            # for the sweeper and shows its error there.
            logger.exception("webhook delivery %s could not be processed", delivery_id)
            continue
        if result.retry_in is not None:
            process_webhook.apply_async((delivery_id,), countdown=result.retry_in)


@shared_task(ignore_result=True)
def sweep_webhook_inbox() -> int:
    """Re-enqueue deliveries that are due or look lost (the broker is at-most-once here)."""
    from loyalty.platforms.shopify.models import OAuthState

    now = timezone.now()
    OAuthState.objects.filter(
        created_at__lt=now - timedelta(hours=1)
    ).delete()  # abandoned installs
    ids = webhooks.deliveries_due(now=now, stuck_after=timedelta(minutes=2), limit=1000)
    for pk in ids:
        webhooks.publish(pk)
    return len(ids)


@shared_task(bind=True, ignore_result=True, max_retries=5)
def after_install(self, shop_id: int) -> None:
    from loyalty.platforms.shopify.errors import AdminApiError
    from loyalty.platforms.shopify.install import after_install as run_after_install
    from loyalty.shops.models import Shop

    shop = Shop.objects.filter(pk=shop_id, uninstalled_at__isnull=True).first()
    if shop is None:
        return
    try:
        run_after_install(shop=shop)
    except AdminApiError as exc:
        if exc.transient and not self.request.is_eager:
            raise self.retry(countdown=30 * 2**self.request.retries) from exc
        raise


@shared_task(bind=True, ignore_result=True, acks_late=True)
def reconcile_recent_orders(self, shop_id: int | None = None) -> str:
    """Beat, every 30 minutes: apply the orders Shopify changed lately, read from the Admin
    API, so an order whose webhook never came still earns (or is refunded, or cancelled).

    Without `shop_id`: one run per installed shop is enqueued (each shop has its own rate
    limit and time budget). With it: that shop is reconciled from its watermark (the last two
    days without one; see `reconcile.reconcile_recent`). A run that stopped at its page or time
    budget goes on at once in a new task; a failed one is tried again by the next beat.
    """
    from loyalty.platforms.shopify import reconcile
    from loyalty.platforms.shopify.errors import AdminApiError
    from loyalty.shops.models import Platform, Shop

    installed = Shop.objects.filter(
        platform=Platform.SHOPIFY, installed_at__isnull=False, uninstalled_at__isnull=True
    )
    if shop_id is None:
        ids = list(installed.order_by("pk").values_list("pk", flat=True))
        for pk in ids:
            reconcile_recent_orders.delay(pk)
        return f"{len(ids)} shop(s) to reconcile"
    shop = installed.filter(pk=shop_id).first()
    if shop is None:
        return "not installed"
    try:
        result = reconcile.reconcile_recent(shop=shop)
    except AdminApiError as exc:
        # Each order is applied whole or not at all, and the watermark did not move.
        logger.warning("reconciling %s failed (%s): %s", shop.domain, exc.code, exc)
        return f"failed: {exc.code}"
    if result is None:
        return "skipped: already running, or read_orders not granted"
    if not result.complete and not self.request.is_eager:
        reconcile_recent_orders.apply_async((shop.pk,), countdown=1)
    return f"{result.orders} order(s), {result.changed} changed, {result.points:+d} points"
