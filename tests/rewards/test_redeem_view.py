"""POST /shopify/proxy/api/redeem through the signed app proxy: every answer the contract names."""

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.rewards.models import Redemption, RedemptionStatus
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query
from tests.rewards.conftest import refused, server_error, unanswered

pytestmark = pytest.mark.django_db

CUSTOMER = "115310627314723954"


@pytest.fixture
def shop(db):
    return ShopFactory(domain=SHOP, installed_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def member(shop):
    member = MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=1200, idempotency_key="seed", source_type="test")
    return member


@pytest.fixture
def reward(shop):
    return RewardFactory(shop=shop, code_expiry_days=30)


def redeem(client, body, *, customer_id=CUSTOMER, query=None, raw=None):
    query = query if query is not None else proxy_query(customer_id=customer_id)
    data = raw if raw is not None else json.dumps(body)
    return client.post(
        "/shopify/proxy/api/redeem?" + urlencode(query), data=data, content_type="application/json"
    )


def test_redeem_answers_the_code_the_apply_link_and_the_new_balance(
    client, gateway, member, reward
):
    response = redeem(client, {"reward_id": str(reward.pk), "idempotency_key": "tap-1"})

    assert response.status_code == 200
    body = response.json()
    redemption = Redemption.objects.get()
    assert body == {
        "redemption": {
            "id": str(redemption.pk),
            "reward_id": str(reward.pk),
            "reward_name": "5 off your order",
            "kind": "amount_off",
            "status": "issued",
            "code": redemption.code,
            "points_spent": 500,
            "value": "5.00",
            "apply_url": f"https://{SHOP}/discount/{redemption.code}",
            "expires_at": redemption.expires_at.isoformat(),
            "created_at": redemption.created_at.isoformat(),
            "used_at": None,
            "cause": None,
        },
        "balance": 700,
    }
    assert response["Cache-Control"] == "private, no-store"


def test_a_retry_with_the_same_key_answers_the_first_result(client, gateway, member, reward):
    first = redeem(client, {"reward_id": reward.pk, "idempotency_key": "tap-1"})

    again = redeem(client, {"reward_id": reward.pk, "idempotency_key": "tap-1"})

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Redemption.objects.count() == 1
    assert len(gateway.specs) == 1


def test_not_enough_points_is_409_and_nothing_is_written(client, gateway, member, shop):
    costly = RewardFactory(shop=shop, points_cost=5000)

    response = redeem(client, {"reward_id": costly.pk, "idempotency_key": "tap-1"})

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "insufficient_points", "message": "Needs 5000 points; 1200 available."}
    }
    assert Redemption.objects.count() == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 0


def test_a_logged_in_customer_who_is_not_a_member_yet_is_409(client, gateway, reward):
    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"}, customer_id="42")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_points"


@pytest.mark.parametrize("reward_id", ["999999", "abc", "1" * 30, "-1"])
def test_an_unknown_reward_is_404(client, gateway, member, reward_id):
    response = redeem(client, {"reward_id": reward_id, "idempotency_key": "tap-1"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_reward"


def test_a_disabled_reward_and_another_shops_reward_are_404(client, gateway, member, shop):
    disabled = RewardFactory(shop=shop, enabled=False)
    elsewhere = RewardFactory()

    responses = [
        redeem(client, {"reward_id": r.pk, "idempotency_key": f"k{r.pk}"})
        for r in (disabled, elsewhere)
    ]

    assert [r.status_code for r in responses] == [404, 404]
    assert [r.json()["error"]["code"] for r in responses] == [
        "reward_unavailable",
        "unknown_reward",
    ]
    assert Redemption.objects.count() == 0


@override_settings(REWARDS_RATE_LIMIT=1, REWARDS_RATE_WINDOW_SECONDS=60)
def test_redeeming_too_fast_is_429_with_retry_after(client, gateway, member, shop):
    cheap = RewardFactory(shop=shop, points_cost=100)
    redeem(client, {"reward_id": cheap.pk, "idempotency_key": "k1"})

    response = redeem(client, {"reward_id": cheap.pk, "idempotency_key": "k2"})

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Redemption.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"reward_id": 1}),
        json.dumps({"reward_id": 1, "idempotency_key": ""}),
        json.dumps({"reward_id": 1, "idempotency_key": 7}),
        json.dumps({"idempotency_key": "k"}),
        json.dumps({"reward_id": None, "idempotency_key": "k"}),
        json.dumps({"reward_id": 1, "idempotency_key": "k", "points": "many"}),
        json.dumps({"reward_id": 1, "idempotency_key": "k" * 300}),
        "\udcff",
    ],
)
def test_a_bad_body_is_400(client, gateway, member, reward, raw):
    response = redeem(
        client, None, raw=raw.replace("1,", f"{reward.pk},").encode("utf-8", "surrogateescape")
    )

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}
    assert Redemption.objects.count() == 0


def test_points_out_of_range_for_a_variable_reward_is_400(client, gateway, member, shop):
    variable = RewardFactory(
        shop=shop, kind="points_to_money", points_cost=100, min_points=100, max_points=500
    )

    response = redeem(client, {"reward_id": variable.pk, "idempotency_key": "k", "points": 900})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_points"


def test_a_guest_is_401(client, gateway, member, reward):
    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"}, customer_id="")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_logged_in"


def test_a_bad_signature_is_401(client, gateway, member, reward):
    query = {**proxy_query(customer_id=CUSTOMER), "logged_in_customer_id": "1"}

    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"}, query=query)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert Redemption.objects.count() == 0


@pytest.mark.parametrize("failure", [refused, server_error])
def test_store_failure_after_compensation_is_503_with_the_points_back(
    client, gateway, member, reward, failure
):
    gateway.create_script = [failure()]

    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "platform_unavailable"
    assert Redemption.objects.get().status == RedemptionStatus.FAILED
    member.refresh_from_db()
    assert member.points_balance == 1200


def test_an_unanswered_store_call_is_503_pending_and_a_retry_delivers(
    client, gateway, member, reward
):
    gateway.create_script = [unanswered()]

    pending = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"})
    retried = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"})

    assert pending.status_code == 503
    assert pending.json()["error"]["code"] == "redemption_pending"
    assert pending["Retry-After"] == "5"
    assert retried.status_code == 200
    assert retried.json()["balance"] == 700
    assert retried.json()["redemption"]["status"] == "issued"


def test_get_is_not_allowed(client, member):
    response = client.get(
        "/shopify/proxy/api/redeem?" + urlencode(proxy_query(customer_id=CUSTOMER))
    )

    assert response.status_code == 405


def test_a_code_that_cannot_be_made_unique_is_503_and_nothing_is_spent(
    client, gateway, member, reward, monkeypatch
):
    other = MemberFactory(shop=member.shop)
    ledger_credit(member=other, points=600, idempotency_key="seed-other", source_type="test")
    monkeypatch.setattr("loyalty.rewards.services.redemption_new_code", lambda: "SETIA-SAME-CODE")
    redeem(
        client,
        {"reward_id": reward.pk, "idempotency_key": "k"},
        customer_id=other.platform_customer_id,
    )

    response = redeem(client, {"reward_id": reward.pk, "idempotency_key": "k"})

    assert response.status_code == 503
    assert Redemption.objects.count() == 1
    member.refresh_from_db()
    assert member.points_balance == 1200
