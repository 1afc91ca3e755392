"""Onboarding: from a fresh install to a live program in three steps."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings

from loyalty.audit.models import AuditEntry
from loyalty.merchant_admin.program.selectors import ONBOARDING_FINISHED, ONBOARDING_SKIPPED
from loyalty.rewards.models import Reward
from loyalty.rewards.services import reward_ensure_default
from loyalty.shops.models import Program
from tests.factories import ShopFactory
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

DOMAIN = "batik-aisyah.myshopify.com"


@pytest.fixture
def shop():
    """A shop as a fresh install leaves it: the default program and reward, nothing else."""
    shop = ShopFactory(
        domain=DOMAIN,
        access_token="shpat_x",
        currency="MYR",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    reward_ensure_default(shop=shop)
    return shop


def _rewards(shop):
    return sorted(
        (r.name, r.kind, r.points_cost, r.value) for r in Reward.objects.filter(shop=shop)
    )


def test_a_fresh_shops_program_page_sends_the_merchant_to_onboarding(client, shop):
    response = admin_get(client, "/app/program/", shop)

    assert response.status_code == 302
    assert response["Location"] == "/app/program/onboarding/"


def test_onboarding_walk_through_from_fresh_install_to_a_live_program(client, shop):
    # Step 1: the earn rate, with the example of what an order earns.
    step1 = admin_get(client, "/app/program/onboarding/", shop)
    assert step1.status_code == 200
    assert "An order of 100.00 MYR earns <output data-earn-points>100</output> points." in (
        step1.content.decode()
    )
    rate = admin_post(
        client,
        "/app/program/onboarding/",
        shop,
        {"points_name": "stars", "points_per_currency_unit": "2"},
        user_id="5",
    )
    assert rate.status_code == 303
    assert rate["Location"] == "/app/program/onboarding/rewards/"

    # Step 2: a starter reward set, shown with the points name and shop currency.
    step2 = admin_get(client, "/app/program/onboarding/rewards/", shop)
    assert step2.status_code == 200
    page2 = step2.content.decode()
    assert "10.00 MYR off your order: 1000 stars" in page2
    # The default 5 off stands in for the set's 5.00 off: shown as kept, not added again.
    assert '5 off your order: 500 stars <span class="badge">Already offered: kept as it is' in page2
    chosen = admin_post(
        client, "/app/program/onboarding/rewards/", shop, {"preset": "ladder_shipping"}, user_id="5"
    )
    assert chosen.status_code == 303
    assert chosen["Location"] == "/app/program/onboarding/widget/"

    # Step 3: the widget's look and the theme editor link that switches the app embed on.
    step3 = admin_get(client, "/app/program/onboarding/widget/", shop)
    assert step3.status_code == 200
    page = step3.content.decode()
    assert 'href="/app/widget/"' in page
    # The program as members will meet it, before it goes live.
    assert "An order of 100.00 MYR earns 200 stars." in page
    assert "<li>Free shipping: 800 stars</li>" in page
    assert (
        f'href="https://{DOMAIN}/admin/themes/current/editor?context=apps&amp;activateAppId='
        f'{settings.SHOPIFY_API_KEY}/setia-launcher"'
    ) in page
    finished = admin_post(client, "/app/program/onboarding/widget/", shop, user_id="5")
    assert finished.status_code == 303
    assert finished["Location"] == "/app/program/"

    # The program is live: the rate, the rewards (the default 5 off kept, not doubled), and the
    # program page is home now.
    program = Program.objects.get(shop=shop)
    assert (program.points_name, program.points_per_currency_unit) == ("stars", Decimal("2"))
    assert _rewards(shop) == [
        ("10.00 MYR off your order", "amount_off", 1000, Decimal("10.00")),
        ("20.00 MYR off your order", "amount_off", 2000, Decimal("20.00")),
        ("5 off your order", "amount_off", 500, Decimal("5.00")),
        ("Free shipping", "free_shipping", 800, Decimal("0.00")),
    ]
    assert [e.action for e in AuditEntry.objects.filter(shop=shop).order_by("pk")] == [
        "program.onboarding_rate",
        "program.reward_create",
        "program.reward_create",
        "program.reward_create",
        "program.onboarding_rewards",
        ONBOARDING_FINISHED,
    ]
    assert set(AuditEntry.objects.filter(shop=shop).values_list("actor", flat=True)) == {"staff:5"}
    home = admin_get(client, "/app/program/", shop)
    assert home.status_code == 200
    assert "An order of 100.00 MYR earns 200 stars." in home.content.decode()


def test_a_merchant_who_left_during_onboarding_comes_back_to_the_next_step(client, shop):
    first = admin_get(client, "/app/program/", shop)
    admin_post(
        client,
        "/app/program/onboarding/",
        shop,
        {"points_name": "points", "points_per_currency_unit": "1"},
    )
    after_rate = admin_get(client, "/app/program/", shop)
    admin_post(client, "/app/program/onboarding/rewards/", shop, {"preset": "shipping"})
    after_rewards = admin_get(client, "/app/program/", shop)

    assert [r["Location"] for r in (first, after_rate, after_rewards)] == [
        "/app/program/onboarding/",
        "/app/program/onboarding/rewards/",
        "/app/program/onboarding/widget/",
    ]


def test_a_merchant_who_finished_and_goes_back_to_a_step_does_not_start_again(client, shop):
    admin_post(client, "/app/program/onboarding/widget/", shop)
    assert Program.objects.get(shop=shop).onboarding == "finished"

    admin_post(
        client,
        "/app/program/onboarding/",
        shop,
        {"points_name": "stars", "points_per_currency_unit": "3"},
    )
    admin_post(client, "/app/program/onboarding/rewards/", shop, {"preset": "shipping"})

    program = Program.objects.get(shop=shop)
    assert (program.onboarding, program.points_name) == ("finished", "stars")
    assert admin_get(client, "/app/program/", shop).status_code == 200


def test_choosing_the_starter_rewards_twice_adds_them_once(client, shop):
    admin_post(client, "/app/program/onboarding/rewards/", shop, {"preset": "ladder"})

    again = admin_post(client, "/app/program/onboarding/rewards/", shop, {"preset": "ladder"})

    assert again.status_code == 303
    assert Reward.objects.filter(shop=shop).count() == 3  # 5 (default), 10, 20 off


def test_an_invalid_earn_rate_answers_400_with_the_message(client, shop):
    response = admin_post(
        client,
        "/app/program/onboarding/",
        shop,
        {"points_name": "points", "points_per_currency_unit": "0"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["points_per_currency_unit"] == [
        "Points per unit must be more than 0 and at most 1000."
    ]
    assert "Points per unit must be more than 0 and at most 1000." in response.content.decode()
    assert Program.objects.get(shop=shop).points_per_currency_unit == Decimal("1")


def test_an_unknown_preset_answers_400_and_adds_nothing(client, shop):
    response = admin_post(client, "/app/program/onboarding/rewards/", shop, {"preset": "all"})

    assert response.status_code == 400
    assert response.context["form"].errors["preset"] == [
        "Select a valid choice. all is not one of the available choices."
    ]
    assert Reward.objects.filter(shop=shop).count() == 1


def test_skipping_onboarding_makes_the_program_page_home(client, shop):
    response = admin_post(client, "/app/program/onboarding/skip/", shop, user_id="9")

    assert response.status_code == 303
    assert response["Location"] == "/app/program/"
    assert admin_get(client, "/app/program/", shop).status_code == 200
    [entry] = AuditEntry.objects.filter(shop=shop)
    assert (entry.action, entry.actor) == (ONBOARDING_SKIPPED, "staff:9")


def test_finishing_twice_records_once(client, shop):
    admin_post(client, "/app/program/onboarding/widget/", shop)

    again = admin_post(client, "/app/program/onboarding/widget/", shop)

    assert again.status_code == 303
    assert AuditEntry.objects.filter(shop=shop, action=ONBOARDING_FINISHED).count() == 1


def test_onboarding_of_one_shop_does_not_finish_another(client, shop):
    other = ShopFactory(
        domain="other-store.myshopify.com",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    admin_post(client, "/app/program/onboarding/skip/", shop)

    response = admin_get(client, "/app/program/", other)

    assert response.status_code == 302
    assert response["Location"] == "/app/program/onboarding/"
