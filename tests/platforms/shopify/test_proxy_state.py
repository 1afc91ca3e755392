from types import SimpleNamespace
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone

from loyalty.ledger.services import ledger_credit
from loyalty.shops.models import Shop
from tests.factories import MemberFactory, ShopFactory
from tests.platforms.shopify.helpers import proxy_query

pytestmark = pytest.mark.django_db

VECTOR_QUERY = (
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
    "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
)
VECTOR_SIGNATURE = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"


def get_state(client, **kwargs):
    return client.get("/shopify/proxy/api/state?" + urlencode(proxy_query(**kwargs)))


def test_published_app_proxy_vector_is_accepted():
    ShopFactory(domain="shop-name.myshopify.com")
    frozen_clock = SimpleNamespace(time=lambda: 1317327555 + 30)

    with (
        override_settings(SHOPIFY_API_SECRET="hush"),
        mock.patch("loyalty.platforms.shopify.embedded.time", frozen_clock),
    ):
        from django.test import Client

        response = Client().get(
            f"/shopify/proxy/api/state?{VECTOR_QUERY}&signature={VECTOR_SIGNATURE}"
        )
        tampered = Client().get(
            f"/shopify/proxy/api/state?{VECTOR_QUERY.replace('customer_id=1', 'customer_id=2')}"
            f"&signature={VECTOR_SIGNATURE}"
        )

    assert response.status_code == 200
    assert response.json()["customer"]["id"] == "1"
    assert tampered.status_code == 401


def test_guest_gets_the_program_and_no_customer(client, shop):
    response = get_state(client)

    assert response.status_code == 200
    assert response.json() == {
        "program": {"name": "Rewards", "points_name": "points"},
        "widget": {  # the merchant's look (admin /app/widget/): the defaults
            "primary_color": "#1f4f46",
            "accent_text_color": "#ffffff",
            "text_color": "#1c1c1c",
            "background_color": "#ffffff",
            "position": "bottom-right",
            "label": "",
            "strings": {},
        },
        "customer": None,
        "rewards": [],
        "ways_to_earn": [{"kind": "order", "name": "1 points per USD spent", "points": 1}],
        "tiers": [],
    }
    assert response["Cache-Control"] == "private, no-store"


def test_ways_to_earn_come_from_the_live_rules(client, shop):
    from datetime import timedelta

    from loyalty.earning.models import ActionRule, EarnRule

    EarnRule.objects.create(
        shop=shop,
        name="Double batik",
        kind="product",
        effect="multiply",
        target="collection",
        values=["c1"],
        multiplier=2,
    )
    EarnRule.objects.create(
        shop=shop, name="Every 5th order", kind="milestone", points=200, every_nth=5
    )
    EarnRule.objects.create(
        shop=shop,
        name="Over",
        kind="campaign",
        points=50,
        ends_at=timezone.now() - timedelta(days=1),
    )
    EarnRule.objects.create(
        shop=shop,
        name="No gift cards",
        kind="product",
        effect="exclude",
        target="tag",
        values=["gift"],
    )
    ActionRule.objects.create(
        shop=shop, action="birthday", name="Birthday treat", points=100, cap="per_year"
    )

    ways = get_state(client).json()["ways_to_earn"]

    assert ways == [
        {"kind": "order", "name": "1 points per USD spent", "points": 1},
        {"kind": "milestone", "name": "Every 5th order", "points": 200},
        {"kind": "product", "name": "Double batik", "points": 0, "multiplier": 2.0},
        {"kind": "action", "action": "birthday", "name": "Birthday treat", "points": 100},
    ]


def test_logged_in_member_gets_their_points(client, shop):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    ledger_credit(member=member, points=300, idempotency_key="a", source_type="t")
    ledger_credit(
        member=member,
        points=40,
        idempotency_key="b",
        source_type="t",
        available_at=timezone.now() + timezone.timedelta(days=14),
    )

    response = get_state(client, customer_id="7001")

    assert response.json()["customer"] == {
        "id": "7001",
        "points": {"balance": 300, "pending": 40, "lifetime_earned": 340},
        "tier": None,
        "next_tier": None,
        "recent_redemptions": [],
    }


