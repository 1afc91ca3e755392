"""The periodic roll-up: yesterday and today, for every installed shop, one task per shop."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from loyalty.analytics import services
from loyalty.shops.models import Shop

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def rollup_recent_days() -> int:
    """Enqueue the roll-up of every installed shop; returns how many."""
    shop_ids = list(
        Shop.objects.filter(installed_at__isnull=False, uninstalled_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for shop_id in shop_ids:
        rollup_shop_recent_days.delay(shop_id)
    return len(shop_ids)


@shared_task(ignore_result=True)
def rollup_shop_recent_days(shop_id: int) -> int:
    """Yesterday (late orders and refunds still change it) and today, in the shop's calendar.
    Idempotent: a repeat recomputes the same rows."""
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return 0
    today = services.shop_today(shop=shop, now=timezone.now())
    return services.analytics_rollup_range(shop=shop, first=today - timedelta(days=1), last=today)
