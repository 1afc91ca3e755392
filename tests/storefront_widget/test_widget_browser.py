"""The widget in a real headless Chromium, on the stand-in's storefront page (`/storefront`),
embedded as the theme app extension embeds it: the script from the storefront's side, the `state`
and `redeem` calls through the stand-in's app proxy, signed as Shopify signs them, to the app on
`live_server`; redemptions create their discount codes at the stand-in. Screenshots go to
test-artifacts/storefront_widget/."""

import http.server
import re
import threading
import time
from urllib.parse import urlencode

import pytest
from django.db import connections
from django.test import override_settings

from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption
from loyalty.tiers.services import tier_evaluate
from storefront_widget.models import WidgetSettings
from storefront_widget.services import widget_settings_update
from storefront_widget.tokens import customer_token_sign
from tests.factories import MemberFactory, RewardFactory, TierFactory
from tests.merchant_admin.helpers import session_token
from tests.platforms.shopify.helpers import SHOP
from tests.platforms.shopify.test_admin_browser import browser  # noqa: F401 (fixture)
from tests.storefront_widget.bundle import BUILT, ROOT, built_widget

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

CUSTOMER = "8100000001"
ARTIFACTS = ROOT / "test-artifacts" / "storefront_widget"
LAUNCHER = "setia-launcher button.b"
DIALOG = "setia-launcher [role=dialog]"

# What a theme might do to everything on its pages.
HOSTILE_THEME = """
* { all: unset !important; }
html, body, button, div, span { font-size: 64px !important; line-height: 4 !important;
  font-family: "Comic Sans MS", cursive !important; color: red !important;
  background: yellow !important; padding: 30px !important; position: static !important; }
"""
WATCHED = [
    "position",
    "right",
    "bottom",
    "width",
    "height",
    "font-size",
    "font-family",
    "font-weight",
    "line-height",
    "color",
    "background-color",
    "padding-top",
    "padding-left",
    "border-top-left-radius",
    "z-index",
    "display",
]


@pytest.fixture
def storefront(live_server, shopify_standin, shopify_shop):
    built_widget()
    shopify_standin.app_url = live_server.url
    with override_settings(STOREFRONT_CACHE_SECONDS=0):
        yield shopify_standin


@pytest.fixture
def member(shopify_standin, shopify_shop):
    shopify_standin.add_customer(SHOP, int(CUSTOMER), email="aisyah@example.com")
    TierFactory(shop=shopify_shop, name="Silver", threshold=1000, perks=["Free shipping"])
    TierFactory(shop=shopify_shop, name="Gold", threshold=2000, perks=["Early access"])
    member = MemberFactory(shop=shopify_shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=1250, idempotency_key="seed", source_type="action")
    tier_evaluate(member=member)
    return member


@pytest.fixture
def rewards(shopify_shop):
    # Installing gave the shop the default reward too (5 off your order, 500 points).
    return (
        RewardFactory(shop=shopify_shop, name="RM10 off", points_cost=800, value=10),
        RewardFactory(shop=shopify_shop, name="RM50 off", points_cost=5000, value=50),
    )


@pytest.fixture
def visit(storefront, browser):  # noqa: F811
    pages = []

    def open_page(*, customer=CUSTOMER, locale="en", setup=None, reduced_motion="no-preference"):
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, reduced_motion=reduced_motion
        )
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        if setup:
            setup(page)
        page.goto(f"{storefront.origin}/storefront?shop={SHOP}&customer={customer}&locale={locale}")
        pages.append(context)
        return page

    yield open_page
    for context in pages:
        context.close()
    # With Playwright's sync API running, the ORM gets a connection of its own (another
    # context for asgiref's Local); close it, or PostgreSQL cannot drop the test database.
    connections.close_all()


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def focus_in_dialog(page) -> bool:
    return page.evaluate(
        """() => { const root = document.querySelector('setia-launcher').shadowRoot;
        const dialog = root.querySelector('[role=dialog]');
        return !!root.activeElement && dialog.contains(root.activeElement); }"""
    )


def layout_shift(page) -> float:
    return page.evaluate(
        """() => new Promise((resolve) => { let total = 0;
        new PerformanceObserver((list) => { for (const e of list.getEntries()) total += e.value; })
          .observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => resolve(total), 300); })"""
    )


def computed(page, selector):
    return page.locator(selector).evaluate(
        "(element, names) => { const style = getComputedStyle(element);"
        " const box = element.getBoundingClientRect();"
        " return { box: [box.x, box.y, box.width, box.height],"
        " ...Object.fromEntries(names.map((n) => [n, style.getPropertyValue(n)])) }; }",
        WATCHED,
    )


