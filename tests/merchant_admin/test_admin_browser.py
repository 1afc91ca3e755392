"""The admin in headless Chromium, framed by the stand-in's Shopify admin page with the
stand-in's App Bridge: session tokens come from the framing page over postMessage, and admin.js
sends every link and form through fetch with them. Walks the dashboard, the members list, a
member's page and a manual adjustment; Arabic (right to left) and Thai. Screenshots go to
test-artifacts/merchant_admin/."""

import re
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings

from loyalty.audit.models import AuditEntry
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.tiers.services import tier_evaluate
from tests.conftest import ROOT
from tests.factories import MemberFactory, TierFactory
from tests.platforms.shopify.helpers import SHOP
from tests.platforms.shopify.test_admin_browser import browser  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

ARTIFACTS = ROOT / "test-artifacts" / "merchant_admin"


@pytest.fixture
def members(shopify_shop, shopify_standin):
    for customer, email in ((8100000001, "aisyah@example.com"), (8100000002, "siti@example.com")):
        shopify_standin.add_customer(SHOP, customer, email=email)
    TierFactory(shop=shopify_shop, name="Gold", threshold=1000)
    aisyah = MemberFactory(
        shop=shopify_shop,
        platform_customer_id="8100000001",
        email="aisyah@example.com",
        first_name="Aisyah",
        last_name="Rahman",
        enrolled_at=datetime(2026, 2, 1, tzinfo=UTC),
    )
    siti = MemberFactory(
        shop=shopify_shop,
        platform_customer_id="8100000002",
        email="siti@example.com",
        first_name="Siti",
        last_name="Nurhaliza",
        enrolled_at=datetime(2026, 2, 2, tzinfo=UTC),
    )
    ledger_credit(
        member=aisyah, points=1200, idempotency_key="o1", source_type="order", source_id="1001"
    )
    tier_evaluate(member=aisyah)
    ledger_credit(member=siti, points=300, idempotency_key="s1", source_type="action")
    return aisyah, siti


@pytest.fixture
def admin(live_server, shopify_standin, shopify_shop, browser):  # noqa: F811
    """Open the stand-in's Shopify admin page framing the app; yields (page, app frame)."""
    shopify_standin.app_url = live_server.url
    contexts = []

    def open_admin(locale=None):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        query = f"shop={SHOP}" + (f"&locale={locale}" if locale else "")
        page.goto(f"{shopify_standin.origin}/admin/apps/{settings.SHOPIFY_API_KEY}?{query}")
        frame = page.frame_locator("iframe")
        frame.locator("h1").first.wait_for()
        return page, page.frames[1], frame

    # DEBUG lets the stand-in's admin origin frame the app (frame-ancestors).
    with override_settings(DEBUG=True):
        yield open_admin
    for context in contexts:
        context.close()
    # Playwright's sync API gives the ORM a connection of its own here: close it, or
    # PostgreSQL cannot drop the test database.
    connections.close_all()


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_dashboard_members_member_page_and_a_manual_adjustment(admin, members, shopify_standin):
    aisyah, _siti = members
    page, app, frame = admin()

    # The dashboard, with App Bridge from the stand-in's origin.
    assert app.evaluate("window.shopify.origin") == shopify_standin.origin
    assert frame.locator("[data-stat=members]").inner_text() == "2"
    assert frame.locator("[data-stat=points-outstanding]").inner_text() == "1500"
    assert frame.locator(".app-title").inner_text() == "Rewards"
    shot(page, "dashboard")

    # The members list, through admin.js (fetch with the session token) and history.
    frame.get_by_role("link", name="Members", exact=True).click()
    frame.locator("h1", has_text="Members").wait_for()
    assert re.search(r"/app/members/\?locale=en$", app.url)
    names = frame.locator("tbody tr td:first-child a").all_inner_texts()
    assert names == ["Siti Nurhaliza", "Aisyah Rahman"]
    shot(page, "members")

    # Search, as a GET form.
    frame.get_by_label("Search").fill("aisy")
    frame.get_by_role("button", name="Apply").click()
    app.wait_for_function("() => document.querySelectorAll('tbody tr').length === 1")
    assert "q=aisy" in app.url

    # The member's page.
    frame.get_by_role("link", name="Aisyah Rahman").click()
    frame.locator("h1", has_text="Aisyah Rahman").wait_for()
    assert frame.locator("[data-figure=balance]").inner_text() == "1200"
    assert frame.locator("[data-figure=tier]").inner_text().startswith("Gold")
    assert "Order" in frame.locator("tr[data-entry]").first.inner_text()
    shot(page, "member")

    # Taking more than the balance: the form comes back with the message, nothing changes.
    frame.get_by_role("spinbutton", name="Points").fill("-5000")
    frame.get_by_role("textbox", name="Reason").fill("Fraudulent orders")
    frame.get_by_role("button", name="Adjust", exact=True).click()
    frame.locator(".errorlist").wait_for()
    assert "Only 1200 points can be taken away" in frame.locator(".errorlist").inner_text()
    assert frame.locator("[data-figure=balance]").inner_text() == "1200"

    # A manual adjustment: 303 to the member's page, the balance changes on the page.
    frame.get_by_role("spinbutton", name="Points").fill("250")
    frame.get_by_role("textbox", name="Reason").fill("Parcel arrived late")
    frame.get_by_role("button", name="Adjust", exact=True).click()
    frame.locator(".banner.success").wait_for()
    assert frame.locator("[data-figure=balance]").inner_text() == "1450"
    assert re.search(rf"/app/members/{aisyah.pk}/\?adjusted=1&locale=en$", app.url)
    first_entry = frame.locator("tr[data-entry]").first.inner_text()
    assert "Manual adjustment" in first_entry and "+250" in first_entry
    shot(page, "member-adjusted")

    entry = LedgerEntry.objects.get(member=aisyah, kind=EntryKind.ADJUST)
    assert (entry.points, entry.reason, entry.actor) == (250, "Parcel arrived late", "staff:1")
    assert AuditEntry.objects.filter(action="members.adjust", target_id=str(aisyah.pk)).count() == 1

    # Back: the browser's history returns to the list (popstate loads it again).
    app.evaluate("history.go(-2)")
    frame.locator("h1", has_text="Members").wait_for()
    assert "q=aisy" in app.url
    assert frame.locator("tbody tr td:first-child a").all_inner_texts() == ["Aisyah Rahman"]
    assert page.errors == []


