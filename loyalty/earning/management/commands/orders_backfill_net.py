"""Fill `OrderRecord.net_amount` and `net_items` for orders recorded before they existed:
`manage.py orders_backfill_net [--shop example.myshopify.com] [--batch 1000] [--resync-tiers]`.

Those orders were left at 0, so spend- and order-based tiers and the analytics' revenue count
them as nothing. Each paid, not cancelled order with stored facts and a net amount of 0 is
valued again by the earning path's own `_net_spend` (the numbers agree with orders recorded
since), a batch at a time in primary-key order, each batch in its own transaction under the
records' row locks. Safe to repeat: a second run finds nothing to change.

An order whose record a live event holds at that moment is skipped (the event values it
itself) and counted; tiers and analytics roll-ups are not recomputed unless asked (below)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from loyalty.earning.models import OrderRecord
from loyalty.earning.services import _net_spend
from loyalty.members.models import Member
from loyalty.shops.models import Program, Shop, TierBasis
from loyalty.tiers.services import tier_evaluate, tiers_in_use

# Tier bases that read what this fills (points earned reads the ledger).
ORDER_BASES = (TierBasis.AMOUNT_SPENT, TierBasis.ORDERS_COUNT)


@dataclasses.dataclass
class Backfill:
    examined: int = 0
    updated: int = 0
    skipped: int = 0  # held by a live event (which values the order itself)
    members: set[tuple[int, int]] = dataclasses.field(default_factory=set)  # (member, shop)
    first_paid: datetime | None = None
    last_paid: datetime | None = None

    def saw(self, record: OrderRecord) -> None:
        self.updated += 1
        if record.member_id is not None:
            self.members.add((record.member_id, record.shop_id))
        paid = record.paid_at
        self.first_paid = min(self.first_paid or paid, paid)
        self.last_paid = max(self.last_paid or paid, paid)


def orders_backfill_net(*, shop: Shop | None = None, batch: int = 1000) -> Backfill:
    """Value again every paid, not cancelled order with facts and a net amount of 0 (of `shop`,
    or of every shop)."""
    candidates = OrderRecord.objects.filter(
        net_amount=0, paid_at__isnull=False, cancelled_at__isnull=True
    ).exclude(facts={})
    if shop is not None:
        candidates = candidates.filter(shop=shop)
    done = Backfill()
    after = 0
    while True:
        pks = list(
            candidates.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not pks:
            return done
        after = pks[-1]
        with transaction.atomic():
            # The lock an order event takes: never wait for one, and never write over what it
            # wrote (the net amount is checked again under the lock).
            records = list(
                candidates.filter(pk__in=pks).order_by("pk").select_for_update(skip_locked=True)
            )
            changed = []
            for record in records:
                net = _net_spend(record)
                if net != (record.net_amount, record.net_items):
                    record.net_amount, record.net_items = net
                    changed.append(record)
                    done.saw(record)
            OrderRecord.objects.bulk_update(changed, ["net_amount", "net_items"])
        done.examined += len(pks)
        done.skipped += len(pks) - len(records)


class Command(BaseCommand):
    help = (
        "Recompute net_amount and net_items of paid orders recorded before they were kept "
        "(still 0), as the earning path computes them. Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", dest="domain", help="One shop's domain; default: all.")
        parser.add_argument("--batch", type=int, default=1000, help="Orders per transaction.")
        parser.add_argument(
            "--resync-tiers",
            action="store_true",
            help="Then evaluate again the tiers of the members whose orders changed, in shops "
            "whose tiers count amount spent or orders.",
        )

    def handle(self, *, domain: str | None, batch: int, resync_tiers: bool, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        shop = None
        if domain:
            shop = Shop.objects.filter(domain=domain.lower()).first()
            if shop is None:
                raise CommandError(f"No shop {domain!r}.")
        done = orders_backfill_net(shop=shop, batch=batch)
        self.stdout.write(
            f"orders_backfill_net: {done.examined} paid order(s) with a net amount of 0 "
            f"examined, {done.updated} updated, {done.skipped} skipped (held by an order "
            f"event at that moment: run again to be sure)."
        )
        if not done.updated:
            return
        if resync_tiers:
            self._resync_tiers(done)
        else:
            self.stdout.write(
                "Tiers based on amount spent or orders are not re-evaluated by this: run again "
                "with --resync-tiers (or wait for each member's next order)."
            )
        # Shops' calendars may be a day either side of UTC.
        first = (done.first_paid - timedelta(days=1)).date()
        last = (done.last_paid + timedelta(days=1)).date()
        again = f"manage.py analytics_backfill --from {first} --to {last}"
        if shop is not None:
            again += f" --shop {shop.domain}"
        self.stdout.write(f"Analytics roll-ups of those days still count them as 0: run `{again}`.")

    def _resync_tiers(self, done: Backfill) -> None:
        shop_ids = {shop_id for _, shop_id in done.members}
        counted = {
            shop_id
            for shop_id in Program.objects.filter(
                shop_id__in=shop_ids, tier_basis__in=ORDER_BASES
            ).values_list("shop_id", flat=True)
            if tiers_in_use(shop=Shop(pk=shop_id))
        }
        now = timezone.now()
        evaluated = changed = failed = 0
        for member_id, shop_id in sorted(done.members):
            if shop_id not in counted:
                continue
            evaluated += 1
            try:
                if tier_evaluate(member=Member(pk=member_id, shop_id=shop_id), now=now):
                    changed += 1
            except Exception as exc:  # one member's failure does not stop the others
                failed += 1
                self.stderr.write(f"Tier evaluation of member {member_id} failed: {exc!r}")
        self.stdout.write(
            f"Tiers: {evaluated} member(s) evaluated again, {changed} changed tier, "
            f"{failed} failed."
        )