def test_the_launcher_shows_the_balance_and_the_panel_works_from_the_keyboard(
    member, rewards, visit
):
    page = visit()

    launcher = page.locator(LAUNCHER)
    launcher.filter(has_text="1,250 points").wait_for()
    assert layout_shift(page) == 0
    shot(page, "launcher-member")

    for _ in range(6):  # the product page's button first, then the launcher
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.localName") == "setia-launcher":
            break
    page.keyboard.press("Enter")
    dialog = page.locator(DIALOG)
    dialog.wait_for(state="visible")

    assert launcher.get_attribute("aria-expanded") == "true"
    assert dialog.get_attribute("aria-modal") == "true"
    assert focus_in_dialog(page)
    for _ in range(12):  # Tab and Shift+Tab stay inside the open panel
        page.keyboard.press("Tab")
        assert focus_in_dialog(page)
    page.keyboard.press("Shift+Tab")
    assert focus_in_dialog(page)
    assert page.locator("setia-launcher [data-balance]").inner_text() == "1,250"
    text = dialog.inner_text()
    assert "Your tier: Silver" in text
    assert "750 more to reach Gold" in text
    assert "Free shipping" in text
    assert "3,750 more points needed" in text
    assert page.locator("setia-launcher [role=progressbar]").get_attribute("aria-valuenow") == "63"
    # Measured once the opening slide has ended: mid-animation, a translated box can come out
    # a float's width short of its laid-out size (43.99999 for 44).
    page.wait_for_function(
        "() => document.querySelector('setia-launcher').shadowRoot"
        ".querySelector('[role=dialog]').getAnimations().length === 0"
    )
    for target in page.locator("setia-launcher [role=dialog] button").all():
        box = target.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
    shot(page, "panel-member")

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.localName") == "setia-launcher"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.errors == []


def test_a_redemption_shows_the_code_and_the_balance_drops(member, rewards, storefront, visit):
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()

    page.get_by_role("button", name="Redeem: RM10 off").click()
    page.locator(DIALOG).get_by_text("Spend 800 points on RM10 off?").wait_for()
    shot(page, "redeem-confirm")
    page.locator("setia-launcher [data-confirm]").click()
    code = page.locator("setia-launcher [data-code]")
    code.wait_for()

    redemption = Redemption.objects.get(member=member)
    assert code.inner_text() == redemption.code
    assert storefront.shop(SHOP).discount_by_code(redemption.code) is not None
    assert page.locator("setia-launcher [data-new-balance]").inner_text() == (
        "New balance: 450 points"
    )
    page.locator(LAUNCHER).filter(has_text="450 points").wait_for()
    page.locator("setia-launcher [data-balance]").filter(has_text=re.compile("^450$")).wait_for()
    apply = page.locator("setia-launcher .ok a")
    assert apply.get_attribute("href") == f"https://{SHOP}/discount/{redemption.code}"
    member.refresh_from_db()
    assert member.points_balance == 450
    shot(page, "redeem-code")
    assert page.errors == []


def test_the_arabic_panel_is_laid_out_right_to_left(member, rewards, visit):
    page = visit(locale="ar")
    page.locator(LAUNCHER).click()
    dialog = page.locator(DIALOG)
    dialog.wait_for(state="visible")

    assert dialog.get_attribute("dir") == "rtl"
    assert dialog.get_attribute("lang") == "ar"
    assert dialog.evaluate("(d) => getComputedStyle(d).direction") == "rtl"
    title = page.locator("setia-launcher h2").bounding_box()
    close = page.locator("setia-launcher [data-close]").bounding_box()
    assert close["x"] < title["x"]  # mirrored: the close button on the left
    assert "نقاطك" in dialog.inner_text()
    shot(page, "panel-arabic")
    assert page.errors == []


def test_a_guest_sees_the_sign_in_call(member, rewards, visit):
    page = visit(customer="")
    launcher = page.locator(LAUNCHER)
    launcher.wait_for()
    assert launcher.inner_text() == "Rewards"

    launcher.click()
    guest = page.locator("setia-launcher [data-guest]")
    guest.wait_for()

    assert guest.get_by_role("link", name="Sign in").get_attribute("href") == "/account/login"
    assert guest.get_by_role("link", name="Create account").get_attribute("href") == (
        "/account/register"
    )
    assert page.locator("setia-launcher [data-redeem]").count() == 0
    shot(page, "panel-guest")
    assert page.errors == []


