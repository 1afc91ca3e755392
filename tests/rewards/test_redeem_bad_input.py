"""Bad input to the redeem view and service: a refusal, never a 500."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption
from loyalty.rewards.services import InvalidPoints, reward_redeem
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db

CUSTOMER = "115310627314723954"


def member_with(points, **kwargs):
    member = MemberFactory(**kwargs)
    ledger_credit(member=member, points=points, idempotency_key="seed", source_type="test")
    member.refresh_from_db()
    return member


@pytest.fixture
def shop(db):
    return ShopFactory(domain=SHOP, installed_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def proxy_member(shop):
    member = MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=1200, idempotency_key="seed", source_type="test")
    return member


def redeem(client, body):
    return client.post(
        "/shopify/proxy/api/redeem?" + urlencode(proxy_query(customer_id=CUSTOMER)),
        data=json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize("reward_id", ["²", "1²", "٣"])
def test_a_reward_id_of_non_ascii_digits_is_404_not_a_crash(
    client, gateway, proxy_member, shop, reward_id
):
    RewardFactory(shop=shop)

    response = redeem(client, {"reward_id": reward_id, "idempotency_key": "k"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_reward"
    assert Redemption.objects.count() == 0


@pytest.mark.parametrize("points", [2_147_483_700, 10**30])
def test_points_beyond_any_balance_for_a_variable_reward_without_a_maximum_is_400(
    client, gateway, proxy_member, shop, points
):
    variable = RewardFactory(
        shop=shop, kind="points_to_money", points_cost=100, value=Decimal("1"), min_points=100
    )

    response = redeem(client, {"reward_id": variable.pk, "idempotency_key": "k", "points": points})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_points"
    assert Redemption.objects.count() == 0
    proxy_member.refresh_from_db()
    assert proxy_member.points_balance == 1200


def test_the_service_refuses_points_beyond_the_column(gateway):
    member = member_with(1200)
    variable = RewardFactory(
        shop=member.shop,
        kind="points_to_money",
        points_cost=100,
        value=Decimal("1"),
        min_points=100,
    )

    with pytest.raises(InvalidPoints):
        reward_redeem(member=member, reward=variable, idempotency_key="k", points=2_147_483_700)

    assert Redemption.objects.count() == 0


def test_the_service_refuses_a_redemption_worth_more_than_the_column_holds(gateway):
    member = member_with(1200)
    # 10,000.00 off per point: 2,000,000 points would be worth 20 billion.
    lavish = RewardFactory(
        shop=member.shop, kind="points_to_money", points_cost=1, value=Decimal("10000.00")
    )

    with pytest.raises(InvalidPoints, match="more than one redemption can be worth"):
        reward_redeem(member=member, reward=lavish, idempotency_key="k", points=2_000_000)

    assert Redemption.objects.count() == 0
    member.refresh_from_db()
    assert member.points_balance == 1200


@pytest.mark.postgres
def test_an_idempotency_key_with_a_nul_character_is_400(client, gateway, proxy_member, shop):
    reward = RewardFactory(shop=shop)

    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "tap\x00"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Redemption.objects.count() == 0


def test_a_body_nested_too_deep_to_parse_is_400(client, gateway, proxy_member, shop):
    response = client.post(
        "/shopify/proxy/api/redeem?" + urlencode(proxy_query(customer_id=CUSTOMER)),
        data=b"[" * 100_000,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert Redemption.objects.count() == 0


def test_an_idempotency_key_with_a_lone_surrogate_is_400(client, gateway, proxy_member, shop):
    reward = RewardFactory(shop=shop)

    response = client.post(
        "/shopify/proxy/api/redeem?" + urlencode(proxy_query(customer_id=CUSTOMER)),
        data=b'{"reward_id": %d, "idempotency_key": "tap\\ud800"}' % reward.pk,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Redemption.objects.count() == 0
