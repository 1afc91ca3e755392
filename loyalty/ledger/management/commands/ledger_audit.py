from django.core.management.base import BaseCommand, CommandError

from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member


class Command(BaseCommand):
    help = (
        "Recompute every member's balance, pending points and lifetime figures from the ledger "
        "and check each lot; exit 1 with a report on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="Only this shop's domain.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, shop=None, batch_size=1000, **options):
        members = Member.objects.order_by("pk")
        if shop:
            members = members.filter(shop__domain=shop.lower())
        checked = 0
        mismatches = []
        last_pk = 0
        while True:
            batch = list(members.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                break
            mismatches.extend(ledger_audit_members(members=batch))
            checked += len(batch)
            last_pk = batch[-1].pk
        for m in mismatches:
            self.stdout.write(
                f"MISMATCH shop={m.shop_id} member={m.member_id} {m.field}: "
                f"stored {m.stored}, ledger says {m.recomputed}"
            )
        if mismatches:
            raise CommandError(
                f"ledger_audit: {len(mismatches)} mismatch(es) in {checked} member(s).",
                returncode=1,
            )
        self.stdout.write(
            f"ledger_audit: {checked} member(s) checked, all balances match the ledger."
        )