def test_a_hostile_theme_stylesheet_does_not_change_the_widget(member, rewards, visit):
    page = visit(reduced_motion="reduce")
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    page.locator(DIALOG).wait_for(state="visible")
    assert page.locator(DIALOG).evaluate("(d) => d.getAnimations().length") == 0
    before = {s: computed(page, s) for s in (LAUNCHER, DIALOG, "setia-launcher h2")}

    page.add_style_tag(content=HOSTILE_THEME)

    after = {s: computed(page, s) for s in (LAUNCHER, DIALOG, "setia-launcher h2")}
    assert after == before
    shot(page, "hostile-theme")
    assert page.errors == []


def test_an_unreachable_api_shows_the_launcher_without_numbers(member, rewards, visit):
    page = visit(setup=lambda p: p.route("**/apps/setia/api/state", lambda r: r.abort()))
    launcher = page.locator(LAUNCHER)
    launcher.wait_for()
    page.wait_for_load_state("networkidle")

    assert launcher.inner_text() == "Rewards"
    assert page.locator(DIALOG).count() == 0  # no error dialog of its own accord
    assert [e for e in page.errors if "Failed to load resource" not in e] == []
    shot(page, "launcher-unreachable")


def test_the_language_comes_from_data_locale_or_the_page_and_strings_are_overridable(
    member, rewards, visit
):
    page = visit(locale="th")
    page.locator(LAUNCHER).filter(has_text="1,250 คะแนน").wait_for()

    page.evaluate(
        """() => { for (const [id, attrs] of [
            ['ms', { locale: 'ms' }],
            ['page-lang', { strings: JSON.stringify({ label: 'Mata Batik', signIn: 'Masuk' }) }],
          ]) { const element = document.createElement('setia-launcher');
            element.id = id; Object.assign(element.dataset, attrs);
            document.body.append(element); } }"""
    )

    page.locator("#ms button.b").filter(has_text="1,250 mata").wait_for()
    assert page.locator("#ms button.b").inner_text().startswith("Ganjaran")
    page.locator("#page-lang button.b").filter(has_text="1,250 คะแนน").wait_for()
    assert page.locator("#page-lang button.b").inner_text().startswith("Mata Batik")
    page.locator("#ms button.b").focus()  # the three launchers overlap: the keyboard opens it
    page.keyboard.press("Enter")
    assert "Mata anda" in page.locator("#ms [role=dialog]").inner_text()
    assert page.errors == []


def test_a_failed_redemption_is_retried_with_the_same_idempotency_key(
    member, rewards, storefront, visit
):
    sent = []

    def first_fails(route):
        sent.append(route.request.post_data_json)
        route.abort() if len(sent) == 1 else route.continue_()

    page = visit(setup=lambda p: p.route("**/apps/setia/api/redeem", first_fails))
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    page.get_by_role("button", name="Redeem: RM10 off").click()
    page.locator("setia-launcher [data-confirm]").click()
    alert = page.locator("setia-launcher [role=dialog] [role=alert]")
    alert.wait_for()
    assert alert.inner_text() == "Your reward could not be redeemed. Please try again."
    assert Redemption.objects.count() == 0

    page.locator("setia-launcher [data-confirm]").filter(has_text="Try again").click()
    page.locator("setia-launcher [data-code]").wait_for()

    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert str(sent[0]["reward_id"]) == str(rewards[0].pk)
    assert re.fullmatch("[0-9a-f]{32}", sent[0]["idempotency_key"])
    assert Redemption.objects.get().idempotency_key == sent[0]["idempotency_key"]
    assert [e for e in page.errors if "Failed to load resource" not in e] == []


def test_the_merchants_look_colours_place_label_and_strings_reach_the_storefront(
    member, rewards, shopify_shop, visit
):
    widget_settings_update(
        shop=shopify_shop,
        actor="staff:1",
        values={
            "program_name": "Kelab Batik",
            "primary_color": "#aa3300",
            "background_color": "#fffaf0",
            "text_color": "#222222",
            "position": "bottom-left",
            "label": "Club points",
            "strings": {"ms": {"balance": "Mata Batik anda", "label": "Kelab"}},
        },
    )

    page = visit()
    launcher = page.locator(LAUNCHER)
    launcher.filter(has_text="1,250 points").wait_for()
    assert launcher.inner_text().startswith("Club points")
    assert computed(page, LAUNCHER)["background-color"] == "rgb(170, 51, 0)"
    assert computed(page, LAUNCHER)["color"] == "rgb(255, 255, 255)"
    assert computed(page, LAUNCHER)["box"][0] == 20  # bottom-left, 20 px in
    assert layout_shift(page) == 0
    launcher.click()
    dialog = page.locator(DIALOG)
    dialog.wait_for(state="visible")
    assert page.locator("setia-launcher h2").inner_text() == "Kelab Batik"
    assert computed(page, DIALOG)["background-color"] == "rgb(255, 250, 240)"
    assert computed(page, DIALOG)["color"] == "rgb(34, 34, 34)"
    assert computed(page, DIALOG)["box"][0] == 20
    shot(page, "look-merchant")

    malay = visit(locale="ms")
    malay.locator(LAUNCHER).filter(has_text="1,250 mata").wait_for()
    assert malay.locator(LAUNCHER).inner_text().startswith("Kelab")
    malay.locator(LAUNCHER).click()
    assert "Mata Batik anda" in malay.locator(DIALOG).inner_text()

    # The theme's own custom properties still win over the merchant's settings.
    page.add_style_tag(content="setia-launcher { --setia-accent: #0000ff; }")
    assert computed(page, LAUNCHER)["background-color"] == "rgb(0, 0, 255)"
    assert page.errors == [] and malay.errors == []


