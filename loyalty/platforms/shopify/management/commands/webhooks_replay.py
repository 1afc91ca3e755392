from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from loyalty.platforms.shopify import webhooks
from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery


class Command(BaseCommand):
    help = (
        "Replay stored Shopify webhook deliveries: by default every failed one; or choose by "
        "--id, --status, --topic, --shop, --since. Handlers are idempotent, so replaying a "
        "processed delivery changes nothing it already did."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--id", type=int, action="append", dest="ids", help="Delivery id (repeatable)."
        )
        parser.add_argument("--status", choices=DeliveryStatus.values, help="Default: failed.")
        parser.add_argument("--topic")
        parser.add_argument("--shop", help="Shop domain.")
        parser.add_argument("--since", help="Received at or after (ISO 8601).")
        parser.add_argument(
            "--sync", action="store_true", help="Process here instead of enqueuing."
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list what would replay.")

    def handle(
        self,
        *args,
        ids=None,
        status=None,
        topic=None,
        shop=None,
        since=None,
        sync=False,
        dry_run=False,
        **options,
    ):
        deliveries = WebhookDelivery.objects.order_by("pk")
        if ids:
            deliveries = deliveries.filter(pk__in=ids)
        if status or not ids:
            deliveries = deliveries.filter(status=status or DeliveryStatus.FAILED)
        if topic:
            deliveries = deliveries.filter(topic=topic)
        if shop:
            deliveries = deliveries.filter(shop_domain=shop.lower())
        if since:
            when = parse_datetime(since)
            if when is None:
                raise CommandError(f"--since is not an ISO 8601 date-time: {since!r}")
            deliveries = deliveries.filter(received_at__gte=when)
        chosen = list(deliveries.values_list("pk", "topic", "shop_domain", "status"))
        for pk, t, s, st in chosen:
            self.stdout.write(f"{pk} {t} {s} ({st})")
        if dry_run or not chosen:
            self.stdout.write(
                f"{len(chosen)} delivery(ies) would replay." if dry_run else "Nothing to replay."
            )
            return
        pks = [row[0] for row in chosen]
        if sync:
            WebhookDelivery.objects.filter(pk__in=pks).update(
                status=DeliveryStatus.RECEIVED,
                next_attempt_at=None,
                last_error="",
                attempts=0,
                sweeps=0,
            )
            results = [webhooks.process_delivery(pk).status for pk in pks]
            summary = ", ".join(f"{results.count(r)} {r}" for r in sorted(set(results)))
            self.stdout.write(f"Replayed {len(pks)}: {summary}.")
        else:
            with transaction.atomic():
                webhooks.deliveries_replay(ids=pks)
            self.stdout.write(f"Queued {len(pks)} delivery(ies) for replay.")
