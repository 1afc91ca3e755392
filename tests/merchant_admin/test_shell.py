"""The admin's frame: navigation, App Bridge, languages, and the home page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from loyalty.ledger.services import ledger_credit
from loyalty.merchant_admin.shell import SHOPIFY_APP_BRIDGE, app_bridge_url
from tests.factories import MemberFactory, ShopFactory
from tests.merchant_admin.helpers import admin_get

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain="batik-admin.myshopify.com",
        name="Batik Admin",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_home_shows_members_and_points_outstanding_of_this_shop_only(client, shop):
    first = MemberFactory(shop=shop)
    MemberFactory(shop=shop)
    ledger_credit(member=first, points=120, idempotency_key="k1", source_type="action")
    ledger_credit(
        member=first,
        points=30,
        idempotency_key="k2",
        source_type="order",
        available_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
    other = MemberFactory()  # another shop's member, with points
    ledger_credit(member=other, points=999, idempotency_key="k3", source_type="action")

    response = admin_get(client, "/app/", shop)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="stat-value" data-stat="members">2</div>' in html
    assert '<div class="stat-value" data-stat="points-outstanding">150</div>' in html
    assert "120 spendable, 30 pending" in html


def test_page_is_in_the_language_shopify_passed_and_links_keep_it(client, shop):
    response = admin_get(client, "/app/?locale=ms-MY", shop)

    assert response.status_code == 200
    assert response["Content-Language"] == "ms"
    html = response.content.decode()
    assert '<html lang="ms" dir="ltr">' in html
    assert "Mata belum ditebus" in html  # "Points outstanding"
    assert '<a href="/app/members/?locale=ms">Ahli</a>' in html


def test_arabic_page_is_right_to_left(client, shop):
    response = admin_get(client, "/app/?locale=ar", shop)

    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "النقاط القائمة" in html


def test_thai_page(client, shop):
    response = admin_get(client, "/app/members/?locale=th", shop)

    html = response.content.decode()
    assert '<html lang="th" dir="ltr">' in html
    assert "<h1>สมาชิก</h1>" in html


def test_fetches_after_a_redirect_keep_the_language_through_accept_language(client, shop):
    response = admin_get(client, "/app/", shop, HTTP_ACCEPT_LANGUAGE="th")

    assert '<html lang="th" dir="ltr">' in response.content.decode()


def test_an_unknown_locale_falls_back_to_english(client, shop):
    response = admin_get(client, "/app/?locale=xx", shop)

    html = response.content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert '<a href="/app/members/">Members</a>' in html


def test_navigation_marks_the_current_area(client, shop):
    member = MemberFactory(shop=shop)

    response = admin_get(client, f"/app/members/{member.pk}/", shop)

    assert '<a href="/app/members/" aria-current="page">Members</a>' in response.content.decode()


def test_navigation_skips_areas_without_a_landing_page():
    from django.urls import NoReverseMatch, reverse

    from loyalty.merchant_admin.shell import NAVIGATION, navigation

    def defined(name):
        try:
            reverse(name)
        except NoReverseMatch:
            return False
        return True

    items = navigation(current_url_name="admin-home", language="en")

    assert [item.url_name for item in items] == [n for n, _ in NAVIGATION if defined(n)]
    assert items[0].url_name == "admin-home" and items[0].current


@pytest.mark.urls("tests.merchant_admin.test_shell_urls")
def test_navigation_without_the_other_areas_lists_only_what_exists():
    from loyalty.merchant_admin.shell import navigation

    items = navigation(current_url_name="admin-members", language="th")

    assert [(item.url_name, item.href, item.current) for item in items] == [
        ("admin-home", "/app/?locale=th", False),
        ("admin-members", "/app/members/?locale=th", True),
    ]


@override_settings(APP_BRIDGE_URL="", SHOPIFY_API_ORIGIN="")
def test_app_bridge_comes_from_shopifys_cdn_in_production():
    assert (
        app_bridge_url()
        == SHOPIFY_APP_BRIDGE
        == ("https://cdn.shopify.com/shopifycloud/app-bridge.js")
    )


@override_settings(APP_BRIDGE_URL="", SHOPIFY_API_ORIGIN="http://127.0.0.1:8765")
def test_app_bridge_comes_from_the_local_standin_when_shopify_is_the_standin():
    assert app_bridge_url() == "http://127.0.0.1:8765/admin/apps/shopifycloud/app-bridge.js"


@override_settings(APP_BRIDGE_URL="https://example.test/ab.js", SHOPIFY_API_ORIGIN="")
def test_app_bridge_url_setting_wins():
    assert app_bridge_url() == "https://example.test/ab.js"


def test_home_page_loads_app_bridge_first_and_the_admin_assets(client, shop):
    html = admin_get(client, "/app/", shop).content.decode()

    head = html.split("</head>")[0]
    assert head.index(f'<script src="{app_bridge_url()}"') < head.index("<link rel=")
    assert '<meta name="shopify-api-key" content="test-api-key">' in head
    assert '<link rel="stylesheet" href="/static/merchant_admin/admin.css">' in head
    assert '<script src="/static/merchant_admin/admin.js" defer></script>' in head


def test_home_checklist_links_to_areas_that_exist(client, shop):
    html = admin_get(client, "/app/", shop).content.decode()

    assert '<li><a href="/app/members/">Welcome your first members</a>' in html


def test_home_is_a_json_answer_when_asked_for_json(client, shop):
    MemberFactory(shop=shop)

    response = admin_get(client, "/app/", shop, HTTP_ACCEPT="application/json")

    assert response.json() == {"shop": shop.domain, "members": 1}


def test_home_without_a_session_token_is_refused(client, shop):
    response = client.get("/app/", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 401


def test_home_reads_todays_rollup_when_it_is_fresh(client, shop):
    from django.utils import timezone

    from loyalty.analytics.models import ShopDay

    MemberFactory(shop=shop)  # counted live it would be 1 member, 0 points
    computed = timezone.now() - timedelta(minutes=40)
    ShopDay.objects.create(
        shop=shop,
        day=computed.date(),
        members_total=1_000_000,
        points_balance_end=52_000_000,
        points_pending_end=3_000_000,
        computed_at=computed,
    )

    html = admin_get(client, "/app/", shop).content.decode()

    assert '<div class="stat-value" data-stat="members">1000000</div>' in html
    assert '<div class="stat-value" data-stat="points-outstanding">55000000</div>' in html
    assert f"As of {computed:%Y-%m-%d %H:%M} UTC; updated every hour." in html


def test_home_counts_live_when_the_rollup_is_stale(client, shop):
    from django.utils import timezone

    from loyalty.analytics.models import ShopDay

    MemberFactory(shop=shop)
    ShopDay.objects.create(
        shop=shop,
        day=timezone.now().date() - timedelta(days=1),
        members_total=500,
        points_balance_end=9000,
        computed_at=timezone.now() - timedelta(hours=3),
    )

    html = admin_get(client, "/app/", shop).content.decode()

    assert '<div class="stat-value" data-stat="members">1</div>' in html
    assert "data-as-of" not in html
