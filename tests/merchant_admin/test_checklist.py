"""The dashboard's getting-started checklist: each step done from what the shop has, until the
widget answers the shop's storefront (a signed app proxy request from the theme's app embed, or
a signed shopper on the script tag); then a line saying the widget is live."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from loyalty.imports.models import ImportJob, ImportStatus
from loyalty.shops.models import OnboardingStep, Shop
from loyalty.shops.services import shop_storefront_seen, shop_storefront_seen_forget
from storefront_widget.models import WidgetSettings
from storefront_widget.tokens import customer_token_sign
from tests.factories import MemberFactory, ShopFactory
from tests.merchant_admin.helpers import admin_get
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain=SHOP, access_token="shpat_x", installed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )


def checklist(client, shop) -> str:
    html = admin_get(client, "/app/", shop).content.decode()
    start = html.find('<section class="card" aria-labelledby="getting-started"')
    return "" if start < 0 else html[start : html.index("</section>", start)]


def done_steps(section: str) -> list[str]:
    return [
        line.split('">', 2)[2].split("</a>")[0]
        for line in section.splitlines()
        if line.strip().startswith('<li class="done">')
    ]


def test_a_new_shop_sees_every_step_to_do_with_the_theme_editor_link(client, shop):
    section = checklist(client, shop)

    assert section
    assert done_steps(section) == []
    assert (
        f'href="https://{SHOP}/admin/themes/current/editor?context=apps'
        '&amp;activateAppId=test-api-key/setia-launcher" target="_top"'
    ) in section
    assert "Bring members and balances from your previous app</a> " in section
    assert "(optional)" in section


def test_steps_are_done_from_what_the_shop_has(client, shop):
    shop.program.onboarding = OnboardingStep.FINISHED
    shop.program.save()
    ImportJob.objects.create(shop=shop, filename="smile.csv", status=ImportStatus.DONE)
    MemberFactory(shop=shop)
    other = ShopFactory()  # another shop's members and imports count for it alone
    ImportJob.objects.create(shop=other, filename="x.csv", status=ImportStatus.DONE)

    assert done_steps(checklist(client, shop)) == [
        "Set how members earn points and the rewards they can get",
        "Bring members and balances from your previous app",
        "Welcome your first members",
    ]


def test_a_skipped_onboarding_counts_and_an_unfinished_import_does_not(client, shop):
    shop.program.onboarding = OnboardingStep.SKIPPED
    shop.program.save()
    ImportJob.objects.create(shop=shop, filename="smile.csv", status=ImportStatus.FAILED)

    assert done_steps(checklist(client, shop)) == [
        "Set how members earn points and the rewards they can get"
    ]


def test_the_checklist_ends_once_the_app_embed_asks_the_storefront_state(client, shop):
    assert checklist(client, shop)

    answer = client.get("/shopify/proxy/api/state?" + urlencode(proxy_query()))
    assert answer.status_code == 200

    shop.refresh_from_db()
    assert shop.storefront_seen_at is not None
    assert checklist(client, shop) == ""
    html = admin_get(client, "/app/", shop).content.decode()
    assert "Your widget is live: it last answered your storefront at" in html


def test_an_unsigned_or_forged_proxy_request_records_nothing(client, shop):
    query = proxy_query()
    query["signature"] = "0" * 64
    assert client.get("/shopify/proxy/api/state?" + urlencode(query)).status_code in (401, 403)
    assert client.get(f"/shopify/proxy/api/state?shop={SHOP}").status_code in (401, 403)

    shop.refresh_from_db()
    assert shop.storefront_seen_at is None
    assert checklist(client, shop)


def test_the_script_tag_counts_for_a_signed_shopper_and_not_for_a_guest(client, shop):
    secret = WidgetSettings.objects.create(shop=shop).widget_secret
    assert client.get(f"/storefront/api/widget/state?shop={SHOP}").status_code == 200
    shop.refresh_from_db()
    assert shop.storefront_seen_at is None  # anyone can ask as a guest

    token = customer_token_sign(secret=secret, customer_id="42")
    answer = client.get(f"/storefront/api/widget/state?shop={SHOP}&token={token}")

    assert answer.status_code == 200
    shop.refresh_from_db()
    assert shop.storefront_seen_at is not None


def test_seen_is_written_at_most_once_an_hour_per_process(db, shop, django_assert_num_queries):
    now = timezone.now()
    shop_storefront_seen(shop=shop, now=now)
    with django_assert_num_queries(0):
        shop_storefront_seen(shop=shop, now=now + timedelta(minutes=5))
    # Another process (its memo empty) within the hour: one UPDATE that changes nothing.
    shop_storefront_seen_forget()
    shop_storefront_seen(shop=shop, now=now + timedelta(minutes=30))
    assert Shop.objects.get(pk=shop.pk).storefront_seen_at == now
    # After the hour, the time moves on.
    shop_storefront_seen_forget()
    shop_storefront_seen(shop=shop, now=now + timedelta(minutes=61))
    assert Shop.objects.get(pk=shop.pk).storefront_seen_at == now + timedelta(minutes=61)
