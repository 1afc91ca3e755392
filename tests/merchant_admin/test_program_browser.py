"""The program area in headless Chromium, inside the stand-in's Shopify admin frame: a fresh
shop walked through onboarding to a live program, and an earn rule edited (refused, then
saved). Screenshots of each step go to test-artifacts/merchant_admin/."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from loyalty.audit.models import AuditEntry
from loyalty.earning.models import EarnRule
from loyalty.merchant_admin.program.selectors import ONBOARDING_FINISHED
from loyalty.merchant_admin.program.services import onboarding_finish
from loyalty.rewards.models import Reward
from loyalty.shops.models import Shop
from tests.platforms.shopify.test_admin_browser import (  # noqa: F401 - fixtures
    SHOP,
    admin_frame,
    browser,
    installed,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "merchant_admin"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_fresh_shop_walks_through_onboarding_to_a_live_program(browser, installed):  # noqa: F811
    with override_settings(DEBUG=True):  # the stand-in's admin origin may frame the app
        page, frame = admin_frame(browser, installed)
        page.set_viewport_size({"width": 1280, "height": 900})

        # The program page of a fresh shop leads to onboarding.
        frame.get_by_role("link", name="Program").first.click()
        frame.wait_for_selector("h1:text('Set up your program')")
        step1_url = frame.url
        example_before = frame.inner_text("[data-earn-points]")
        frame.fill("#id_points_per_currency_unit", "2.5")
        example_live = frame.inner_text("[data-earn-points]")  # the preview, before saving
        shot(page, "onboarding-1-earn-rate")
        frame.get_by_role("button", name="Next").click()

        frame.wait_for_selector("#field-preset")
        frame.check("input[name=preset][value=ladder_shipping]")
        shot(page, "onboarding-2-rewards")
        frame.get_by_role("button", name="Next").click()

        frame.wait_for_selector("#enable-app-embed")
        embed_href = frame.get_attribute("#enable-app-embed", "href")
        embed_target = frame.get_attribute("#enable-app-embed", "target")
        shot(page, "onboarding-3-widget")
        frame.get_by_role("button", name="Finish: go live").click()

        frame.wait_for_selector("#program-earning")
        overview_url = frame.url
        earning = frame.inner_text("#program-earning")
        rewards = frame.inner_text("#program-rewards")
        shot(page, "onboarding-4-program")
        page.close()

    shop = Shop.objects.get(domain=SHOP)
    assert "/app/program/onboarding/" in step1_url
    assert (example_before, example_live) == ("100", "250")
    assert embed_href == (
        f"https://{SHOP}/admin/themes/current/editor?context=apps"
        f"&activateAppId={settings.SHOPIFY_API_KEY}/setia-launcher"
    )
    assert embed_target == "_top"
    assert "/app/program/" in overview_url and "onboarding" not in overview_url
    assert "An order of 100.00 MYR earns 250 points." in earning
    assert "Free shipping" in rewards
    assert shop.program.points_per_currency_unit == Decimal("2.5")
    assert Reward.objects.filter(shop=shop).count() == 4  # the default 5 off, 10, 20, shipping
    assert AuditEntry.objects.filter(shop=shop, action=ONBOARDING_FINISHED).count() == 1


def test_an_earn_rule_edited_refused_then_saved(browser, installed):  # noqa: F811
    shop = Shop.objects.get(domain=SHOP)
    onboarding_finish(shop=shop, actor="staff:1")
    rule = EarnRule.objects.create(
        shop=shop,
        name="Batik collection x2",
        kind="product",
        effect="multiply",
        target="collection",
        values=["841564295"],
        multiplier=Decimal("2"),
    )
    with override_settings(DEBUG=True):
        page, frame = admin_frame(browser, installed)
        page.set_viewport_size({"width": 1280, "height": 900})
        frame.get_by_role("link", name="Program").first.click()
        frame.wait_for_selector("#program-earning")
        frame.get_by_role("link", name="Earn rules and actions").first.click()
        frame.wait_for_selector("#earn-rules")
        frame.get_by_role("link", name="Batik collection x2").click()
        frame.wait_for_selector("#id_multiplier")
        # Only the fields of a product multiplier are shown.
        hidden_for_product = frame.eval_on_selector_all(
            ".field[hidden]", "els => els.map(e => e.id).sort()"
        )

        frame.fill("#id_multiplier", "1")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector("#field-multiplier .errorlist")
        refused = frame.inner_text("#field-multiplier .errorlist")
        shot(page, "rule-edit-refused")

        frame.fill("#id_multiplier", "3")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector(f"#rule-{rule.pk}")
        row = frame.inner_text(f"#rule-{rule.pk}")
        shot(page, "rule-edit-saved")
        page.close()

    rule.refresh_from_db()
    assert hidden_for_product == [
        "field-every_nth",
        "field-first_order",
        "field-points",
        "field-tiers",
    ]
    assert refused == "A multiplier must be more than 1 and at most 100."
    assert "x3" in row
    assert rule.multiplier == Decimal("3")
    [entry] = AuditEntry.objects.filter(shop=shop, action="program.rule_update")
    assert (entry.before, entry.after) == ({"multiplier": "2.000"}, {"multiplier": "3.000"})


def test_a_free_product_reward_shows_its_fields_and_needs_its_variant(browser, installed):  # noqa: F811
    shop = Shop.objects.get(domain=SHOP)
    onboarding_finish(shop=shop, actor="staff:1")
    with override_settings(DEBUG=True):
        page, frame = admin_frame(browser, installed)
        page.set_viewport_size({"width": 1280, "height": 900})
        frame.get_by_role("link", name="Program").first.click()
        frame.wait_for_selector("#program-earning")
        frame.get_by_role("link", name="Rewards", exact=True).first.click()
        frame.get_by_role("link", name="Add a reward").click()
        frame.wait_for_selector("#id_kind")
        visible = "els => els.filter(e => !e.hidden).map(e => e.id.replace('field-', ''))"
        frame.select_option("#id_kind", "percent_off")
        fields_percent = frame.eval_on_selector_all(".field", visible)
        frame.select_option("#id_kind", "free_product")
        fields_free_product = frame.eval_on_selector_all(".field", visible)

        frame.fill("#id_name", "A free sarong")
        frame.fill("#id_points_cost", "3000")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector("#field-product_variant_id .errorlist")
        refused = frame.inner_text("#field-product_variant_id .errorlist")
        shot(page, "reward-free-product-refused")
        frame.fill("#id_product_variant_id", "44012345678901")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector("text=A free sarong")
        page.close()

    reward = Reward.objects.get(shop=shop, name="A free sarong")
    common = ["name", "kind", "points_cost"]
    assert fields_percent[:4] == [*common, "value"]
    assert "product_variant_id" not in fields_percent and "cause" not in fields_percent
    assert fields_free_product[:5] == [*common, "value", "product_variant_id"]
    assert refused == "Choose the product variant to give away."
    assert (reward.kind, reward.product_variant_id) == ("free_product", "44012345678901")


def test_referrals_turned_on_from_the_program_area(browser, installed):  # noqa: F811
    from loyalty.referrals.models import ReferralProgram

    shop = Shop.objects.get(domain=SHOP)
    onboarding_finish(shop=shop, actor="staff:1")
    with override_settings(DEBUG=True):
        page, frame = admin_frame(browser, installed)
        page.set_viewport_size({"width": 1280, "height": 900})
        frame.get_by_role("link", name="Program").first.click()
        frame.wait_for_selector("#program-earning")
        frame.get_by_role("link", name="Referrals").first.click()
        frame.wait_for_selector("#id_enabled")

        frame.check("#id_enabled")
        frame.select_option("#id_friend_discount_kind", "percent")
        frame.fill("#id_friend_discount_value", "150")
        frame.fill("#id_referrer_points", "250")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector("#field-friend_discount_value .errorlist")
        refused = frame.inner_text("#field-friend_discount_value .errorlist")
        still_off = ReferralProgram.objects.filter(shop=shop, enabled=True).exists()
        shot(page, "referrals-refused")

        frame.fill("#id_friend_discount_value", "10")
        frame.get_by_role("button", name="Save").click()
        frame.wait_for_selector("#referral-claims")
        frame.wait_for_function(
            "() => !document.querySelector('#field-friend_discount_value .errorlist')"
        )
        shot(page, "referrals-saved")
        page.close()

    assert refused == "A percentage is at most 100."
    assert not still_off
    program = ReferralProgram.objects.get(shop=shop)
    assert (program.enabled, program.friend_discount_kind, program.referrer_points) == (
        True,
        "percent",
        250,
    )
    assert program.friend_discount_value == Decimal("10")
    [entry] = AuditEntry.objects.filter(shop=shop, action="program.referrals_update")
    assert entry.after["enabled"] is True