def test_the_admin_preview_runs_the_real_widget_and_follows_the_form(
    member,
    rewards,
    shopify_shop,
    storefront,
    browser,  # noqa: F811
):
    query = urlencode(
        {"shop": SHOP, "host": "YWRtaW4", "embedded": "1", "id_token": session_token(SHOP)}
    )
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, reduced_motion="reduce")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{storefront.app_url}/app/widget/?{query}")

    stage = page.locator("#widget-stage")
    launcher = stage.locator("setia-launcher button.b")
    launcher.filter(has_text="1,250 points").wait_for()
    dialog = stage.locator("[role=dialog]")
    dialog.wait_for(state="visible")  # opened for the merchant
    box, frame = launcher.bounding_box(), stage.bounding_box()
    assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
    assert box["y"] + box["height"] <= frame["y"] + frame["height"]  # inside the box, not the page
    assert "RM10 off" in dialog.inner_text()

    page.locator("#id_primary_color").fill("#aa3300")
    page.locator("#id_label").fill("Kelab Batik")
    page.locator("#id_program_name").fill("Batik Club")
    page.get_by_label("Bottom left").check()
    # The preview is rebuilt after each pause in typing: wait for the one with every change.
    launcher = stage.locator("setia-launcher button.b.left").filter(has_text="Kelab Batik")
    launcher.wait_for()
    assert launcher.evaluate("(b) => getComputedStyle(b).backgroundColor") == "rgb(170, 51, 0)"
    assert launcher.bounding_box()["x"] < frame["x"] + 40
    stage.locator("[role=dialog] h2").filter(has_text="Batik Club").wait_for()

    page.locator("#widget-preview-locale").select_option("ar")
    stage.locator("[role=dialog][dir=rtl]").wait_for()
    shot(page, "admin-preview")
    page.screenshot(path=str(ARTIFACTS / "admin-page.png"), full_page=True)
    page.locator("#widget-preview-guest").check()
    stage.locator("[data-guest]").wait_for()
    assert not WidgetSettings.objects.filter(shop=shopify_shop).exists()  # a preview saves nothing
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()
    connections.close_all()


def test_placing_an_order_on_the_demo_storefront_sends_orders_paid_and_the_points_arrive(
    member, rewards, storefront, visit
):
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").wait_for()

    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("button", name="Add to cart").wait_for(state="detached")
    page.goto(f"{storefront.origin}/storefront/cart")  # the session's shop and customer
    assert page.locator("[data-quantity]").inner_text() == "1"
    page.goto(f"{storefront.origin}/storefront")
    page.get_by_role("button", name="Add to cart").click()
    page.locator("[data-quantity]").filter(has_text="2").wait_for()
    assert "MYR 240.00" in page.inner_text("main")
    shot(page, "demo-cart")
    page.get_by_role("button", name="Place order").click()

    page.get_by_role("status").filter(has_text="Thank you! Order").wait_for()
    page.locator(LAUNCHER).filter(has_text="1,490 points").wait_for()  # 240 MYR at 1 per MYR
    member.refresh_from_db()
    assert member.points_balance == 1490
    orders = storefront.shop(SHOP).orders
    assert len(orders) == 1
    (order,) = orders.values()
    assert order["customer"]["id"] == int(CUSTOMER)
    assert order["line_items"][0]["quantity"] == 2
    assert page.locator("[data-cart-count]").inner_text() == "0"
    shot(page, "demo-order-points")
    assert page.errors == []


