"""The stand-in's App Bridge, as the admin's browser tests use it: the script at the stand-in's
origin, the admin page that frames the app (with Shopify's `locale`) and answers token requests,
and the token it hands over, which the app accepts."""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import settings

from loyalty.merchant_admin.shell import STANDIN_APP_BRIDGE_PATH
from loyalty.platforms.shopify.standin import StandIn
from loyalty.platforms.shopify.standin.app_bridge import ANSWER_TYPE, REQUEST_TYPE, SCRIPT_PATH

SHOP = "bridge-shop.myshopify.com"
APP_URL = "http://127.0.0.1:8000"


@pytest.fixture
def standin():
    with StandIn(settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET) as running:
        running.add_shop(SHOP, name="Bridge Shop")
        running.app_url = APP_URL
        yield running


def test_the_admin_asks_for_the_script_where_the_standin_serves_it():
    assert STANDIN_APP_BRIDGE_PATH == SCRIPT_PATH


def test_the_script_is_served_without_a_shop(standin):
    response = httpx.get(f"{standin.origin}{SCRIPT_PATH}", timeout=5)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "window.shopify = {" in response.text
    assert f'"{REQUEST_TYPE}"' in response.text and f'"{ANSWER_TYPE}"' in response.text


def test_the_admin_page_frames_the_app_with_a_session_token_and_the_locale(standin):
    response = httpx.get(
        f"{standin.origin}/admin/apps/{settings.SHOPIFY_API_KEY}?shop={SHOP}&locale=th",
        timeout=5,
    )

    src = unescape(re.search(r'<iframe src="([^"]+)"', response.text).group(1))
    query = parse_qs(urlsplit(src).query)
    assert src.startswith(f"{APP_URL}/app/?")
    assert query["shop"] == [SHOP] and query["locale"] == ["th"] and query["embedded"] == ["1"]
    assert query["id_token"][0].count(".") == 2
    # The page answers only the app's origin, and asks its own token endpoint.
    assert 'var appOrigin = "http://127.0.0.1:8000";' in response.text
    assert (
        f'var tokenUrl = "/admin/apps/{settings.SHOPIFY_API_KEY}/session-token?shop={SHOP}";'
        in response.text
    )


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_the_token_endpoint_mints_a_session_token_the_app_accepts(standin, client, db):
    from datetime import UTC, datetime

    from tests.factories import ShopFactory

    ShopFactory(
        domain=SHOP,
        name="Bridge Shop",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    token = httpx.get(
        f"{standin.origin}/admin/apps/{settings.SHOPIFY_API_KEY}/session-token?shop={SHOP}",
        timeout=5,
    ).json()["token"]

    response = client.get("/app/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert "Bridge Shop" in response.content.decode()


def test_the_token_endpoint_refuses_an_unknown_shop(standin):
    response = httpx.get(
        f"{standin.origin}/admin/apps/{settings.SHOPIFY_API_KEY}/session-token"
        "?shop=unknown.myshopify.com",
        timeout=5,
    )

    assert response.status_code == 404
