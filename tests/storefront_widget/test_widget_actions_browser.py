"""The panel's action buttons in a real headless Chromium through the stand-in's app proxy (the
fixtures of test_widget_browser): a signed-in shopper claims a social follow and the balance
rises; a birthday is entered from the keyboard and the form goes away."""

import re

import pytest

from loyalty.earning.models import ActionRule
from loyalty.members.models import Member
from tests.platforms.shopify.test_admin_browser import browser  # noqa: F401 (fixture)
from tests.storefront_widget.test_widget_browser import (  # noqa: F401 (fixtures)
    DIALOG,
    LAUNCHER,
    member,
    shot,
    storefront,
    visit,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]


@pytest.fixture
def actions(shopify_shop):
    return (
        ActionRule.objects.create(
            shop=shopify_shop, action="social_follow", key="instagram", name="Follow us", points=50
        ),
        ActionRule.objects.create(
            shop=shopify_shop, action="birthday", name="Birthday treat", points=100, cap="per_year"
        ),
    )


def test_a_shopper_claims_a_social_follow_and_the_balance_rises(member, actions, visit):  # noqa: F811
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    follow = page.get_by_role("button", name="I followed you on Instagram")
    follow.wait_for()
    box = follow.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    shot(page, "actions-before")

    follow.click()

    page.locator("setia-launcher [data-done]").filter(
        has_text="+50 points added. New balance: 1,300 points"
    ).wait_for()
    page.locator("setia-launcher [data-balance]").filter(has_text=re.compile("^1,300$")).wait_for()
    page.locator(LAUNCHER).filter(has_text="1,300 points").wait_for()
    assert page.get_by_role("button", name="I followed you on Instagram").count() == 0
    assert Member.objects.get(pk=member.pk).points_balance == 1300
    shot(page, "actions-follow-claimed")
    assert page.errors == []


def test_a_birthday_is_entered_from_the_keyboard_once(member, actions, visit):  # noqa: F811
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    month = page.locator(DIALOG).get_by_label("Month")
    month.wait_for()
    assert month.bounding_box()["height"] >= 44

    month.focus()
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    page.keyboard.type("17")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.locator("setia-launcher [data-done]").filter(has_text="Birthday saved").wait_for()
    member.refresh_from_db()
    assert (member.birthday_month, member.birthday_day, member.points_balance) == (5, 17, 1250)
    page.locator(DIALOG).get_by_label("Month").wait_for(state="detached")
    shot(page, "actions-birthday-saved")
    assert page.errors == []


def test_the_arabic_action_buttons_read_right_to_left(member, actions, visit):  # noqa: F811
    page = visit(locale="ar")
    page.locator(LAUNCHER).click()
    follow = page.get_by_role("button", name="تابعتكم على Instagram")
    follow.wait_for()
    month = page.locator(DIALOG).get_by_label("الشهر")
    day = page.locator(DIALOG).get_by_label("اليوم")

    assert page.locator(DIALOG).get_attribute("dir") == "rtl"
    assert month.bounding_box()["x"] > day.bounding_box()["x"]  # month first, on the right
    follow.scroll_into_view_if_needed()
    shot(page, "actions-ar")
    assert page.errors == []


def test_a_shopper_subscribes_to_the_newsletter_and_the_balance_rises(
    member,  # noqa: F811
    shopify_standin,
    shopify_shop,
    visit,  # noqa: F811
):
    from tests.platforms.shopify.helpers import SHOP

    ActionRule.objects.create(
        shop=shopify_shop, action="newsletter", name="Join our newsletter", points=40
    )
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    subscribe = page.get_by_role("button", name="Subscribe to our newsletter")
    subscribe.wait_for()
    assert subscribe.bounding_box()["height"] >= 44

    subscribe.click()

    page.locator("setia-launcher [data-done]").filter(
        has_text="+40 points added. New balance: 1,290 points"
    ).wait_for()
    page.locator(LAUNCHER).filter(has_text="1,290 points").wait_for()
    assert page.get_by_role("button", name="Subscribe to our newsletter").count() == 0
    customer = shopify_standin.shop(SHOP).customers[int(member.platform_customer_id)]
    assert customer.email_marketing_state == "SUBSCRIBED"
    assert Member.objects.get(pk=member.pk).points_balance == 1290
    shot(page, "actions-newsletter-subscribed")
    assert page.errors == []


def test_a_newsletter_the_store_cannot_subscribe_shows_an_error_line(
    member,  # noqa: F811
    shopify_standin,
    shopify_shop,
    visit,  # noqa: F811
):
    from tests.platforms.shopify.helpers import SHOP

    ActionRule.objects.create(
        shop=shopify_shop, action="newsletter", name="Join our newsletter", points=40
    )
    shopify_standin.shop(SHOP).customers[int(member.platform_customer_id)].email = None
    page = visit()
    page.locator(LAUNCHER).filter(has_text="1,250 points").click()
    subscribe = page.get_by_role("button", name="Subscribe to our newsletter")
    subscribe.wait_for()

    subscribe.click()

    page.locator(DIALOG).get_by_role("alert").wait_for()
    assert page.get_by_role("button", name="Subscribe to our newsletter").is_enabled()
    assert Member.objects.get(pk=member.pk).points_balance == 1250
    shot(page, "actions-newsletter-failed")