def test_the_product_block_shows_the_points_this_purchase_earns_without_shifting_the_page(
    member, rewards, shopify_shop, visit
):
    program = shopify_shop.program
    program.points_per_currency_unit = 3
    program.save()

    page = visit()
    block = page.locator("setia-points")
    block.filter(has_text="Earn 360 points with this purchase").wait_for()
    malay = visit(locale="ms")
    malay.locator("setia-points").filter(has_text="Kumpul 360 mata dengan pembelian ini").wait_for()

    assert layout_shift(page) == 0
    shot(page, "product-points")
    assert page.errors == [] and malay.errors == []


@pytest.fixture
def other_store():
    """A store outside Shopify: its own origin serving its page and the built widget."""
    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in pages:
                body, kind = pages[self.path].encode(), "text/html"
            elif (BUILT / self.path.lstrip("/")).is_file() and self.path.endswith(".js"):
                body, kind = (BUILT / self.path.lstrip("/")).read_bytes(), "text/javascript"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()


def test_a_store_outside_shopify_runs_the_widget_from_a_script_tag_with_a_signed_token(
    member,
    rewards,
    shopify_shop,
    storefront,
    browser,  # noqa: F811
    other_store,
):
    origin, pages = other_store
    secret = WidgetSettings.objects.create(shop=shopify_shop).widget_secret
    api = f"{storefront.app_url}/storefront/api/widget"

    def page_for(token):
        query = urlencode({"shop": SHOP, "token": token})
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>Batik House</title></head><body><h1>Batik House</h1>
<setia-launcher data-state-url="{api}/state?{query}" data-redeem-url="{api}/redeem?{query}">
</setia-launcher><script type="module" src="/setia-launcher.js" defer></script></body></html>"""

    pages["/signed-in"] = page_for(customer_token_sign(secret=secret, customer_id=CUSTOMER))
    pages["/forged"] = page_for(f"{CUSTOMER}.{int(time.time())}." + "0" * 64)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{origin}/signed-in")

    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    page.get_by_role("button", name="Redeem: RM10 off").click()
    page.locator("setia-launcher [data-confirm]").click()
    page.locator("setia-launcher [data-code]").wait_for()
    page.locator(LAUNCHER).filter(has_text="450 points").wait_for()
    member.refresh_from_db()
    assert member.points_balance == 450
    shot(page, "script-tag-store")

    page.goto(f"{origin}/forged")
    page.locator(LAUNCHER).wait_for()
    assert page.locator(LAUNCHER).inner_text() == "Rewards"  # refused: no numbers, no dialog
    assert page.locator(DIALOG).count() == 0
    assert errors == []
    context.close()
    connections.close_all()


def test_the_account_block_shows_the_balance_and_opens_the_panel(member, rewards, visit):
    page = visit(locale="th")
    page.locator(LAUNCHER).filter(has_text="1,250 คะแนน").wait_for()

    page.get_by_role("link", name="Account").click()
    block = page.locator("setia-points")
    block.filter(has_text="คุณมี 1,250 คะแนน").wait_for()
    block.get_by_role("button", name="ดูรางวัลของคุณ").click()

    page.locator(DIALOG).wait_for(state="visible")
    assert page.locator("setia-launcher [data-balance]").inner_text() == "1,250"
    shot(page, "account-block")
    assert page.errors == []


def test_a_member_finds_their_referral_link_in_the_panel_and_copies_it(
    member, rewards, visit, shopify_shop
):
    from loyalty.referrals.codes import referral_code_member_id
    from loyalty.referrals.models import ReferralProgram

    ReferralProgram.objects.create(
        shop=shopify_shop,
        enabled=True,
        friend_discount_kind="amount",
        friend_discount_value=15,
        referrer_points=300,
    )

    def allow_clipboard(page):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page = visit(setup=allow_clipboard)
    page.locator(LAUNCHER).click()
    section = page.locator("setia-launcher [data-referral]")
    section.wait_for(state="visible")

    assert "Refer a friend" in section.inner_text()
    assert "Friends get MYR\xa015.00 off their first order; you get 300 points." in (
        section.inner_text()
    )
    link = section.locator("input").input_value()
    prefix = f"https://{SHOP}/apps/setia/r/"
    assert link.startswith(prefix)
    code = link.removeprefix(prefix)
    assert referral_code_member_id(shop_id=shopify_shop.pk, code=code) == member.pk
    section.locator("[data-copy-link]").click()
    page.locator("setia-launcher [data-copy-link]", has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    shot(page, "panel-referral")
    # In Malay, the terms are worded in Malay.
    page = visit(locale="ms")
    page.locator(LAUNCHER).click()
    section = page.locator("setia-launcher [data-referral]")
    section.wait_for(state="visible")
    assert "Rakan mendapat potongan" in section.inner_text()
    assert page.errors == []
