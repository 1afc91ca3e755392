"""`/api/v1/members/{customer_id}/adjustments` and `.../redemptions`: a merchant's code adds or
takes away points as the admin does, and redeems rewards as the storefront does."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client, override_settings

from loyalty.api.models import ApiKey
from loyalty.api.services import MAX_COUNTER, api_key_create
from loyalty.audit.models import AuditEntry
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import MemberStatus
from loyalty.merchant_admin.services import member_adjust
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import reward_redeem
from tests.api.conftest import call
from tests.factories import MemberFactory, RewardFactory, ShopFactory
from tests.ledger.test_concurrency import race
from tests.rewards.conftest import refused, unanswered

pytestmark = pytest.mark.django_db

ADJUST = "/api/v1/members/7001/adjustments"
REDEEM = "/api/v1/members/7001/redemptions"


@pytest.fixture
def aisyah(shop):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    ledger_credit(member=member, points=1200, idempotency_key="seed", source_type="order")
    return member


@pytest.fixture
def prefix(shop, token):
    return ApiKey.objects.get(shop=shop).prefix


def adjust(client, token, **body):
    body = {"points": 250, "reason": "Sorry for the late parcel", "idempotency_key": "k1"} | body
    return call(client, "post", ADJUST, token, **body)


def balance(member) -> int:
    member.refresh_from_db()
    return member.points_balance


# --- adjustments ------------------------------------------------------------------------------


def test_adding_points_is_recorded_as_the_key_and_audited(client, shop, token, aisyah, prefix):
    response = adjust(client, token, points=250)

    assert response.status_code == 201
    body = response.json()
    entry = LedgerEntry.objects.get(member=aisyah, kind=EntryKind.ADJUST)
    assert body["entry"] | {"created_at": None} == {
        "id": entry.pk,
        "kind": "adjust",
        "state": "active",
        "points": 250,
        "source": {"type": "adjustment", "id": ""},
        "reason": "Sorry for the late parcel",
        "created_at": None,
        "available_at": None,
        "expires_at": None,
    }
    assert body["member"]["customer_id"] == "7001"
    assert body["member"]["points"]["balance"] == 1450
    assert (entry.actor, entry.idempotency_key) == (f"api:{prefix}", "api-adjust:k1")
    audit = AuditEntry.objects.get(shop=shop, action="members.adjust")
    assert (audit.actor, audit.target_id, audit.note) == (
        f"api:{prefix}",
        str(aisyah.pk),
        "+250 points: Sorry for the late parcel",
    )
    assert (audit.before, audit.after) == (
        {"points_balance": 1200, "lifetime_earned": 1200},
        {"points_balance": 1450, "lifetime_earned": 1450},
    )
    assert balance(aisyah) == 1450


def test_taking_points_away(client, token, aisyah):
    response = adjust(client, token, points=-40, reason="Duplicate order bonus")

    assert response.status_code == 201
    assert response.json()["entry"]["points"] == -40
    assert response.json()["member"]["points"]["balance"] == 1160
    assert balance(aisyah) == 1160


def test_replaying_a_key_with_the_same_change_answers_200_and_changes_nothing(
    client, shop, token, aisyah
):
    first = adjust(client, token)

    again = adjust(client, token)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(member=aisyah, kind=EntryKind.ADJUST).count() == 1
    assert AuditEntry.objects.filter(shop=shop, action="members.adjust").count() == 1
    assert balance(aisyah) == 1450


@pytest.mark.parametrize(
    "change",
    [{"points": 251}, {"points": -250}, {"reason": "Another reason"}],
    ids=["points", "sign", "reason"],
)
def test_replaying_a_key_with_another_change_is_409_and_writes_nothing(
    client, shop, token, aisyah, change
):
    adjust(client, token)

    response = adjust(client, token, **change)

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "idempotency_key_reused",
            "message": "This idempotency_key was already used for a different adjustment.",
        }
    }
    assert LedgerEntry.objects.filter(member=aisyah, kind=EntryKind.ADJUST).count() == 1
    assert AuditEntry.objects.filter(shop=shop, action="members.adjust").count() == 1
    assert balance(aisyah) == 1450


def test_a_key_used_for_another_member_is_409(client, shop, token, aisyah):
    MemberFactory(shop=shop, platform_customer_id="7002")
    adjust(client, token)

    response = call(
        client,
        "post",
        "/api/v1/members/7002/adjustments",
        token,
        points=250,
        reason="Sorry for the late parcel",
        idempotency_key="k1",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert LedgerEntry.objects.filter(kind=EntryKind.ADJUST).count() == 1


def test_the_api_keys_never_meet_the_admins_form_keys(client, token, aisyah, prefix):
    member_adjust(
        member=aisyah, points=100, reason="Welcome gift", idempotency_key="abc", user_id="77"
    )

    response = adjust(client, token, points=-30, idempotency_key="abc")

    assert response.status_code == 201
    assert sorted(
        LedgerEntry.objects.filter(member=aisyah, kind=EntryKind.ADJUST).values_list(
            "idempotency_key", "points", "actor"
        )
    ) == [("admin-adjust:abc", 100, "staff:77"), ("api-adjust:abc", -30, f"api:{prefix}")]
    assert balance(aisyah) == 1270


def test_the_same_key_in_another_shop_is_another_adjustment(client, token, aisyah):
    other = ShopFactory(installed_at=datetime(2026, 1, 1, tzinfo=UTC))
    theirs = MemberFactory(shop=other, platform_customer_id="7001")
    their_token = api_key_create(shop=other, name="ERP", actor="staff:9")[1]
    adjust(client, token)

    response = adjust(client, their_token)

    assert response.status_code == 201
    assert balance(theirs) == 250
    assert balance(aisyah) == 1450


def test_taking_more_than_the_balance_is_409_and_writes_nothing(client, shop, token, aisyah):
    response = adjust(client, token, points=-1201, reason="Fraud")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "insufficient_points", "message": "Needs 1201 points; 1200 available."}
    }
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADJUST).exists()
    assert not AuditEntry.objects.filter(shop=shop, action="members.adjust").exists()
    assert balance(aisyah) == 1200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 0}, "points"),
        ({"points": "10"}, "points"),
        ({"points": 1.5}, "points"),
        ({"points": True}, "points"),
        ({"points": None}, "points"),
        ({"points": 10_000_001}, "points"),
        ({"points": -10_000_001}, "points"),
        ({"points": 10**40}, "points"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 256}, "reason"),
        ({"reason": 7}, "reason"),
        ({"reason": "bad\x00byte"}, "reason"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 101}, "idempotency_key"),
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"idempotency_key": ["k1"]}, "idempotency_key"),
        ({"idempotency_key": "k\x00"}, "idempotency_key"),
    ],
)
def test_a_bad_field_is_400_naming_it_and_writes_nothing(client, shop, token, aisyah, body, field):
    response = adjust(client, token, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith(f"{field}: ")
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADJUST).exists()
    assert not AuditEntry.objects.filter(shop=shop, action="members.adjust").exists()


def test_missing_fields_and_zero_points_are_explained(client, token, aisyah):
    missing = call(client, "post", ADJUST, token)
    zero = adjust(client, token, points=0)

    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == (
        "points: This field is required.; reason: This field is required.; "
        "idempotency_key: This field is required."
    )
    assert zero.json()["error"]["message"] == (
        "points: Send a number of points other than 0: positive to add, negative to take away."
    )


def test_a_body_that_is_not_an_object_is_400(client, token, aisyah):
    response = client.post(
        ADJUST, [1, 2], content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_credit_the_members_counters_could_not_hold_is_400(client, shop, token):
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    ledger_credit(member=member, points=MAX_COUNTER - 5, idempotency_key="s", source_type="t")

    response = adjust(client, token, points=6)
    fits = adjust(client, token, points=5, idempotency_key="k2")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert fits.status_code == 201
    assert balance(member) == MAX_COUNTER


@pytest.mark.parametrize("who", ["unknown", "another_shops", "redacted"])
def test_a_member_the_key_cannot_see_is_404_and_nothing_is_written(client, shop, token, who):
    if who == "another_shops":
        MemberFactory(shop=ShopFactory(), platform_customer_id="7001")
    elif who == "redacted":
        MemberFactory(shop=shop, platform_customer_id="7001", status=MemberStatus.REDACTED)

    response = adjust(client, token)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("path", [ADJUST, REDEEM])
def test_the_new_endpoints_need_a_key(client, aisyah, path):
    response = call(client, "post", path, None, points=5, reason="x", idempotency_key="k")

    assert response.status_code == 401
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADJUST).exists()


# --- redemptions ------------------------------------------------------------------------------


@pytest.fixture
def reward(shop):
    return RewardFactory(shop=shop, code_expiry_days=30)


def redeem(client, token, **body):
    return call(client, "post", REDEEM, token, **({"idempotency_key": "tap-1"} | body))


def test_redeeming_answers_the_code_and_the_new_balance(
    client, shop, token, gateway, aisyah, reward
):
    response = redeem(client, token, reward_id=reward.pk)

    assert response.status_code == 201
    redemption = Redemption.objects.get()
    assert response.json() == {
        "redemption": {
            "id": str(redemption.pk),
            "reward_id": str(reward.pk),
            "reward_name": "5 off your order",
            "kind": "amount_off",
            "status": "issued",
            "code": redemption.code,
            "points_spent": 500,
            "value": "5.00",
            "apply_url": f"https://{shop.domain}/discount/{redemption.code}",
            "expires_at": redemption.expires_at.isoformat(),
            "created_at": redemption.created_at.isoformat(),
            "used_at": None,
            "cause": None,
        },
        "balance": 700,
    }
    assert response["Cache-Control"] == "private, no-store"
    assert [spec.code for spec in gateway.specs] == [redemption.code]
    assert redemption.idempotency_key == "api:tap-1"
    # The ledger names the key that redeemed, not the shopper.
    assert redemption.debit_entry.actor.startswith("api:")


def test_a_retry_with_the_same_key_is_200_with_the_first_result(
    client, token, gateway, aisyah, reward
):
    first = redeem(client, token, reward_id=reward.pk)

    again = redeem(client, token, reward_id=reward.pk)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Redemption.objects.count() == 1
    assert len(gateway.specs) == 1
    assert balance(aisyah) == 700


def test_the_api_keys_never_meet_the_widgets_redemption_keys(
    client, token, gateway, aisyah, reward
):
    reward_redeem(member=aisyah, reward=reward, idempotency_key="tap-1")

    response = redeem(client, token, reward_id=reward.pk)

    assert response.status_code == 201
    assert Redemption.objects.count() == 2
    assert balance(aisyah) == 200


def test_not_enough_points_is_409_and_nothing_is_written(client, shop, token, gateway, aisyah):
    costly = RewardFactory(shop=shop, points_cost=5000)

    response = redeem(client, token, reward_id=costly.pk)

    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "insufficient_points", "message": "Needs 5000 points; 1200 available."}
    }
    assert not Redemption.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEEM).exists()
    assert gateway.specs == []


def test_another_shops_reward_or_an_unknown_one_is_404(client, shop, token, gateway, aisyah):
    theirs = RewardFactory(shop=ShopFactory())
    disabled = RewardFactory(shop=shop, enabled=False)

    answers = [
        redeem(client, token, reward_id=reward_id, idempotency_key=f"k{n}")
        for n, reward_id in enumerate([theirs.pk, 999_999, 2**70, 0, -1, disabled.pk])
    ]

    assert [a.status_code for a in answers] == [404] * 6
    assert [a.json()["error"]["code"] for a in answers] == ["unknown_reward"] * 5 + [
        "reward_unavailable"
    ]
    assert not Redemption.objects.exists()
    assert balance(aisyah) == 1200


def test_an_unknown_member_is_404(client, shop, token, gateway, reward):
    response = redeem(client, token, reward_id=reward.pk)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reward_id": "1"}, "reward_id"),
        ({"reward_id": None}, "reward_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 101}, "idempotency_key"),
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"points": "many"}, "points"),
        ({"points": 2.5}, "points"),
    ],
)
def test_a_bad_redemption_body_is_400(client, token, gateway, aisyah, reward, body, field):
    response = redeem(client, token, **({"reward_id": reward.pk} | body))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["message"].startswith(f"{field}: ")
    assert not Redemption.objects.exists()


@pytest.fixture
def variable(shop):
    return RewardFactory(
        shop=shop, kind="points_to_money", points_cost=100, min_points=100, max_points=500
    )


def test_points_a_variable_reward_does_not_take_are_400(client, token, gateway, aisyah, variable):
    response = redeem(client, token, reward_id=variable.pk, points=900)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_points"
    assert not Redemption.objects.exists()


def test_a_variable_reward_spends_the_points_chosen(client, token, gateway, aisyah, variable):
    response = redeem(client, token, reward_id=variable.pk, points=300)

    assert response.status_code == 201
    assert response.json()["redemption"]["points_spent"] == 300
    assert response.json()["balance"] == 900


def test_a_store_refusal_is_503_with_the_points_back(client, token, gateway, aisyah, reward):
    gateway.create_script = [refused()]

    response = redeem(client, token, reward_id=reward.pk)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "platform_unavailable"
    assert Redemption.objects.get().status == RedemptionStatus.FAILED
    assert balance(aisyah) == 1200


def test_an_unanswered_store_is_503_pending_and_a_retry_delivers(
    client, token, gateway, aisyah, reward
):
    gateway.create_script = [unanswered()]

    pending = redeem(client, token, reward_id=reward.pk)
    retried = redeem(client, token, reward_id=reward.pk)

    assert pending.status_code == 503
    assert pending.json()["error"]["code"] == "redemption_pending"
    assert pending["Retry-After"] == "5"
    assert retried.status_code == 200
    assert retried.json()["redemption"]["status"] == "issued"
    assert balance(aisyah) == 700


@override_settings(REWARDS_RATE_LIMIT=1, REWARDS_RATE_WINDOW_SECONDS=60)
def test_redeeming_too_fast_is_429_with_retry_after(client, shop, token, gateway, aisyah):
    cheap = RewardFactory(shop=shop, points_cost=100)
    redeem(client, token, reward_id=cheap.pk, idempotency_key="k1")

    response = redeem(client, token, reward_id=cheap.pk, idempotency_key="k2")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    assert Redemption.objects.count() == 1


def test_the_redemptions_are_listed_newest_first_fifty_at_most(client, shop, token, aisyah, reward):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    Redemption.objects.bulk_create(
        Redemption(
            shop=shop,
            member=aisyah,
            reward=reward,
            idempotency_key=f"k{n}",
            status=RedemptionStatus.FAILED if n == 54 else RedemptionStatus.ISSUED,
            points=500,
            code=f"SETIA-TEST-{n:04d}",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(55)
    )
    someone_else = MemberFactory(shop=shop, platform_customer_id="7002")
    Redemption.objects.create(
        shop=shop,
        member=someone_else,
        reward=reward,
        idempotency_key="x",
        points=500,
        status=RedemptionStatus.ISSUED,
        code="SETIA-THEI-RS00",
        created_at=start + timedelta(days=1),
    )

    response = call(client, "get", REDEEM, token)

    assert response.status_code == 200
    listed = response.json()["redemptions"]
    assert len(listed) == 50
    assert [(r["status"], r["code"]) for r in listed[:2]] == [
        ("failed", None),
        ("issued", "SETIA-TEST-0053"),
    ]
    assert listed[-1]["code"] == "SETIA-TEST-0005"


def test_the_redemptions_of_another_shops_customer_are_404(client, token):
    MemberFactory(shop=ShopFactory(), platform_customer_id="7001")

    assert call(client, "get", REDEEM, token).status_code == 404


# --- at the same time (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_adjustments_with_one_key_credit_once(shop, token, aisyah):
    body = {"points": 100, "reason": "Goodwill", "idempotency_key": "same"}

    answers = race(
        5,
        lambda i: Client().post(
            ADJUST, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        ),
    )

    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    assert LedgerEntry.objects.filter(kind=EntryKind.ADJUST).count() == 1
    assert balance(aisyah) == 1300
    assert ledger_audit_members(members=[aisyah]) == []