def test_arabic_admin_is_right_to_left_and_keeps_its_language(admin, members):
    page, app, frame = admin(locale="ar")

    assert app.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "ar",
        "rtl",
    ]
    assert frame.locator("h1").inner_text() == "الرئيسية"
    shot(page, "dashboard-ar")

    frame.get_by_role("link", name="الأعضاء", exact=True).click()
    frame.locator("h1", has_text="الأعضاء").wait_for()
    assert app.evaluate("document.documentElement.dir") == "rtl"
    assert "locale=ar" in app.url
    # Right to left: the navigation starts at the right edge.
    home_box = frame.get_by_role("link", name="الرئيسية").bounding_box()
    members_box = frame.get_by_role("link", name="الأعضاء", exact=True).bounding_box()
    assert home_box["x"] > members_box["x"]
    shot(page, "members-ar")
    assert page.errors == []


def test_thai_admin(admin, members):
    page, app, frame = admin(locale="th")

    assert app.evaluate("document.documentElement.lang") == "th"
    assert frame.locator("h1").inner_text() == "หน้าหลัก"
    frame.get_by_role("link", name="สมาชิก", exact=True).click()
    frame.get_by_role("link", name="Aisyah Rahman").click()
    frame.locator("h1", has_text="Aisyah Rahman").wait_for()
    assert frame.locator("#ledger").inner_text() == "ประวัติคะแนน"
    assert app.evaluate("document.documentElement.lang") == "th"
    shot(page, "member-th")
    assert page.errors == []


def test_operations_replay_and_a_privacy_export_download(admin, shopify_shop, tmp_path):
    from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery
    from loyalty.privacy.models import PrivacyRequest, PrivacyRequestKind

    failed = WebhookDelivery.objects.create(
        webhook_id="browser-failed",
        topic="customers/update",
        shop_domain=SHOP,
        shop=shopify_shop,
        body="{}",
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_error="ValueError: bad payload",
    )
    export = PrivacyRequest.objects.create(
        shop=shopify_shop,
        shop_domain=SHOP,
        kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST,
        platform_customer_id="8100000001",
        source_id="browser-privacy-1",
        export={"member": {"points_balance": 120}},
        received_at=datetime(2026, 5, 1, tzinfo=UTC),
        completed_at=datetime(2026, 5, 1, 0, 1, tzinfo=UTC),
    )
    page, _app, frame = admin()

    frame.get_by_role("link", name="Operations", exact=True).click()
    frame.locator("h1", has_text="Operations").wait_for()
    assert (
        "ValueError: bad payload" in frame.locator(f"tr[data-delivery='{failed.pk}']").inner_text()
    )
    shot(page, "operations")

    # The export, fetched with the session token and saved from a blob.
    with page.expect_download() as download_info:
        frame.get_by_role("link", name="Download").click()
    saved = tmp_path / "export.json"
    download_info.value.save_as(saved)
    assert download_info.value.suggested_filename == f"privacy-request-{export.pk}.json"
    assert saved.read_text().replace(" ", "").replace("\n", "") == (
        '{"member":{"points_balance":120}}'
    )

    # Replay: the delivery is queued again and processed at once (tasks run eagerly here): its
    # attempts start again from 0, and this payload fails again on its first attempt.
    frame.get_by_role("checkbox", name="Choose customers/update").check()
    frame.get_by_role("button", name="Replay chosen deliveries").click()
    frame.locator(".banner.success").wait_for()
    assert frame.locator(".banner.success").inner_text() == "1 delivery queued again."
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (
        DeliveryStatus.FAILED,
        1,
        "PayloadError: the payload has no customer id",
    )
    assert AuditEntry.objects.filter(action="operations.replay", target_id=str(failed.pk)).exists()
    assert page.errors == []