def test_logged_in_customer_not_yet_a_member_sees_zero(client, shop):
    response = get_state(client, customer_id="8888")

    assert response.json()["customer"]["points"] == {
        "balance": 0,
        "pending": 0,
        "lifetime_earned": 0,
    }


def test_another_shops_member_is_never_shown(client, shop):
    other = ShopFactory(domain="other.myshopify.com")
    member = MemberFactory(shop=other, platform_customer_id="7001")
    ledger_credit(member=member, points=999, idempotency_key="a", source_type="t")

    response = get_state(client, customer_id="7001")

    assert response.json()["customer"]["points"]["balance"] == 0


@pytest.mark.parametrize(
    "forgery",
    ["no_signature", "wrong_signature", "stale", "future", "tampered_customer", "tampered_shop"],
)
def test_forged_or_stale_requests_are_refused(client, shop, forgery):
    ShopFactory(domain="victim.myshopify.com")
    query = proxy_query(customer_id="7001")
    if forgery == "no_signature":
        query.pop("signature")
    elif forgery == "wrong_signature":
        query["signature"] = "0" * 64
    elif forgery == "stale":
        query = proxy_query(customer_id="7001", timestamp=int(timezone.now().timestamp()) - 3600)
    elif forgery == "future":
        query = proxy_query(customer_id="7001", timestamp=int(timezone.now().timestamp()) + 3600)
    elif forgery == "tampered_customer":
        query["logged_in_customer_id"] = "7002"
    elif forgery == "tampered_shop":
        query["shop"] = "victim.myshopify.com"

    response = client.get("/shopify/proxy/api/state?" + urlencode(query))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


def test_non_ascii_signature_is_refused_without_a_traceback(client, shop):
    query = proxy_query(customer_id="7001")
    query["signature"] = "é"

    response = client.get("/shopify/proxy/api/state?" + urlencode(query))

    assert response.status_code == 401


def test_signed_request_for_a_shop_without_setia_is_404(client, db):
    response = get_state(client, shop="stranger.myshopify.com")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_shop"


def test_uninstalled_shop_is_404(client, shop):
    Shop.objects.filter(pk=shop.pk).update(uninstalled_at=timezone.now())

    assert get_state(client).status_code == 404


def test_state_only_answers_get(client, shop):
    response = client.post("/shopify/proxy/api/state?" + urlencode(proxy_query()))

    assert response.status_code == 405


# --- tiers, rewards and redemptions in the answer --------------------------------------------


def test_member_sees_tier_progress_rewards_and_their_codes(client, shop):
    from loyalty.rewards.models import Redemption, RedemptionStatus
    from tests.factories import RewardFactory, TierFactory

    bronze = TierFactory(shop=shop, name="Bronze", threshold=0, perks=["Birthday gift"])
    TierFactory(shop=shop, name="Silver", threshold=1000, multiplier="1.5", perks=["Free shipping"])
    TierFactory(shop=shop, name="Staff", threshold=0, hidden=True)
    five_off = RewardFactory(shop=shop, name="5 off", points_cost=500)
    RewardFactory(shop=shop, name="20 off", points_cost=2000, value="20.00")
    RewardFactory(shop=shop, name="Silver gift", points_cost=100, tiers=["Silver"])
    member = MemberFactory(shop=shop, platform_customer_id="7001", tier=bronze)
    ledger_credit(member=member, points=700, idempotency_key="a", source_type="order")
    Redemption.objects.create(
        shop=shop,
        member=member,
        reward=five_off,
        idempotency_key="r1",
        status=RedemptionStatus.ISSUED,
        points=500,
        code="SETIA-ABCD-EFGH",
    )

    answer = get_state(client, customer_id="7001").json()

    customer = answer["customer"]
    assert customer["tier"] == {"name": "Bronze", "multiplier": "1", "perks": ["Birthday gift"]}
    assert customer["next_tier"] == {
        "name": "Silver",
        "threshold": 1000,
        "remaining": 300,
        "basis": "points_earned",
    }
    assert [(r["code"], r["apply_url"]) for r in customer["recent_redemptions"]] == [
        ("SETIA-ABCD-EFGH", f"https://{shop.domain}/discount/SETIA-ABCD-EFGH")
    ]
    assert [
        (r["name"], r["available"], r.get("locked_reason"), r.get("points_needed"))
        for r in answer["rewards"]
    ] == [
        ("5 off", True, None, None),
        ("Silver gift", False, "tier", 0),
        ("20 off", False, "points", 1300),
    ]
    assert answer["tiers"] == [
        {"name": "Bronze", "threshold": 0, "multiplier": "1", "perks": ["Birthday gift"]},
        {"name": "Silver", "threshold": 1000, "multiplier": "1.5", "perks": ["Free shipping"]},
    ]


