"""The analytics page in headless Chromium, inside the stand-in's Shopify admin frame: reached
from the admin's navigation, the period chooser used, screenshots saved under
test-artifacts/analytics/."""

from pathlib import Path

import pytest
from django.db import connections
from django.test import override_settings

from loyalty.analytics.services import analytics_rollup_range
from loyalty.shops.models import Shop
from tests.analytics.conftest import DAY1, DAY3, build_history
from tests.platforms.shopify.test_admin_browser import SHOP, admin_frame, browser, installed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "analytics"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

__all__ = ["browser", "installed"]  # the fixtures, imported for pytest


@pytest.fixture
def shop_with_history(installed, gateway):
    """The stand-in's installed shop with the history of conftest.py, rolled up; built before
    Playwright starts (with it running, the ORM would open a second connection)."""
    shop = Shop.objects.get(domain=SHOP)
    shop.iana_timezone = "Asia/Kuala_Lumpur"
    shop.currency = "MYR"
    shop.save()
    build_history(shop)
    analytics_rollup_range(shop=shop, first=DAY1, last=DAY3)
    return shop


def test_the_analytics_page_from_the_navigation_and_a_custom_period(
    shop_with_history, installed, browser
):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with override_settings(DEBUG=True):  # the stand-in's admin origin may frame the app
            page, frame = admin_frame(browser, installed)
            frame.get_by_role("link", name="Analytics").click()
            frame.wait_for_selector("h1:text('Analytics')")
            # An empty default period: the banner, no error.
            assert "No figures for this period yet" in frame.inner_text("body")

            frame.fill("#id_start", DAY1.isoformat())
            frame.fill("#id_end", DAY3.isoformat())
            frame.get_by_role("button", name="Show custom period").click()
            frame.wait_for_selector("[data-figure='points-issued']:text('440')")

            body = frame.inner_text("body")
            assert "No figures for this period yet" not in body
            assert frame.inner_text("[data-figure='liability']") == "10.00 MYR"
            assert frame.inner_text("[data-figure='enrolment-rate']") == "60.0\u00a0%"
            # Every chart is an image with a name a screen reader reads out.
            names = frame.eval_on_selector_all(
                "svg[role='img']", "els => els.map(e => e.querySelector('title').textContent)"
            )
            assert len(names) == 5 and all(names)
            assert names[0] == (
                "Points issued and redeemed per day: 440 issued and 160 redeemed over 3 days."
            )
            page.set_viewport_size({"width": 1280, "height": 1000})
            frame.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "analytics-figures.png"))
            for chart in ("points", "members", "revenue", "tiers"):
                frame.locator(f"section:has(#chart-{chart}-title)").screenshot(
                    path=str(ARTIFACTS / f"analytics-chart-{chart}.png")
                )
            # The table alternative opens.
            frame.get_by_text("Show the figures as a table").first.click()
            assert frame.locator("details[open] tbody tr").count() == 3
            page.close()
    finally:
        connections.close_all()  # or PostgreSQL cannot drop the test database
