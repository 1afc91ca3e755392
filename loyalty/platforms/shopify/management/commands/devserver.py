"""Development only: the app, the local Shopify stand-in, and a demo shop installed through the
real OAuth flow, in one process. `make run` uses it."""

import threading
import time

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from loyalty.platforms.shopify.standin import StandIn, payloads

DEMO_SHOP = "setia-demo.myshopify.com"
DEMO_CUSTOMER = 7_204_561_001


class Command(BaseCommand):
    help = "Serve the app with the Shopify stand-in and a demo shop (DEBUG=1 only)."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--standin-port", type=int, default=8765)
        parser.add_argument("--shop", default=DEMO_SHOP)

    def handle(self, *args, addrport, standin_port, shop, **options):
        if not settings.DEBUG:
            raise CommandError("devserver is for development: set DEBUG=1 (make run does).")
        app_url = f"http://{addrport}"
        standin = StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET, port=standin_port)
        standin.add_shop(
            shop, name="Setia Demo Batik", currency="MYR", iana_timezone="Asia/Kuala_Lumpur"
        )
        standin.add_customer(
            shop, DEMO_CUSTOMER, email="aisyah@example.com", first_name="Aisyah", last_name="Rahman"
        )
        standin.start()
        standin.app_url = app_url
        # Every server-to-Shopify call of this process now goes to the stand-in.
        settings.SHOPIFY_API_ORIGIN = standin.origin
        settings.APP_URL = app_url
        threading.Thread(target=self._seed, args=(standin, app_url, shop), daemon=True).start()
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            standin.stop()

    def _seed(self, standin: StandIn, app_url: str, shop: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{app_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        install = standin.install(app_url, shop)
        if install.status_code != 302:
            self.stderr.write(f"demo install failed: {install.status_code} {install.text[:300]}")
            return
        customer = payloads.customer_payload(customer_id=DEMO_CUSTOMER, email="aisyah@example.com")
        standin.send_webhook(app_url, "customers/create", shop, customer)
        origin = standin.origin
        state = f"{origin}/apps/setia/api/state?shop={shop}"
        self.stdout.write(
            "\n"
            f"  Demo shop {shop} installed through the stand-in's OAuth flow.\n"
            f"    merchant admin:    {origin}/admin/apps/{settings.SHOPIFY_API_KEY}?shop={shop}\n"
            f"    storefront state:  {state}&customer={DEMO_CUSTOMER}\n"
            f"    (as a guest):      {state}\n"
            f"    storefront widget: {origin}/storefront?shop={shop}&customer={DEMO_CUSTOMER}\n"
            f"    (as a guest):      {origin}/storefront?shop={shop}&locale=en  (ms, ar, th)\n"
            f"    Shopify stand-in:  {origin}  (control API under /_standin/)\n"
            f"    Django admin:      {app_url}/django-admin/\n"
        )