def test_guest_sees_every_reward_locked_for_sign_in(client, shop):
    from tests.factories import RewardFactory

    RewardFactory(shop=shop, name="5 off", points_cost=500)

    answer = get_state(client).json()

    assert answer["customer"] is None
    assert [(r["name"], r["available"], r["locked_reason"]) for r in answer["rewards"]] == [
        ("5 off", False, "sign_in")
    ]


def test_catalogue_is_cached_per_process_but_balances_are_not(
    client, shop, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from loyalty.earning.models import EarnRule
    from storefront_widget.state import storefront_catalogue_forget

    member = MemberFactory(shop=shop, platform_customer_id="7001")
    cache.clear()
    with override_settings(STOREFRONT_CACHE_SECONDS=60):
        storefront_catalogue_forget()
        before = get_state(client, customer_id="7001").json()
        EarnRule.objects.create(shop=shop, name="Bonus", kind="campaign", points=50)
        with django_capture_on_commit_callbacks(execute=True):  # as when the credit commits
            ledger_credit(member=member, points=30, idempotency_key="a", source_type="order")
        cached = get_state(client, customer_id="7001").json()
        storefront_catalogue_forget(shop=shop)
        fresh = get_state(client, customer_id="7001").json()

    assert cached["ways_to_earn"] == before["ways_to_earn"]
    assert cached["customer"]["points"]["balance"] == 30
    assert [w["name"] for w in fresh["ways_to_earn"]][-1] == "Bonus"


@pytest.mark.parametrize("entries", [3, 60])
def test_a_page_view_costs_the_same_however_long_the_history(
    client, shop, entries, django_assert_num_queries
):
    from loyalty.tiers.services import tier_evaluate
    from tests.factories import RewardFactory, TierFactory

    TierFactory(shop=shop, name="Bronze", threshold=0)
    TierFactory(shop=shop, name="Silver", threshold=100_000)
    RewardFactory(shop=shop, name="5 off", points_cost=500)
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    for n in range(entries):
        ledger_credit(member=member, points=10, idempotency_key=f"e{n}", source_type="order")
    tier_evaluate(member=member)
    query = urlencode(proxy_query(customer_id="7001"))
    # The first page view of the hour records that the storefront asked (one UPDATE); not this.
    from loyalty.shops.services import shop_storefront_seen

    shop_storefront_seen(shop=shop)

    # The installed shop, the member, their redemptions, and (the cache is off in tests) the
    # catalogue: program, tiers, rules, actions, rewards, referral terms. Nothing reads the
    # ledger.
    with django_assert_num_queries(9):
        answer = client.get("/shopify/proxy/api/state?" + query).json()

    assert answer["customer"]["next_tier"]["remaining"] == 100_000 - 10 * entries
    assert answer["customer"]["tier"]["name"] == "Bronze"


def test_signed_in_shopper_without_points_yet_is_told_points_not_to_sign_in(client, shop):
    from tests.factories import RewardFactory

    RewardFactory(shop=shop, name="5 off", points_cost=500)

    answer = get_state(client, customer_id="8888").json()

    rewards = answer["rewards"]
    assert [(r["available"], r["locked_reason"], r["points_needed"]) for r in rewards] == [
        (False, "points", 500)
    ]
