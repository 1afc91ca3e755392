from django.core.management.base import BaseCommand, CommandError

from loyalty.api.models import ApiKey
from loyalty.api.services import api_key_create, api_key_revoke
from loyalty.shops.models import Shop


class Command(BaseCommand):
    help = "Create, list or revoke a shop's API keys for /api/v1/ (the token is shown once)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("--shop", required=True, help="The shop's domain (x.myshopify.com).")
        parser.add_argument("--name", default="", help="create: what will use the key.")
        parser.add_argument("--id", type=int, help="revoke: the key's id (from list).")

    def handle(self, *args, action, shop, name, id, **options):
        found = Shop.objects.filter(domain=shop).first()
        if found is None:
            raise CommandError(f"No shop {shop!r}.")
        if action == "create":
            try:
                key, token = api_key_create(shop=found, name=name, actor="command")
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"key {key.pk} ({key.name}): {token}")
            self.stdout.write("Keep it now: it is not stored and cannot be shown again.")
        elif action == "list":
            for key in ApiKey.objects.filter(shop=found).order_by("pk"):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
                self.stdout.write(f"{key.pk}\t{key.name}\tsetia_{key.prefix}_…\t{state}")
        else:
            if id is None:
                raise CommandError("revoke needs --id")
            try:
                api_key_revoke(shop=found, key_id=id, actor="command")
            except ApiKey.DoesNotExist as exc:
                raise CommandError(f"No key {id} for {shop}.") from exc
            self.stdout.write(f"key {id} revoked")
