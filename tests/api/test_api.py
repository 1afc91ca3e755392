"""`/api/v1/` for merchants' code and review apps: API keys, members, their ledger, actions."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from loyalty.api.models import ApiKey
from loyalty.api.services import api_key_create, api_key_revoke, api_key_verify
from loyalty.audit.models import AuditEntry
from loyalty.earning.models import ActionRule
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from tests.api.conftest import call
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory

pytestmark = pytest.mark.django_db


def test_a_key_is_shown_once_and_only_its_digest_is_kept(shop):
    key, token = api_key_create(shop=shop, name="ERP", actor="staff:42")

    assert token.startswith(f"setia_{key.prefix}_")
    assert token not in key.digest
    assert len(key.digest) == 64
    assert api_key_verify(token=token) == key
    assert AuditEntry.objects.get(action="api_key.create").target_id == str(key.pk)


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Basic c2V0aWE6eA==", "Bearer setia_nope_nope", "Bearer not-a-setia-key"],
)
def test_a_request_without_a_valid_key_is_refused_with_the_contract_error(client, header):
    response = client.get("/api/v1/rewards", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_key_with_a_wrong_secret_is_refused(client, token):
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert call(client, "get", "/api/v1/rewards", forged).status_code == 401


def test_a_revoked_key_stops_working(client, shop, token):
    key = ApiKey.objects.get(shop=shop)
    api_key_revoke(shop=shop, key_id=key.pk, actor="staff:42")

    response = call(client, "get", "/api/v1/rewards", token)

    assert response.status_code == 401


def test_a_key_of_an_uninstalled_shop_stops_working(client, shop, token):
    shop.uninstalled_at = shop.installed_at + timedelta(days=1)
    shop.save(update_fields=["uninstalled_at"])

    assert call(client, "get", "/api/v1/rewards", token).status_code == 401


def test_member_detail_gives_points_and_tier(client, shop, token):
    gold = TierFactory(shop=shop, name="Gold")
    member = MemberFactory(shop=shop, platform_customer_id="7001", tier=gold)
    ledger_credit(member=member, points=120, idempotency_key="o1", source_type="order")

    response = call(client, "get", "/api/v1/members/7001", token)

    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == "7001"
    assert body["points"] == {
        "balance": 120,
        "pending": 0,
        "lifetime_earned": 120,
        "lifetime_spent": 0,
        "debt": 0,
    }
    assert body["tier"] == {"name": "Gold"}


def test_another_shops_member_is_not_found(client, token):
    MemberFactory(shop=ShopFactory(), platform_customer_id="7001")

    response = call(client, "get", "/api/v1/members/7001", token)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_ledger_is_paged_newest_first_by_keyset(client, shop, token):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    for n in range(5):
        ledger_credit(member=member, points=n + 1, idempotency_key=f"o{n}", source_type="order")

    first = call(client, "get", "/api/v1/members/7001/ledger", token, limit=2).json()
    second = call(
        client, "get", "/api/v1/members/7001/ledger", token, limit=2, before=first["next"]
    ).json()
    last = call(
        client, "get", "/api/v1/members/7001/ledger", token, limit=2, before=second["next"]
    ).json()

    assert [e["points"] for e in first["entries"]] == [5, 4]
    assert [e["points"] for e in second["entries"]] == [3, 2]
    assert [e["points"] for e in last["entries"]] == [1]
    assert last["next"] is None
    assert first["entries"][0]["source"] == {"type": "order", "id": ""}


def test_a_bad_page_size_is_a_clear_400(client, shop, token):
    MemberFactory(shop=shop, platform_customer_id="7001")

    response = call(client, "get", "/api/v1/members/7001/ledger", token, limit=5000)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_review_app_claims_review_points_once_per_period(client, shop, token):
    ActionRule.objects.create(shop=shop, action="review", name="Review", points=50, cap="per_day")
    member = MemberFactory(shop=shop, platform_customer_id="7001")

    first = call(client, "post", "/api/v1/members/7001/actions", token, action="review")
    again = call(client, "post", "/api/v1/members/7001/actions", token, action="review")

    assert first.status_code == 201
    assert first.json()["claims"][0] | {"entry_id": None} == {
        "rule": "Review",
        "points": 50,
        "credited": True,
        "entry_id": None,
    }
    assert first.json()["member"]["points"]["balance"] == 50
    assert again.status_code == 200
    assert again.json()["claims"][0]["credited"] is False
    assert LedgerEntry.objects.filter(member=member).count() == 1


def test_a_custom_action_needs_its_key_and_a_rule(client, shop, token):
    ActionRule.objects.create(shop=shop, action="custom", key="quiz", name="Quiz", points=20)
    MemberFactory(shop=shop, platform_customer_id="7001")

    no_key = call(client, "post", "/api/v1/members/7001/actions", token, action="custom")
    unknown = call(
        client, "post", "/api/v1/members/7001/actions", token, action="custom", key="survey"
    )
    quiz = call(client, "post", "/api/v1/members/7001/actions", token, action="custom", key="quiz")

    assert no_key.status_code == 400
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "action_unavailable"
    assert quiz.status_code == 201


def test_an_action_that_is_not_claimable_through_the_api_is_refused(client, shop, token):
    MemberFactory(shop=shop, platform_customer_id="7001")

    response = call(client, "post", "/api/v1/members/7001/actions", token, action="signup")

    assert response.status_code == 400
    assert LedgerEntry.objects.count() == 0


def test_rewards_lists_the_active_ones(client, shop, token):
    RewardFactory(shop=shop, name="5 off", points_cost=500)
    RewardFactory(shop=shop, name="Old", points_cost=100, enabled=False)
    RewardFactory(shop=ShopFactory(), name="Theirs")

    response = call(client, "get", "/api/v1/rewards", token)

    assert [r["name"] for r in response.json()["rewards"]] == ["5 off"]


@override_settings(
    REST_FRAMEWORK={
        "EXCEPTION_HANDLER": "loyalty.core.errors.api_exception_handler",
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "UNAUTHENTICATED_USER": None,
        "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"},
    }
)
def test_a_key_calling_too_fast_gets_429(client, token, monkeypatch):
    from loyalty.api.authentication import PerKeyThrottle

    monkeypatch.setattr(PerKeyThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    answers = [call(client, "get", "/api/v1/rewards", token).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]


def test_the_command_creates_lists_and_revokes_keys(shop, capsys):
    call_command("api_key", "create", "--shop", shop.domain, "--name", "ERP")
    token = capsys.readouterr().out.split(": ", 1)[1].split()[0]
    key = api_key_verify(token=token)

    call_command("api_key", "revoke", "--shop", shop.domain, "--id", str(key.pk))

    assert api_key_verify(token=token) is None
