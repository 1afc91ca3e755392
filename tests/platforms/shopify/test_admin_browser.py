"""The embedded admin in a real headless Chromium, framed by the stand-in's Shopify admin page:
the session token gets it in, and the browser enforces its frame-ancestors policy."""

import os
import shutil

import pytest
from django.conf import settings
from django.test import override_settings

from loyalty.platforms.shopify.standin import StandIn

SHOP = "demo-shop.myshopify.com"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: install Debian's chromium package (.ci/run does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here by the
    # test itself are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def installed(live_server):
    with StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET) as standin:
        standin.add_shop(SHOP, name="Demo Batik", currency="MYR")
        standin.app_url = live_server.url
        with override_settings(SHOPIFY_API_ORIGIN=standin.origin, APP_URL=live_server.url):
            assert standin.install(live_server.url, SHOP).status_code == 302
            yield standin


def admin_frame(browser, standin):
    page = browser.new_page()
    page.goto(f"{standin.origin}/admin/apps/{settings.SHOPIFY_API_KEY}?shop={SHOP}")
    page.wait_for_load_state("load")
    return page, page.frames[1]


def test_admin_loads_inside_the_shopify_admin_frame(browser, installed):
    # The development policy lets the stand-in's admin origin frame the app.
    with override_settings(DEBUG=True):
        page, frame = admin_frame(browser, installed)

    assert frame.url.startswith(f"{settings.APP_URL}/app/")
    assert "Setia is installed on Demo Batik." in frame.inner_text("body")
    page.close()


def test_the_browser_refuses_to_frame_the_admin_anywhere_but_shopify(browser, installed):
    # Production policy: only https://{shop} and https://admin.shopify.com may frame the app.
    page, frame = admin_frame(browser, installed)

    assert "Setia is installed" not in frame.content()
    assert frame.url.startswith("chrome-error://") or frame.content().count("Demo Batik") == 0
    page.close()
