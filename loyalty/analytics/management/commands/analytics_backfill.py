"""Roll up a range of days: `manage.py analytics_backfill --from 2026-01-01 --to 2026-03-31
[--shop example.myshopify.com]` (every installed shop by default). Safe to repeat."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loyalty.analytics.services import analytics_rollup_range
from loyalty.shops.models import Shop

MAX_DAYS = 3660


class Command(BaseCommand):
    help = "Recompute the analytics roll-ups of every day in a date range (the shops' calendars)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat)
        parser.add_argument("--to", dest="last", required=True, type=date.fromisoformat)
        parser.add_argument("--shop", dest="domain", help="One shop's domain; default: all.")

    def handle(self, *, first: date, last: date, domain: str | None, **options):
        if last < first:
            raise CommandError("--to is before --from.")
        if (last - first).days >= MAX_DAYS:
            raise CommandError(f"At most {MAX_DAYS} days at a time.")
        shops = Shop.objects.order_by("pk")
        if domain:
            shops = shops.filter(domain=domain)
            if not shops.exists():
                raise CommandError(f"No shop {domain!r}.")
        else:
            shops = shops.filter(installed_at__isnull=False, uninstalled_at__isnull=True)
        for shop in shops:
            days = analytics_rollup_range(shop=shop, first=first, last=last)
            self.stdout.write(f"{shop.domain}: {days} days rolled up")
